"""The one case action table: every thing a person can do to a case, once — its name (the same on the web,
``/cases/<id>/do/<name>/``, and in the API, ``POST /api/v1/cases/{id}/<name>``), its policy rule
(``cases/policy.py``: who), its states (``choices.ACTION_STATES``: when), the fields it reads and the service it
runs (``services.py``, which asks the same rule and states again).

:func:`available` is what the case page shows: an action whose rule and states allow it — so a button is shown
exactly when the service would accept it (bar what the person types, e.g. an empty reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.cases import services
from tongxin.cases.choices import CaseError, Rating, state_allows
from tongxin.cases.forms import MAX_PHOTOS
from tongxin.cases.models import Case, WhistleCall
from tongxin.core import policy
from tongxin.regions.scoping import scope_for


@dataclass
class Input:
    """What an action may read, parsed from a web form or an API body."""

    reason: str = ""
    note: str = ""
    result: str = ""
    plan: str = ""
    comment: str = ""
    rating: Any = None
    receipt_code: str = ""
    target: dict[str, Any] = field(
        default_factory=dict
    )  # assignee / property_company / department / team_kind
    round_robin: bool = False
    department_ids: list[int] = field(default_factory=list)
    call_id: int | None = None
    department_id: int | None = None
    primary: str = ""  # the case to merge into: its number or id
    category: str = ""  # 改类: the new category's service code
    at: Any = None  # 到场: when (a datetime), if recorded afterwards
    latitude: float | None = None  # 到场: where the phone was
    longitude: float | None = None
    photos: list[Any] = field(default_factory=list)  # 到场 / 办结: photos of the site and of the result

    @classmethod
    def of(cls, get: Callable[[str], Any], **extra: Any) -> Input:
        """The text fields and the rating read with ``get`` (a form's ``.get``, a body's ``getattr``), plus
        ``extra`` (targets, departments …) parsed by the caller."""
        texts: dict[str, Any] = {
            f: str(get(f) or "")
            for f in ("reason", "note", "result", "plan", "comment", "receipt_code", "category")
        }
        return cls(**texts, rating=get("rating"), **extra)


@dataclass(frozen=True)
class CaseAction:
    name: str
    rule: str
    label: Any
    run: Callable[[Case, Any, Input], Any]
    web: bool = True  # shown as a button on the staff case page
    ready: Callable[[Case], bool] = lambda case: (
        True
    )  # a further condition on the case, checked by the service

    def applies(self, case: Case) -> bool:
        return state_allows(self.rule, case.state) and self.ready(case)


def _text(value: str, label: Any, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseError(_("请填写%(f)s") % {"f": label}, code=f"{field}_required")
    return value


def _dispatch(case: Case, user: Any, inp: Input) -> Any:
    if inp.round_robin:
        return services.round_robin(case.pk, user)
    return services.dispatch(case.pk, user, note=inp.note, **inp.target)


def _photos(case: Case, user: Any, photos: list[Any], stage: str) -> None:
    if len(photos) > MAX_PHOTOS:
        raise CaseError(_("每次最多上传%(n)d张照片") % {"n": MAX_PHOTOS}, code="too_many_photos")
    for f in photos:
        if not (getattr(f, "content_type", "") or "").startswith("image/"):
            raise CaseError(_("只能上传图片：%(f)s") % {"f": getattr(f, "name", "")}, code="not_an_image")
        services.add_photo(case.pk, user, f, stage=stage)


def _on_site(case: Case, user: Any, inp: Input) -> Any:
    """到场, with the time (if recorded afterwards), the phone's location and photos of the site, at once."""
    with transaction.atomic():
        done = services.mark_on_site(case.pk, user, at=inp.at, latitude=inp.latitude, longitude=inp.longitude)
        _photos(case, user, inp.photos, "on_site")
    return done


def _resolve(case: Case, user: Any, inp: Input) -> Any:
    """办结 with the result and photos of it, at once."""
    with transaction.atomic():
        done = services.resolve(case.pk, user, _text(inp.result, _("办理结果"), "result"))
        _photos(case, user, inp.photos, "result")
    return done


def _whistle(case: Case, user: Any, inp: Input) -> Any:
    from tongxin.regions.models import Department

    ids = inp.department_ids or ([inp.department_id] if inp.department_id else [])
    depts = list(Department.objects.filter(pk__in=ids, subdistrict_id=case.subdistrict_id).order_by("pk"))
    if not ids or len(depts) != len(set(ids)):
        raise CaseError(_("请选择本街道的部门"), code="unknown_department")
    return services.whistle(case.pk, user, depts, note=inp.note)


def whistle_call(case: Case, user: Any, inp: Input) -> WhistleCall:
    """The whistle call an action is about: named by ``call_id`` or ``department_id``, else the user's
    department's only call."""
    calls = WhistleCall.objects.filter(case=case)
    if inp.call_id is not None:
        calls = calls.filter(pk=inp.call_id)
    elif inp.department_id is not None:
        calls = calls.filter(department_id=inp.department_id)
    else:
        depts = scope_for(user).department_ids
        if depts:
            calls = calls.filter(department_id__in=sorted(depts), reported_at__isnull=True)
    found = list(calls.order_by("pk")[:2])
    if len(found) != 1:
        message = _("请指明吹哨记录（call_id 或 department_id）") if found else _("没有对应的吹哨记录")
        raise CaseError(message, code="which_whistle_call")
    return found[0]


def _rate_department(case: Case, user: Any, inp: Input) -> Any:
    if not isinstance(inp.rating, int) or not 1 <= inp.rating <= 5:
        raise CaseError(_("部门评分应为1到5"), code="bad_rating")
    return services.rate_department(whistle_call(case, user, inp).pk, user, inp.rating, inp.comment)


def _rating(inp: Input) -> str:
    rating = str(inp.rating or "")
    if rating not in Rating.values:
        raise CaseError(_("评价应为：满意、基本满意或不满意"), code="bad_rating")
    return rating


def _merge(case: Case, user: Any, inp: Input) -> Any:
    ref = (inp.primary or "").strip()
    if not ref:
        raise CaseError(_("请指明合并到的主工单"), code="primary_required")
    primary = (
        Case.objects.visible_to(user).filter(Q(number=ref) | Q(pk=int(ref) if ref.isdigit() else 0)).first()
    )
    if primary is None:
        raise CaseError(_("没有找到工单 %(n)s") % {"n": ref}, code="primary_not_found")
    return services.merge(case.pk, primary.pk, user)


A = CaseAction
ACTIONS: tuple[CaseAction, ...] = (
    A("accept", "cases.accept", gettext_lazy("受理"), lambda c, u, i: services.accept(c.pk, u)),
    A("dispatch", "cases.dispatch", gettext_lazy("派单"), _dispatch),
    A(
        "round-robin",
        "cases.dispatch",
        gettext_lazy("按类别轮派"),
        lambda c, u, i: services.round_robin(c.pk, u),
        web=False,  # on the page it is the dispatch form's first choice
    ),
    A(
        "transfer",
        "cases.transfer",
        gettext_lazy("转单"),
        lambda c, u, i: services.transfer(c.pk, u, reason=i.reason or i.note, **i.target),
    ),
    A(
        "open-for-claiming",
        "cases.open_for_claiming",
        gettext_lazy("发布认领"),
        lambda c, u, i: services.open_for_claiming(c.pk, u, note=i.note),
        ready=lambda c: c.grid_id is not None,
    ),
    A("claim", "cases.claim", gettext_lazy("认领"), lambda c, u, i: services.claim(c.pk, u)),
    A("start", "cases.start", gettext_lazy("开始办理"), lambda c, u, i: services.start(c.pk, u)),
    A("on-site", "cases.on_site", gettext_lazy("到场"), lambda c, u, i: _on_site(c, u, i)),
    A(
        "plan",
        "cases.plan",
        gettext_lazy("形成方案"),
        lambda c, u, i: services.record_plan(c.pk, u, _text(i.plan, _("解决方案"), "plan")),
    ),
    A(
        "comment",
        "cases.comment",
        gettext_lazy("记录进展"),
        lambda c, u, i: services.comment(c.pk, u, _text(i.comment or i.note, _("进展"), "comment")),
    ),
    A("resolve", "cases.resolve", gettext_lazy("办结"), lambda c, u, i: _resolve(c, u, i)),
    A(
        "return",
        "cases.return",
        gettext_lazy("退单"),
        lambda c, u, i: services.return_case(c.pk, u, _text(i.reason, _("原因"), "reason")),
    ),
    A("whistle", "cases.whistle", gettext_lazy("吹哨"), _whistle),
    A(
        "report-in",
        "cases.report_in",
        gettext_lazy("报到"),
        lambda c, u, i: services.report_in(whistle_call(c, u, i).pk, u, note=i.note),
    ),
    A(
        "rate-department",
        "cases.rate_department",
        gettext_lazy("评价部门"),
        _rate_department,
        web=False,
        ready=lambda c: c.whistle_calls.exists(),
    ),
    A(
        "reject",
        "cases.reject",
        gettext_lazy("不予受理"),
        lambda c, u, i: services.reject(c.pk, u, _text(i.reason, _("原因"), "reason")),
    ),
    A(
        "follow-up",
        "cases.follow_up",
        gettext_lazy("电话回访"),
        lambda c, u, i: services.follow_up_call(c.pk, u, _rating(i), i.comment),
        ready=lambda c: not c.rating,
    ),
    A(
        "close",
        "cases.close",
        gettext_lazy("结案"),
        lambda c, u, i: services.close(c.pk, u, note=i.note),
    ),
    A("merge", "cases.merge", gettext_lazy("合并重复"), _merge),
    A(
        "reclassify",
        "cases.reclassify",
        gettext_lazy("改类"),
        lambda c, u, i: services.reclassify(
            c.pk, u, _text(i.category, _("新类别"), "category"), reason=i.reason
        ),
        web=False,  # the page has its own form, which shows the new deadlines first (work_views.reclassify)
    ),
    A(
        "rate",
        "cases.rate",
        gettext_lazy("评价"),
        lambda c, u, i: services.confirm_and_rate(c.pk, u, str(i.rating or ""), i.comment),
        web=False,  # the reporter's phone page
    ),
    A(
        "not-fixed",
        "cases.rate",
        gettext_lazy("反馈未解决"),
        lambda c, u, i: services.not_fixed(c.pk, u, i.comment or i.reason),
        web=False,
    ),
)
BY_NAME = {a.name: a for a in ACTIONS}


def available(case: Case, user: Any, *, web: bool = True) -> list[CaseAction]:
    """The actions ``user`` can do to ``case`` now: the rule allows the user, the states allow the action."""
    return [a for a in ACTIONS if (a.web or not web) and a.applies(case) and policy.can(user, a.rule, case)]


def perform(name: str, case: Case, user: Any, inp: Input) -> Any:
    """Run action ``name``; raises :class:`CaseError` (readable message, nothing changed) when refused."""
    action = BY_NAME.get(name)
    if action is None:
        raise CaseError(_("未知操作"), code="unknown_action")
    return action.run(case, user, inp)
