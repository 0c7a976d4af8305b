"""Which communities (and therefore which posts, activities, accounts, rewards) a user may see.

Everything is derived from :func:`tongxin.regions.scoping.scope_for`; objects of other communities answer 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tongxin.regions.choices import RegionKind
from tongxin.regions.scoping import NOTHING, scope_for

STAFF_WRITE_ROLES = ("subdistrict_admin", "community_staff")
STAFF_READ_ROLES = ("subdistrict_admin", "community_staff", "grid_worker")


def staff_community_ids(user: Any) -> list[int]:
    """Communities a staff user works in (as admin, community staff or grid worker)."""
    cached = getattr(user, "_tongxin_participation_communities", None)
    if cached is not None:
        return cached
    from tongxin.regions.models import Grid, Region

    scope = scope_for(user)
    ids: set[int] = set()
    if scope.everything:
        ids = set(Region.objects.filter(kind=RegionKind.COMMUNITY).values_list("pk", flat=True))
    else:
        if scope.regions:
            ids |= set(
                Region.objects.filter(kind=RegionKind.COMMUNITY)
                .filter(scope.region_q())
                .values_list("pk", flat=True)
            )
        if scope.grid_ids:
            ids |= set(Grid.objects.filter(pk__in=scope.grid_ids).values_list("community_id", flat=True))
    result = sorted(ids)
    if getattr(user, "is_authenticated", False):
        user._tongxin_participation_communities = result
    return result


def is_staff_user(user: Any) -> bool:
    return bool(staff_community_ids(user)) and scope_for(user).has_role(*STAFF_READ_ROLES)


def may_manage(user: Any, community_id: int) -> bool:
    """Admins and community staff manage posts, activities, ledgers and the shop of their communities."""
    scope = scope_for(user)
    return scope.has_role(*STAFF_WRITE_ROLES) and community_id in staff_community_ids(user)


def community_q(user: Any, field: str = "community_id") -> Q:
    ids = staff_community_ids(user)
    return Q(**{f"{field}__in": ids}) if ids else NOTHING


def resident_of(user: Any) -> Any:
    """The resident record of a signed-in user (residents and members use their own pages), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    from tongxin.people.models import Resident

    return Resident.objects.select_related("dwelling", "household").filter(user=user).first()


def accounts_visible(user: Any) -> Any:
    """Ledger accounts: persons and households in the user's registry scope; community and unit accounts of
    the communities the user works in."""
    from tongxin.ledger.models import Account

    scope = scope_for(user)
    return Account.objects.filter(
        (Q(dwelling__isnull=False) & scope.q("dwelling__")) | (Q(dwelling__isnull=True) & community_q(user))
    )
