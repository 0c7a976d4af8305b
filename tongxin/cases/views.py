"""Staff workbench: the queue, the case page with its actions, the hotline intake screen.

Thin views: reads go through ``Case.objects.visible_to(user)`` (out of scope → 404), writes are one call to
:mod:`tongxin.cases.services`, whose :class:`~tongxin.cases.choices.CaseError` message is shown to the user.
Which action buttons appear is decided by :func:`available_actions` (the transition table + the user's role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.cases import services
from tongxin.cases.choices import OPEN_STATES, TRANSITIONS, CaseError, CaseState, Channel, Rating
from tongxin.cases.forms import IntakeForm, QueueFilterForm
from tongxin.cases.models import Case, Category
from tongxin.regions.models import Department, Grid
from tongxin.regions.scoping import scope_for

PAGE_SIZE = 30


WORKBENCH_ROLES = (
    "subdistrict_admin",
    "community_staff",
    "grid_worker",
    "property_staff",
    "department_liaison",
    "volunteer",
)


def _staff(request: HttpRequest) -> None:
    """Workbench pages are for staff roles and members/volunteers; residents have their phone pages."""
    if not scope_for(request.user).has_role(*WORKBENCH_ROLES):
        raise Http404


def deadline_class(case: Case, now: Any = None) -> str:
    """The colour of a queue row: red/yellow supervision first, then overdue, then due soon."""
    if case.supervision in ("red", "yellow"):
        return case.supervision
    if case.overdue:
        return "overdue"
    if case.due_soon:
        return "due-soon"
    return ""


def _queue(request: HttpRequest) -> tuple[Any, QueueFilterForm, bool]:
    form = QueueFilterForm(request.GET or None)
    form.is_valid()
    f = form.cleaned_data if form.is_bound else {}
    mine = request.GET.get("mine", "1") != "0"
    qs = Case.objects.visible_to(request.user)
    if mine:
        qs = qs.filter(
            Q(assignee=request.user)
            | Q(state=CaseState.OPEN_FOR_CLAIMING)
            | Q(state__in=[CaseState.SUBMITTED, CaseState.REOPENED, CaseState.RETURNED])
            | _team_q(request.user)
        ).filter(state__in=OPEN_STATES)
    if f.get("grid"):
        qs = qs.filter(grid_id=f["grid"])
    if f.get("category"):
        qs = qs.filter(category__service_code=f["category"])
    if f.get("state"):
        qs = qs.filter(state=f["state"])
    if f.get("channel"):
        qs = qs.filter(channel=f["channel"])
    if f.get("q"):
        qs = qs.filter(Q(number__startswith=f["q"]) | Q(description__contains=f["q"]))
    qs = qs.select_related("category", "grid", "assignee").order_by(
        "resolve_by" if mine or f.get("state") else "-submitted_at", "id"
    )
    return qs, form, mine


def _team_q(user: Any) -> Q:
    scope = scope_for(user)
    q = Q(pk__in=[])
    if scope.property_company_ids:
        q |= Q(property_company_id__in=sorted(scope.property_company_ids))
    if scope.department_ids:
        q |= Q(department_id__in=sorted(scope.department_ids))
    return q


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.has_role("resident") and not scope.has_role(*WORKBENCH_ROLES):
        return redirect("cases:resident_home")  # residents follow their requests on the phone pages
    _staff(request)
    qs, form, mine = _queue(request)
    page = Page.of(qs, request.GET.get("page"))
    now = timezone.now()
    rows = [(c, deadline_class(c, now)) for c in page.object_list]
    ctx = {
        "page": page,
        "rows": rows,
        "form": form,
        "mine": mine,
        "now": now,
        "query": request.GET.urlencode(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "cases/_queue_rows.html", ctx)
    ctx.update(
        grids=Grid.objects.visible_to(request.user).only("id", "name"),
        categories=Category.objects.filter(active=True).only("service_code", "name"),
        states=CaseState.choices,
        channels=Channel.choices,
        may_intake=scope_for(request.user).has_role("subdistrict_admin", "community_staff", "grid_worker"),
    )
    return render(request, "cases/workbench.html", ctx)


@dataclass
class Page:
    """Previous/next paging without COUNT(*): with millions of cases a count costs more than the page itself."""

    number: int
    object_list: list[Any]
    has_next: bool

    @classmethod
    def of(cls, qs: Any, raw: str | None) -> Page:
        number = int(raw) if raw and raw.isdigit() and int(raw) > 0 else 1
        start = (number - 1) * PAGE_SIZE
        rows = list(qs[start : start + PAGE_SIZE + 1])
        return cls(number, rows[:PAGE_SIZE], len(rows) > PAGE_SIZE)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def _case(request: HttpRequest, pk: int) -> Case:
    return get_object_or_404(
        Case.objects.visible_to(request.user).select_related(
            "category",
            "grid",
            "assignee",
            "dwelling",
            "property_company",
            "department",
            "reporter",
            "merged_into",
        ),
        pk=pk,
    )


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    case = _case(request, pk)
    available = available_actions(case, request.user)
    events = list(case.events.select_related("actor").order_by("at", "id"))
    ctx: dict[str, Any] = {
        "case": case,
        "events": events,
        "actions": available,
        "deadline_class": deadline_class(case),
        "whistles": list(
            case.whistle_calls.select_related("department", "reported_by").order_by("whistled_at", "id")
        ),
        "photos": list(case.photos.all()),
    }
    if request.headers.get("HX-Request"):
        return render(request, "cases/_case_status.html", ctx)
    names = {a.name for a in available}
    if names & {"dispatch", "transfer"}:
        ctx["assignees"] = assignee_choices(case, request.user)
    if names & {"whistle", "dispatch", "transfer"}:
        ctx["departments"] = Department.objects.filter(subdistrict_id=case.subdistrict_id).order_by("pk")
    if names & {"dispatch", "transfer"} and case.estate_id:
        from tongxin.regions.models import PropertyCompany

        ctx["companies"] = PropertyCompany.objects.filter(estates=case.estate_id).order_by("pk")
    if "merge" in names:
        from tongxin.cases.duplicates import likely_duplicates

        ctx["duplicates"] = likely_duplicates(
            request.user,
            text=case.description,
            category=case.category,
            dwelling=case.dwelling,
            building=case.building_id,
            latitude=case.latitude,
            longitude=case.longitude,
            exclude_pk=case.pk,
        )
    return render(request, "cases/case.html", ctx)


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _staff(request)
    case = _case(request, pk)
    allowed = {a.name: a for a in available_actions(case, request.user)}
    if action not in allowed:
        messages.error(request, _("当前状态或您的角色不能执行此操作"))
        return redirect("cases:case_detail", pk=case.pk)
    try:
        perform_action(action, case, request.user, request.POST)
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已%(action)s") % {"action": allowed[action].label})
    if not Case.objects.visible_to(request.user).filter(pk=case.pk).exists():
        return redirect("cases:workbench")  # e.g. transferred away: the case left this user's scope
    return redirect("cases:case_detail", pk=case.pk)


# --- hotline intake -------------------------------------------------------------------------------------------


@login_required
def intake(request: HttpRequest) -> HttpResponse:
    """Staff intake: one screen for the 24小时热线 (the operator types while the caller talks), a grid worker's
    网格巡查 finding and a walk-in at the 服务窗口 — the channel is chosen on the form, not assumed."""
    _staff(request)
    if not scope_for(request.user).has_role("subdistrict_admin", "community_staff", "grid_worker"):
        raise Http404
    form = IntakeForm(request.POST or None, initial={"channel": _intake_channel(request)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        from tongxin.people.models import Resident
        from tongxin.regions.models import Dwelling

        reporter = (
            Resident.objects.visible_to(request.user).filter(pk=data["resident"]).first()
            if data.get("resident")
            else None
        )
        dwelling = (
            Dwelling.objects.visible_to(request.user).filter(pk=data["dwelling"]).first()
            if data.get("dwelling")
            else None
        )
        try:
            case = services.submit(
                actor=request.user,
                channel=data.get("channel") or _intake_channel(request),
                category=data["category"],
                description=data["description"],
                reporter=reporter,
                contact_name=data.get("contact_name") or "",
                contact_phone=data.get("phone") or "",
                dwelling=dwelling,
                address=data.get("address") or "",
            )
            suggested = [s for s in (data.get("suggested") or "").split(",") if s]
            if suggested:
                from tongxin.cases.suggest import record_feedback

                record_feedback(
                    text=data["description"],
                    suggested=suggested,
                    chosen=data["category"],
                    user=request.user,
                    case=case,
                )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已登记工单 %(n)s") % {"n": case.number})
            return redirect(reverse("cases:intake") + f"?done={case.pk}")
    done = None
    if request.GET.get("done"):
        done = Case.objects.visible_to(request.user).filter(pk=request.GET["done"]).first()
    return render(
        request,
        "cases/intake.html",
        {
            "form": form,
            "categories": Category.objects.filter(active=True).order_by("sort_order", "id"),
            "done": done,
        },
    )


def _intake_channel(request: HttpRequest) -> str:
    """The channel preselected on the intake screen: ``?channel=`` (links 巡查上报 / 窗口登记), else 网格巡查 for
    a grid worker, else 热线."""
    from tongxin.cases.choices import CHANNEL_ALIASES, STAFF_CHANNELS

    asked = CHANNEL_ALIASES.get(request.GET.get("channel", ""), request.GET.get("channel", ""))
    if asked in STAFF_CHANNELS:
        return asked
    scope = scope_for(request.user)
    if scope.has_role("grid_worker") and not scope.has_role("subdistrict_admin", "community_staff"):
        return Channel.GRID_PATROL
    return Channel.HOTLINE


@login_required
def intake_caller(request: HttpRequest) -> HttpResponse:
    """Phone typed → the caller (resident) and their dwelling, masked, scoped."""
    _staff(request)
    from tongxin.core import pii
    from tongxin.people.models import Resident

    raw = request.GET.get("phone", "")
    residents: list[Any] = []
    try:
        phone = pii.normalise_phone(raw)
    except pii.PIIError:
        phone = ""
    if phone:
        residents = list(
            Resident.objects.visible_to(request.user)
            .filter(phone_hash=pii.lookup_hash(phone))
            .select_related("dwelling__estate", "dwelling__building", "dwelling__entrance")
            .order_by("pk")[:5]
        )
    return JsonResponse(
        {
            "residents": [
                {
                    "id": r.pk,
                    "name": r.name,
                    "phone": r.phone_masked,
                    "dwelling": r.dwelling_id,
                    "address": r.dwelling.address if r.dwelling_id else "",
                }
                for r in residents
            ]
        }
    )


@login_required
def intake_address(request: HttpRequest) -> HttpResponse:
    """Address typed → matching dwellings/buildings (regions.address), scoped."""
    _staff(request)
    from tongxin.regions import address as addr
    from tongxin.regions.models import Region

    text = request.GET.get("q", "").strip()
    if len(text) < 2:
        return JsonResponse({"matches": []})
    estates = Region.objects.visible_to(request.user).filter(kind="estate")
    matches: list[dict[str, Any]] = []
    found = addr.resolve_address(text, estates)
    if found.found:
        place = found.dwelling or found.entrance or found.building or found.estate
        label = str(place)  # a dwelling's str() is its full address
        matches.append(
            {
                "label": label,
                "level": found.level,
                "dwelling": getattr(found.dwelling, "pk", None),
                "exact": found.dwelling is not None,
            }
        )
    if not found.found or found.level == "estate":
        # complete the estate name: estates whose name starts with (or contains) what was typed
        head = text[:4]
        for name in estates.filter(Q(name__startswith=head) | Q(name__contains=head)).values_list(
            "name", flat=True
        )[:6]:
            matches.append({"label": name, "level": "estate", "dwelling": None, "exact": False})
    return JsonResponse({"matches": matches[:6]})


@login_required
def intake_assist(request: HttpRequest) -> HttpResponse:
    """Description typed → top 3 categories and possible duplicates near the dwelling."""
    _staff(request)
    from tongxin.cases.duplicates import likely_duplicates
    from tongxin.cases.suggest import suggest
    from tongxin.regions.models import Dwelling

    text = request.GET.get("text", "")
    suggestions = [s.as_dict() for s in suggest(text, k=3)] if len(text.strip()) >= 2 else []
    dwelling = None
    if request.GET.get("dwelling"):
        dwelling = Dwelling.objects.visible_to(request.user).filter(pk=request.GET["dwelling"]).first()
    dups = []
    if dwelling is not None and text.strip():
        dups = [
            {**d.as_dict(), "url": reverse("cases:case_detail", args=[d.case.pk])}
            for d in likely_duplicates(request.user, text=text, dwelling=dwelling, limit=3)
        ]
    return JsonResponse({"suggestions": suggestions, "duplicates": dups})


# --- actions: which buttons a user sees, and the one service call behind each ---------------------------------

S = CaseState


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    to_state: str | None  # None: no state change (report-in, follow-up call)


def _on_team(case: Case, user: Any) -> bool:
    scope = scope_for(user)
    return (
        case.assignee_id == user.pk
        or (case.property_company_id is not None and case.property_company_id in scope.property_company_ids)
        or (case.department_id is not None and case.department_id in scope.department_ids)
    )


def available_actions(case: Case, user: Any) -> list[Action]:
    """The actions the transition table allows from the case's state AND the user's role allows."""
    scope = scope_for(user)
    dispatcher = services.may_manage(case, user)
    # a whistled department that reported in works the case like its handler
    handler = _on_team(case, user) or services.is_reported_in(case, user)
    allowed = TRANSITIONS.get(case.state, frozenset())
    out: list[Action] = []

    def add(name: str, label: str, to_state: str | None, ok: bool) -> None:
        if ok and (to_state is None or to_state in allowed):
            out.append(Action(name, label, to_state))

    add("accept", _("受理"), S.ACCEPTED, dispatcher)
    add("dispatch", _("派单"), S.DISPATCHED, dispatcher and case.state != S.DISPATCHED)
    add(
        "transfer",
        _("转单"),
        S.DISPATCHED,
        (dispatcher or handler) and case.state in (S.DISPATCHED, S.IN_PROGRESS),
    )
    add("open_for_claiming", _("发布认领"), S.OPEN_FOR_CLAIMING, dispatcher)
    add(
        "claim",
        _("认领"),
        S.DISPATCHED,
        case.state == S.OPEN_FOR_CLAIMING and scope.has_role("volunteer", "grid_worker"),
    )
    add("start", _("开始办理"), S.IN_PROGRESS, handler and case.state in (S.DISPATCHED, S.REOPENED))
    add("return", _("退单"), S.RETURNED, handler and case.state in (S.DISPATCHED, S.IN_PROGRESS))
    add("whistle", _("吹哨"), S.WHISTLED, scope.has_role("subdistrict_admin") and scope.covers(case))
    add(
        "report_in",
        _("报到"),
        None,
        bool(scope.department_ids)
        and case.whistle_calls.filter(
            department_id__in=sorted(scope.department_ids), reported_at__isnull=True
        ).exists(),
    )
    add("resolve", _("办结"), S.RESOLVED, handler or (dispatcher and case.state != S.SUBMITTED))
    add("reject", _("不予受理"), S.REJECTED, dispatcher)
    add(
        "follow_up_call",
        _("电话回访"),
        None,
        dispatcher and case.state == S.RESOLVED and not case.rating,
    )
    add("merge", _("合并重复"), S.MERGED, dispatcher)
    return out


def assignee_choices(case: Case, user: Any) -> list[Any]:
    """Who a dispatcher may pick: grid workers of the case's grid and community staff of its community."""
    from tongxin.core.models import User
    from tongxin.regions.models import RoleAssignment

    q = Q(pk__in=[])
    if case.grid_id:
        q |= Q(role="grid_worker", grid_id=case.grid_id)
    if case.community_id:
        q |= Q(role="community_staff", region_id=case.community_id)
    ids = RoleAssignment.objects.filter(q).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "pk")[:50])


def perform_action(name: str, case: Case, user: Any, post: Any) -> None:
    """Parse the action's form fields and call the service. Raises :class:`CaseError` with a readable message."""
    from tongxin.core.models import User
    from tongxin.regions.models import PropertyCompany

    def text(field: str, required: bool = True) -> str:
        value = (post.get(field) or "").strip()
        if required and not value:
            raise CaseError(_("请填写%(f)s") % {"f": FIELD_LABELS.get(field, field)})
        return value

    if name == "accept":
        services.accept(case, actor=user)
    elif name == "reject":
        services.reject(case, actor=user, reason=text("reason"))
    elif name in ("dispatch", "transfer"):
        target = post.get("target", "")
        kw: dict[str, Any] = {}
        kind, _sep, ident = target.partition(":")
        if kind == "user":
            kw["assignee"] = get_object_or_404(User, pk=ident, is_active=True)
        elif kind == "department":
            kw["department"] = get_object_or_404(Department, pk=ident)
        elif kind == "company":
            kw["property_company"] = get_object_or_404(PropertyCompany, pk=ident)
        elif kind == "auto" and name == "dispatch":
            services.round_robin(case, actor=user)  # next on-duty handler of the category
            return
        else:
            raise CaseError(_("请选择承办人或承办单位"))
        fn = services.dispatch if name == "dispatch" else services.transfer
        if name == "transfer":
            kw["reason"] = text("reason", required=False)
        fn(case, actor=user, **kw)
    elif name == "open_for_claiming":
        services.open_for_claiming(case, actor=user)
    elif name == "claim":
        services.claim(case, user)
    elif name == "start":
        services.start(case, actor=user)
    elif name == "return":
        services.return_case(case, actor=user, reason=text("reason"))
    elif name == "whistle":
        ids = [i for i in post.getlist("departments") if i.isdigit()]
        depts = list(Department.objects.filter(pk__in=ids, subdistrict_id=case.subdistrict_id))
        if not depts:
            raise CaseError(_("请选择至少一个部门"))
        services.whistle(case, actor=user, departments=depts, note=text("note", required=False))
    elif name == "report_in":
        from tongxin.cases.models import WhistleCall

        call = (
            WhistleCall.objects.filter(
                case=case, department_id__in=sorted(scope_for(user).department_ids), reported_at__isnull=True
            )
            .order_by("pk")
            .first()
        )
        if call is None:
            raise CaseError(_("没有需要报到的吹哨"))
        services.report_in(call, actor=user, note=text("note", required=False))
    elif name == "resolve":
        services.resolve(case, actor=user, result=text("result"))
    elif name == "follow_up_call":
        rating = post.get("rating", "")
        if rating not in Rating.values:
            raise CaseError(_("请选择回访评价"))
        services.follow_up_call(case, actor=user, rating=rating, comment=text("comment", required=False))
    elif name == "merge":
        number = text("into")
        target = (
            Case.objects.visible_to(user)
            .filter(Q(number=number) | Q(pk=number if number.isdigit() else 0))
            .first()
        )
        if target is None:
            raise CaseError(_("没有找到工单 %(n)s") % {"n": number})
        services.merge(case, target, actor=user)
    else:  # pragma: no cover - names come from available_actions
        raise CaseError(_("未知操作"))


FIELD_LABELS = {
    "reason": _("原因"),
    "result": _("办理结果"),
    "into": _("目标工单号"),
    "note": _("说明"),
    "comment": _("意见"),
}


urlpatterns = [
    path("", workbench, name="workbench"),
    path("intake/", intake, name="intake"),
    path("intake/caller/", intake_caller, name="intake_caller"),
    path("intake/address/", intake_address, name="intake_address"),
    path("intake/assist/", intake_assist, name="intake_assist"),
    path("<int:pk>/", case_detail, name="case_detail"),
    path("<int:pk>/do/<slug:action>/", case_action, name="case_action"),
]
