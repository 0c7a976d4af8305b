"""Party's part of the access policy: the derived role ``party_member`` and the actions on the party pages and API.

The party roster, the organisation tree and the co-building units are for the registry roles (subdistrict admin,
community staff, grid workers) inside their scope. Party membership is personal data: property staff, department
liaisons, volunteers and residents get 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register, role_provider
from tongxin.regions.policy import MANAGERS, PARTY_MEMBER, REGISTRY, CommunityIn, community_ids
from tongxin.regions.scoping import scope_for


@role_provider(provides={PARTY_MEMBER})
def party_roles(user: Any) -> set[str]:
    """An active party member whose resident record is linked to this account holds ``party_member``."""
    from tongxin.party.models import PartyMember

    if PartyMember.objects.filter(resident__user=user, active=True).exists():
        return {PARTY_MEMBER}
    return set()


class OrganisationInScope:
    """Party units serving a region or grid in the user's scope, and every unit below them."""

    description = _("服务本人管辖区域或网格的党组织及其下级")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.party.services import visible_organisations

        return qs.filter(pk__in=visible_organisations(user).values("pk"))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.party.services import visible_organisations

        return visible_organisations(user).filter(pk=obj.pk).exists()


class MemberInScope:
    """Members living in the user's scope, or reporting in to a community the user works in (下沉 cadres who
    live elsewhere belong to the community they serve)."""

    description = _("党员住在本人管辖范围内，或向本人工作的社区报到")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.party.models import PartyMember

        return qs.filter(pk__in=PartyMember.objects.visible_to(user).values("pk"))

    def test(self, user: Any, obj: Any) -> bool:
        if obj.community_id is not None and obj.community_id in community_ids(user):
            return True
        dwelling = obj.resident.dwelling if obj.resident_id else None
        return dwelling is not None and scope_for(user).covers(dwelling)


class CoBuildingInScope:
    """Co-building units that adopt a community the user works in."""

    description = _("与本人工作的社区共建")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.party.models import CoBuildingUnit

        adopting = CoBuildingUnit.objects.filter(communities__in=community_ids(user)).values("pk")
        return qs.filter(pk__in=adopting)

    def test(self, user: Any, obj: Any) -> bool:
        return obj.communities.filter(pk__in=community_ids(user)).exists()


register(
    Rule(
        "party.list_members",
        REGISTRY,
        _("查看党员名册"),
        where=MemberInScope(),
    ),
    Rule(
        "party.register_member",
        REGISTRY,
        _("登记党员双报到（含不住在本社区的下沉干部）"),
        where=CommunityIn(),
    ),
    Rule("party.edit_member", REGISTRY, _("修改党员报到信息"), where=MemberInScope()),
    Rule(
        "party.record_unit_work",
        MANAGERS,
        _("登记共建单位报到（资源、需求、项目清单）和联席会议"),
        where=CommunityIn(),
    ),
    Rule("party.view_organisations", REGISTRY, _("查看党组织体系"), where=OrganisationInScope()),
    Rule("party.view_co_building_units", REGISTRY, _("查看共建单位及其党员"), where=CoBuildingInScope()),
)
