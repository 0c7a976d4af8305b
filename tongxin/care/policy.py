"""Care's part of the access policy. Care data (who lives alone, who is ill, what a visit found) is sensitive:

* the registry roles (subdistrict admin, community staff, grid worker) see visits and plans in their scope;
* property staff see none of it (the 红色物业's own visits to elderly people are recorded by the grid worker or by
  a volunteer they are assigned to — seed 000), nor do department liaisons;
* a volunteer or party member sees and records only the visits assigned to them;
* a resident sees the health services they may sign up for, and signs up themselves.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import AUTHENTICATED, Rule, register
from tongxin.regions.policy import MANAGERS, PARTY_MEMBER, REGISTRY, CommunityIn, InScope
from tongxin.regions.scoping import scope_for

CARE_STAFF = REGISTRY  # not PLACES: property staff are left out on purpose
ASSIGNED = frozenset({"volunteer", PARTY_MEMBER})


class InScopeOrAssigned:
    """Visits in the user's registry scope, or assigned to the user."""

    description = _("本人管辖范围内的走访，或指派给本人的走访")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        scope = scope_for(user)
        q = Q(assignee=user)
        if scope.has_role(*CARE_STAFF):
            q |= scope.q()
        return qs.filter(q)

    def test(self, user: Any, obj: Any) -> bool:
        if obj.assignee_id is not None and obj.assignee_id == getattr(user, "pk", None):
            return True
        scope = scope_for(user)
        return scope.has_role(*CARE_STAFF) and scope.covers(obj)


def _open(user: Any, visit: Any) -> bool:
    return visit is None or visit.state in ("due", "overdue")


def _health_open(user: Any, service: Any) -> bool:
    return service is None or service.state == "open"


def _eligible_self(user: Any, service: Any) -> bool:
    """Open, and the user is a resident the service is for."""
    if service is None:
        return True
    if service.state != "open":
        return False
    from tongxin.care.services import eligible

    return eligible(service).filter(user_id=getattr(user, "pk", None) or 0).exists()


register(
    Rule(
        "care.view_visits",
        CARE_STAFF | ASSIGNED,
        _("查看走访（关爱对象、走访记录）"),
        where=InScopeOrAssigned(),
    ),
    Rule(
        "care.record_visit",
        CARE_STAFF | ASSIGNED,
        _("登记走访情况"),
        where=InScopeOrAssigned(),
        when=_open,
        condition=_("仅待走访、已逾期的走访"),
        reason=_("该走访已完成或已取消"),
    ),
    Rule(
        "care.cancel_visit",
        CARE_STAFF,
        _("取消走访"),
        where=InScope(),
        when=_open,
        condition=_("仅待走访、已逾期的走访"),
        reason=_("该走访已完成或已取消"),
    ),
    Rule("care.raise_need", CARE_STAFF, _("登记关爱需求（安排上门）"), where=InScope("dwelling__")),
    Rule("care.view_plans", CARE_STAFF, _("查看走访计划"), where=CommunityIn()),
    Rule("care.manage_plans", MANAGERS | {"grid_worker"}, _("制定、调整走访计划"), where=CommunityIn()),
    Rule("care.view_health", CARE_STAFF, _("查看健康服务及报名"), where=CommunityIn()),
    Rule("care.manage_health", MANAGERS, _("发布健康服务（义诊、送医上门、筛查）"), where=CommunityIn()),
    Rule(
        "care.sign_up_other",
        CARE_STAFF,
        _("为符合条件的居民报名健康服务"),
        where=CommunityIn(),
        when=_health_open,
        condition=_("仅报名中的服务"),
        reason=_("报名已结束"),
    ),
    Rule("care.my_health", frozenset({AUTHENTICATED}), _("查看本人可报名的健康服务")),
    Rule(
        "care.sign_up_self",
        frozenset({AUTHENTICATED}),
        _("本人报名健康服务"),
        when=_eligible_self,
        condition=_("仅报名中的服务，且本人符合条件"),
        reason=_("报名已结束，或您不符合报名条件"),
    ),
)
