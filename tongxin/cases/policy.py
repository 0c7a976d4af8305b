"""Cases' part of the access policy: who may see a case and who may do each thing to it (the 12345/1715 loop).

Where a case lies for a user is :func:`tongxin.cases.querysets.case_visibility_q` (the :class:`CaseVisible`
``where``): registry staff by their regions and grids, property staff and department liaisons by the cases
assigned (or whistled) to their unit, party members and volunteers by the cases open for claiming in the grid
they live in and the ones they took, everyone by the cases assigned to them or reported by them.

What they may do is one rule per action below. The rule says *who* (roles, scope, relation to the case: the
handler, not the handler …); *whether the case's state allows it* is the transition table
(:data:`tongxin.cases.choices.TRANSITIONS`) and each action's states in :mod:`tongxin.cases.actions`. A button is
shown when both agree, and the service behind it asks the same rule (``policy.require``) — so a button is shown
exactly when its action succeeds, on the web and through ``/api/v1/cases/{id}/<action>`` alike.

Satisfaction is the resident's: the reporter rates (own account, or the receipt code, which is shown only to the
reporter); a follow-up call (电话回访) is recorded by registry staff who did not handle the case.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core import media
from tongxin.core.policy import ANONYMOUS, AUTHENTICATED, Rule, register
from tongxin.regions.choices import Role
from tongxin.regions.policy import ADMIN, PARTY_MEMBER, REGISTRY, STAFF, InScope
from tongxin.regions.scoping import scope_for

# Who works on the staff workbench: every staff role, plus party members and volunteers (党员接单).
WORKBENCH = STAFF | {Role.VOLUNTEER, PARTY_MEMBER}
CLAIMERS = frozenset({Role.VOLUNTEER, PARTY_MEMBER})
EVERYONE = frozenset({ANONYMOUS, AUTHENTICATED})
SIGNED_IN = frozenset({AUTHENTICATED})
# Channels on which ``submitted_by`` is the reporter (on the hotline and at the desk it is the operator).
SELF_SERVICE_CHANNELS = frozenset({"resident_app", "api", "open311", "suggestion_box"})


class CaseVisible:
    """Cases the user may see (the one visibility rule of :mod:`tongxin.cases.querysets`); ``prefix`` reaches the
    case from another object (``"case__"`` for a photo)."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.description = _(
            "本人可见的工单（管辖范围内、派给本人或本单位、吹哨到本部门、本网格待认领、本人反映的）"
        )

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.cases.models import Case
        from tongxin.cases.querysets import case_visibility_q

        if not self.prefix:
            return qs.filter(case_visibility_q(user))
        field = self.prefix.removesuffix("__")
        return qs.filter(**{f"{field}__in": Case.objects.filter(case_visibility_q(user)).values("pk")})

    def test(self, user: Any, obj: Any) -> bool:
        case = getattr(obj, self.prefix.removesuffix("__")) if self.prefix else obj
        return case is not None and case_visible(user, case)


def case_visible(user: Any, case: Any) -> bool:
    """:func:`case_visibility_q` for one case, in Python (a query only for department liaisons' whistles)."""
    from tongxin.cases.querysets import resident_info

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    scope = scope_for(user)
    if scope.everything:
        return True
    if case.grid_id in scope.grid_ids or any(
        getattr(case, f"{kind}_id", None) in ids for kind, ids in scope.regions.items()
    ):
        return True
    if case.assignee_id == user.pk or case.submitted_by_id == user.pk:
        return True
    if case.property_company_id and case.property_company_id in scope.property_company_ids:
        return True
    if scope.department_ids:
        if case.department_id in scope.department_ids:
            return True
        from tongxin.cases.models import WhistleCall

        if WhistleCall.objects.filter(
            case_id=case.pk, department_id__in=sorted(scope.department_ids)
        ).exists():
            return True
    resident_id, grid_id, is_member = resident_info(user)
    if resident_id is not None and case.reporter_id == resident_id:
        return True
    return (
        grid_id is not None
        and (is_member or scope.has_role(Role.VOLUNTEER))
        and case.state == "open_for_claiming"
        and case.grid_id == grid_id
    )


def manages(user: Any, case: Any) -> bool:
    """Registry staff (subdistrict admin, community staff, grid worker) whose regions or grids hold the case: they
    accept, dispatch, transfer, close, merge and call back."""
    scope = scope_for(user)
    if scope.everything:
        return True
    if not scope.has_role(Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER):
        return False
    return case.grid_id in scope.grid_ids or any(
        getattr(case, f"{kind}_id", None) in ids for kind, ids in scope.regions.items()
    )


def on_team(user: Any, case: Any) -> bool:
    """The case's handler: its assignee, or staff of the property company / department it is assigned to."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if case.assignee_id == user.pk:
        return True
    scope = scope_for(user)
    return (
        case.property_company_id is not None and case.property_company_id in scope.property_company_ids
    ) or (case.department_id is not None and case.department_id in scope.department_ids)


def reported_in(user: Any, case: Any) -> bool:
    """A liaison of a department whistled to the case that reported in and is still on it (its call active)."""
    if not scope_for(user).department_ids:
        return False
    from tongxin.cases.services import is_reported_in

    return is_reported_in(case, user)


def handles(user: Any, case: Any) -> bool:
    """Who may work the case (arrive, plan, note, resolve): its handler, a whistled department that reported in,
    or the registry staff who manage it."""
    return on_team(user, case) or manages(user, case) or reported_in(user, case)


def is_reporter(user: Any, case: Any) -> bool:
    """The resident who reported the case: their registry record is the reporter, or they submitted it
    themselves (phone page, API, Open311). On the hotline and at the desk the submitter is the operator."""
    from tongxin.cases.querysets import resident_info

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if case.submitted_by_id == user.pk and case.channel in SELF_SERVICE_CHANNELS:
        return True
    resident_id = resident_info(user)[0]
    return resident_id is not None and case.reporter_id == resident_id


def handled(user: Any, case: Any) -> bool:
    """Whether the user handled the case: assigned to it, on its handling unit, or recorded its resolution."""
    if on_team(user, case):
        return True
    from tongxin.cases.choices import EventType
    from tongxin.cases.models import CaseEvent

    return CaseEvent.objects.filter(
        case_id=case.pk, actor_id=user.pk, type__in=[EventType.RESOLVED, EventType.ON_SITE, EventType.CLAIMED]
    ).exists()


class Reported:
    """Cases the user reported (see :func:`is_reporter`)."""

    description = _("本人反映的工单")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from django.db.models import Q

        from tongxin.cases.querysets import resident_info

        resident_id = resident_info(user)[0]
        q = Q(submitted_by_id=user.pk, channel__in=sorted(SELF_SERVICE_CHANNELS))
        if resident_id is not None:
            q |= Q(reporter_id=resident_id)
        return qs.filter(q)

    def test(self, user: Any, obj: Any) -> bool:
        return is_reporter(user, obj)


class Managed:
    """Cases in the regions or grids of a registry role (not the estates a property company serves)."""

    description = _("本人管辖的区域或网格内的工单")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return InScope(registry=True).filter(qs, user)

    def test(self, user: Any, obj: Any) -> bool:
        return manages(user, obj)


class InSubdistrict:
    """Cases of the subdistricts the user administers (吹哨, rating departments)."""

    description = _("本人管理的街道内的工单")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        scope = scope_for(user)
        if scope.everything:
            return qs
        return qs.filter(subdistrict_id__in=sorted(scope.regions.get("subdistrict", ())))

    def test(self, user: Any, obj: Any) -> bool:
        scope = scope_for(user)
        return scope.everything or obj.subdistrict_id in scope.regions.get("subdistrict", ())


class PublicCategory:
    """Categories marked public (shared spaces, nothing personal) — or, behind ``prefix``, their cases."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.description = _("公开的诉求类别") if not prefix else _("公开类别的诉求")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(**{f"{self.prefix}public": True})

    def test(self, user: Any, obj: Any) -> bool:
        target = getattr(obj, self.prefix.removesuffix("__")) if self.prefix else obj
        return bool(getattr(target, "public", False))


def _open(user: Any, case: Any) -> bool:
    return case is None or case.is_open


def _whistled(user: Any, case: Any) -> bool:
    return case is None or case.whistle_calls.exists()


def _handles(user: Any, case: Any) -> bool:
    return case is None or handles(user, case)


def _may_return(user: Any, case: Any) -> bool:
    return case is None or on_team(user, case) or reported_in(user, case)


def _may_claim(user: Any, case: Any) -> bool:
    if case is None:
        return True
    from tongxin.cases.services import eligible_claimer_ids

    return user.pk in eligible_claimer_ids(case)


def _called_to_report(user: Any, case: Any) -> bool:
    """A department liaison whose department was whistled to the case and has not reported in yet."""
    if case is None:
        return True
    from tongxin.cases.models import WhistleCall

    scope = scope_for(user)
    calls = WhistleCall.objects.filter(case_id=case.pk, reported_at__isnull=True)
    if not scope.everything:
        calls = calls.filter(department_id__in=sorted(scope.department_ids))
    return calls.exists()


def _not_the_handler(user: Any, case: Any) -> bool:
    return case is None or not handled(user, case)


def _reporter(user: Any, case: Any) -> bool:
    return case is None or is_reporter(user, case)


register(
    # reading
    Rule("cases.workbench", WORKBENCH, _("诉求工作台（我的待办、全部诉求）")),
    Rule("cases.view", WORKBENCH, _("在工作台查看工单"), where=CaseVisible()),
    Rule("cases.read", SIGNED_IN, _("通过接口查看本人可见的工单"), where=CaseVisible()),
    Rule("cases.view_photo", SIGNED_IN, _("查看工单照片"), where=CaseVisible("case__")),
    Rule("cases.reference", SIGNED_IN, _("查看诉求类别、分类推荐")),
    # intake
    Rule("cases.intake", REGISTRY, _("热线登记（24小时热线受理台）")),
    Rule("cases.submit", SIGNED_IN, _("提交诉求（手机端、接口）")),
    Rule("cases.submit_unlimited", STAFF, _("提交诉求不受每小时次数限制（工作人员代录来电、来访）")),
    Rule(
        "cases.add_photo",
        SIGNED_IN,
        _("上传工单照片"),
        where=CaseVisible(),
        when=lambda u, c: c is None or handles(u, c) or is_reporter(u, c),
        condition=_("承办人、管辖的工作人员或反映人"),
        reason=_("无权上传照片"),
    ),
    # dispatching (registry staff where the case lies)
    Rule("cases.accept", REGISTRY, _("受理"), where=Managed()),
    Rule("cases.reject", REGISTRY, _("不予受理"), where=Managed()),
    Rule("cases.dispatch", REGISTRY, _("派单、轮派"), where=Managed()),
    Rule("cases.transfer", REGISTRY, _("转单"), where=Managed()),
    Rule("cases.open_for_claiming", REGISTRY, _("发布党员认领"), where=Managed()),
    Rule("cases.close", REGISTRY, _("结案（未评价）"), where=Managed()),
    Rule("cases.merge", REGISTRY, _("合并重复工单"), where=Managed()),
    Rule(
        "cases.reclassify",
        REGISTRY,
        _("改类（重新计算时限）"),
        where=Managed(),
        when=_open,
        condition=_("工单未办结"),
        reason=_("只有未办结的工单可以改类"),
    ),
    Rule(
        "cases.claim",
        CLAIMERS,
        _("认领（党员接单）"),
        where=CaseVisible(),
        when=_may_claim,
        condition=_("在册党员或志愿者，住在工单所在网格，岗位或特长符合类别"),
        reason=_("您不在该工单的认领范围内"),
    ),
    # working the case
    Rule(
        "cases.start",
        WORKBENCH,
        _("开始办理"),
        where=CaseVisible(),
        when=_handles,
        condition=_("承办人或管辖的工作人员"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.on_site",
        WORKBENCH,
        _("到场登记"),
        where=CaseVisible(),
        when=_handles,
        condition=_("承办人或管辖的工作人员"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.plan",
        WORKBENCH,
        _("形成方案"),
        where=CaseVisible(),
        when=_handles,
        condition=_("承办人或管辖的工作人员"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.comment",
        WORKBENCH,
        _("记录进展"),
        where=CaseVisible(),
        when=_handles,
        condition=_("承办人或管辖的工作人员"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.return",
        WORKBENCH,
        _("退单"),
        where=CaseVisible(),
        when=_may_return,
        condition=_("仅承办人（本人或本单位），或已报到的吹哨部门（退回本部门的部分）"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.resolve",
        WORKBENCH,
        _("办结"),
        where=CaseVisible(),
        when=_handles,
        condition=_("承办人或管辖的工作人员"),
        reason=_("您不是该工单的承办人"),
    ),
    Rule(
        "cases.reveal_phone",
        REGISTRY | {Role.PROPERTY_STAFF, Role.DEPARTMENT_LIAISON, Role.VOLUNTEER, PARTY_MEMBER},
        _("查看反映人完整电话（留痕）"),
        where=CaseVisible(),
        when=lambda u, c: (
            c is None or c.assignee_id == u.pk or (handles(u, c) and scope_for(u).may_reveal(c, "phone"))
        ),
        condition=_("本人承办，或承办并有权查看明文电话"),
        reason=_("无权查看完整电话号码"),
    ),
    # whistle and report-in (吹哨报到)
    Rule("cases.whistle", ADMIN, _("街道吹哨"), where=InSubdistrict()),
    Rule(
        "cases.report_in",
        frozenset({Role.DEPARTMENT_LIAISON}),
        _("部门报到"),
        where=CaseVisible(),
        when=_called_to_report,
        condition=_("本部门被吹哨且尚未报到"),
        reason=_("没有需要本部门报到的吹哨"),
    ),
    Rule(
        "cases.rate_department",
        ADMIN,
        _("评价报到部门"),
        where=InSubdistrict(),
        when=_whistled,
        condition=_("工单吹过哨"),
        reason=_("该工单没有吹哨，无可评价的部门"),
    ),
    # the resident's word
    Rule("cases.report", SIGNED_IN, _("我要反映（居民手机端）")),
    Rule("cases.view_mine", SIGNED_IN, _("查看本人反映的诉求"), where=Reported()),
    Rule(
        "cases.rate",
        SIGNED_IN,
        _("评价办理结果、反馈未解决（反映人）"),
        where=CaseVisible(),
        when=_reporter,
        condition=_("仅反映人本人（或持查询码者，见查询页）"),
        reason=_("只有反映人可以评价"),
    ),
    Rule(
        "cases.follow_up",
        REGISTRY,
        _("电话回访（记录反映人的评价）"),
        where=Managed(),
        when=_not_the_handler,
        condition=_("不是该工单的承办人，也没有办理、办结过该工单"),
        reason=_("承办人不能回访自己办理的工单"),
    ),
    Rule("cases.suggestion_box", EVERYONE, _("群众意见箱（匿名）")),
    Rule("cases.receipt", EVERYONE, _("凭工单号和查询码查询、评价结果")),
    # Open311 GeoReport v2
    Rule("cases.open311_services", EVERYONE, _("Open311 读取服务类别（仅公开类别）"), where=PublicCategory()),
    Rule(
        "cases.open311_read",
        EVERYONE,
        _("Open311 读取诉求（仅公开类别，不含个人信息，位置到小区）"),
        where=PublicCategory("category__"),
    ),
)


def _photo(path: str) -> tuple[str, Any] | None:
    from tongxin.cases.models import CasePhoto

    photo = CasePhoto.objects.select_related("case").filter(file=path).first()
    return ("cases.view_photo", photo) if photo is not None else None


media.register("cases/", _photo)
