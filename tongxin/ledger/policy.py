"""The ledger's part of the access policy: who sees which account, who corrects a posting, who checks the books —
and what the apps on the ledger (the red bank of hours, the points of the shop) share about their participants.

Participants act on their own pages in the community where they live: :data:`PARTICIPANTS` are the roles that
have such pages, :func:`resident_of` finds a signed-in user's resident record, :class:`InHomeCommunity` limits
objects to the user's home community and :class:`OwnResident` to the user's own rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.regions.choices import Role
from tongxin.regions.policy import ADMIN, MANAGERS, PARTY_MEMBER, REGISTRY, CommunityIn, community_ids
from tongxin.regions.scoping import scope_for

# Residents, volunteers and party members: the roles with their own participation pages (hours, points).
PARTICIPANTS = frozenset({Role.RESIDENT, Role.VOLUNTEER, PARTY_MEMBER})


def resident_of(user: Any) -> Any:
    """The resident record linked to a signed-in user (with dwelling and household), or None. Cached on the
    user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return None
    if hasattr(user, "_tongxin_resident"):
        return user._tongxin_resident
    from tongxin.people.models import Resident

    resident = Resident.objects.select_related("dwelling", "household__dwelling").filter(user=user).first()
    user._tongxin_resident = resident
    return resident


def home_community_id(user: Any) -> int | None:
    """The community where the user lives (their resident record's dwelling), or None."""
    resident = resident_of(user)
    dwelling = getattr(resident, "dwelling", None)
    return dwelling.community_id if dwelling is not None else None


class InHomeCommunity:
    """Objects of the community where the user lives (``field`` names the object's community id)."""

    def __init__(self, field: str = "community_id") -> None:
        self.field = field
        self.description = _("本人居住的社区")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        home = home_community_id(user)
        return qs.filter(**{self.field: home}) if home is not None else qs.none()

    def test(self, user: Any, obj: Any) -> bool:
        home = home_community_id(user)
        return home is not None and getattr(obj, self.field, None) == home


class OwnResident:
    """Rows that belong to the user's own resident record (``field`` names the row's resident id)."""

    def __init__(self, field: str = "resident_id") -> None:
        self.field = field
        self.description = _("本人的记录")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        resident = resident_of(user)
        return qs.filter(**{self.field: resident.pk}) if resident is not None else qs.none()

    def test(self, user: Any, obj: Any) -> bool:
        resident = resident_of(user)
        return resident is not None and getattr(obj, self.field, None) == resident.pk


class AccountInScope:
    """Accounts of persons and households living in the user's scope (by their dwelling), and the community and
    co-building-unit accounts of the communities the user works in."""

    description = _("本人管辖范围内的个人、家庭账户及所在社区的社区、单位账户")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        ids = community_ids(user)
        return qs.filter(
            (Q(dwelling__isnull=False) & scope_for(user).q("dwelling__"))
            | Q(dwelling__isnull=True, community_id__in=ids)
        )

    def test(self, user: Any, obj: Any) -> bool:
        if obj.dwelling_id is not None:
            return scope_for(user).covers(obj.dwelling)
        return obj.community_id in community_ids(user)


register(
    Rule("ledger.view_account", REGISTRY, _("查看账户余额和流水"), where=AccountInScope()),
    Rule("ledger.reverse", MANAGERS, _("冲正一笔交易"), where=CommunityIn()),
    Rule("ledger.check_balances", ADMIN, _("核对全部账户余额与分录")),
)
