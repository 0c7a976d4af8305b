"""Staff workbench: the queue, the case page with its actions, the hotline intake screen.

Thin views: every page declares its policy action (``cases/policy.py``), reads go through
``policy.get_or_deny`` / ``Case.objects.visible_to(user)`` (out of scope → 404), writes are one action of the case
action table (:mod:`tongxin.cases.actions`), whose :class:`~tongxin.cases.choices.CaseError` message is shown to
the user. The buttons are :func:`tongxin.cases.actions.available`: shown exactly when the action would succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.cases import actions, services
from tongxin.cases.choices import CaseError, CaseState, Channel
from tongxin.cases.forms import IntakeForm, QueueFilterForm
from tongxin.cases.models import Case, Category
from tongxin.core import pii, policy
from tongxin.regions.models import Department, Grid
from tongxin.regions.scoping import scope_for

PAGE_SIZE = 30


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
    qs = Case.objects.todo_for(request.user) if mine else Case.objects.visible_to(request.user)
    departments = sorted(scope_for(request.user).department_ids)
    if departments:  # the report-in countdown of a whistle to the liaison's department (one subquery)
        from django.db.models import OuterRef, Subquery

        from tongxin.cases.models import WhistleCall

        pending = WhistleCall.objects.filter(
            case=OuterRef("pk"), department_id__in=departments, reported_at__isnull=True, active=True
        ).order_by("report_by")
        qs = qs.annotate(report_by=Subquery(pending.values("report_by")[:1]))
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


@policy.page("cases.report")  # the entry to cases for everyone signed in: the workbench or the phone pages
def workbench(request: HttpRequest) -> HttpResponse:
    """诉求工作台. Whoever holds no workbench role (residents) follows their requests on the phone pages."""
    if not policy.can(request.user, "cases.workbench"):
        return redirect("cases:resident_home")
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
        may_intake=policy.can(request.user, "cases.intake"),
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
    return policy.get_or_deny(
        Case.objects.select_related(
            "category",
            "grid",
            "assignee",
            "dwelling",
            "property_company",
            "department",
            "reporter",
            "merged_into",
        ),
        request.user,
        "cases.view",
        pk=pk,
    )


@policy.page("cases.view", model="cases.Case")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    available = actions.available(case, request.user)
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
        "description": pii.mask_in_text(case.description),
        "result": pii.mask_in_text(case.result),
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


@require_POST
@policy.page("cases.view", model="cases.Case", sample={"action": "comment"})
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One action of the case action table; refusals are the service's message (the case is unchanged)."""
    case = _case(request, pk)
    known = actions.BY_NAME.get(action)
    if known is None or not known.web:
        messages.error(request, _("未知操作"))
        return redirect("cases:case_detail", pk=case.pk)
    try:
        actions.perform(action, case, request.user, form_input(request.POST, action, request.FILES))
    except CaseError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已%(action)s") % {"action": known.label})
    if not Case.objects.visible_to(request.user).filter(pk=case.pk).exists():
        return redirect("cases:workbench")  # e.g. transferred away: the case left this user's scope
    return redirect("cases:case_detail", pk=case.pk)


# --- hotline intake -------------------------------------------------------------------------------------------


@policy.page("cases.intake")
def intake(request: HttpRequest) -> HttpResponse:
    """Staff intake: one screen for the 24小时热线 (the operator types while the caller talks), a grid worker's
    网格巡查 finding and a walk-in at the 服务窗口 — the channel is chosen on the form, not assumed."""
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
            with transaction.atomic():  # 登记并派单: both or neither
                case = _intake_submit(request, data, reporter, dwelling)
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
            if case.state == CaseState.SUBMITTED:
                messages.success(request, _("已登记工单 %(n)s") % {"n": case.number})
            else:
                messages.success(request, _("已登记并派单 %(n)s") % {"n": case.number})
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
            "departments": Department.objects.filter(
                subdistrict_id__in=_subdistricts_of(request.user)
            ).order_by("pk"),
        },
    )


def _subdistricts_of(user: Any) -> list[int]:
    """The subdistricts of the communities the user works in (for the departments offered at intake)."""
    from tongxin.regions.models import Region
    from tongxin.regions.policy import community_ids

    return sorted(
        {
            p
            for p in Region.objects.filter(pk__in=community_ids(user)).values_list("parent_id", flat=True)
            if p
        }
    )


def _intake_submit(request: HttpRequest, data: dict[str, Any], reporter: Any, dwelling: Any) -> Case:
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
    if data.get("dispatch_to"):
        case = services.dispatch_at_intake(case, request.user, data["dispatch_to"])
    return case


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


@policy.page("cases.intake")
def intake_caller(request: HttpRequest) -> HttpResponse:
    """Phone typed → the caller (resident) and their dwelling, masked, scoped."""
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


@policy.page("cases.intake")
def intake_address(request: HttpRequest) -> HttpResponse:
    """Address typed → matching dwellings/buildings (regions.address), scoped."""
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


@policy.page("cases.intake")
def intake_assist(request: HttpRequest) -> HttpResponse:
    """Description typed → top 3 categories and possible duplicates near the dwelling."""
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


# --- actions: the case action table's web form ---------------------------------------------------------------


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


def form_input(post: Any, action: str, files: Any = None) -> actions.Input:
    """The action table's input from the case page's forms (the same fields as the API's body)."""
    from tongxin.core.models import User
    from tongxin.regions.models import PropertyCompany

    inp = actions.Input.of(
        post.get,
        primary=post.get("into", ""),
        department_ids=[int(i) for i in post.getlist("departments") if i.isdigit()],
        photos=list(files.getlist("photos")) if files is not None else [],
    )
    if action == "on-site":
        inp.at = _local_time(post.get("at", ""))
        inp.latitude, inp.longitude = _float(post.get("latitude")), _float(post.get("longitude"))
    if action in ("dispatch", "transfer"):
        kind, _sep, ident = post.get("target", "").partition(":")
        if kind == "user":
            inp.target["assignee"] = get_object_or_404(User, pk=ident, is_active=True)
        elif kind == "department":
            inp.target["department"] = get_object_or_404(Department, pk=ident)
        elif kind == "company":
            inp.target["property_company"] = get_object_or_404(PropertyCompany, pk=ident)
        elif kind == "auto" and action == "dispatch":
            inp.round_robin = True  # next on-duty handler of the category
        else:
            raise CaseError(_("请选择承办人或承办单位"))
    return inp


def _local_time(raw: str) -> Any:
    """A ``datetime-local`` value (the phone's wall clock, Beijing time) as an aware datetime, or None."""
    import datetime as dt

    if not raw:
        return None
    try:
        return timezone.make_aware(dt.datetime.fromisoformat(raw))
    except ValueError:
        raise CaseError(_("到场时间格式不正确"), code="bad_time") from None


def _float(raw: Any) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


urlpatterns = [
    path("", workbench, name="workbench"),
    path("intake/", intake, name="intake"),
    path("intake/caller/", intake_caller, name="intake_caller"),
    path("intake/address/", intake_address, name="intake_address"),
    path("intake/assist/", intake_assist, name="intake_assist"),
    path("<int:pk>/", case_detail, name="case_detail"),
    path("<int:pk>/do/<slug:action>/", case_action, name="case_action"),
]
