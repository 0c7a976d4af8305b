"""Care pages: the visit list and the visit record (phone), plans, health services (staff) and the resident's
health services (phone), plus :func:`due_visits_context` for the grid worker's home page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.care import services
from tongxin.care.choices import OPEN_VISIT_STATES, VisitState
from tongxin.care.forms import HealthForm, PlanForm, VisitForm
from tongxin.care.models import HealthService, HealthSignUp, Visit, VisitPlan
from tongxin.core import policy
from tongxin.people.choices import TagSensitivity
from tongxin.people.models import Resident

PAGE = 30
DUE_LIMIT = 8


def _error(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(str(m) for m in exc.messages))


def visible_visits(user: Any) -> Any:
    return policy.restrict(Visit.objects.all(), user, "care.view_visits")


def due_visits_context(user: Any, today: Any = None, limit: int = DUE_LIMIT) -> dict[str, Any]:
    """For the grid worker's home page (``{% include "care/_due_visits.html" %}``): the user's open visits,
    overdue first. Three queries; empty for users who may not see visits."""
    if not policy.can(user, "care.view_visits"):
        return {"care_due": None}
    today = today or timezone.localdate()
    qs = visible_visits(user).filter(state__in=OPEN_VISIT_STATES, due_on__lte=today + dt.timedelta(days=7))
    counts = {
        "overdue": qs.filter(state=VisitState.OVERDUE).count(),
        "due": qs.filter(state=VisitState.DUE).count(),
    }
    rows = list(
        qs.select_related(
            "resident", "dwelling__estate", "dwelling__building", "dwelling__entrance"
        ).order_by("-state", "due_on", "pk")[:limit]  # "overdue" sorts after "due": descending puts it first
    )
    return {"care_due": {"rows": rows, "counts": counts, "today": today}}


def _categories() -> list[tuple[str, str]]:
    from tongxin.cases.models import Category

    return [(str(c.pk), c.name) for c in Category.objects.filter(active=True).order_by("pk")[:200]]


@policy.page("care.view_visits")
def visit_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    qs = visible_visits(request.user).select_related(
        "resident", "dwelling__estate", "dwelling__building", "dwelling__entrance", "plan"
    )
    if state == "open":
        qs = qs.filter(state__in=OPEN_VISIT_STATES).order_by("-state", "due_on", "pk")
    elif state in VisitState.values:
        qs = qs.filter(state=state).order_by("-due_on", "-pk")
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "care/visit_list.html",
        {"page": page, "state": state, "query": f"state={state}", "states": VisitState.choices},
    )


@policy.page("care.view_visits", model="care.Visit")
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = policy.get_or_deny(
        Visit.objects.select_related(
            "resident",
            "household__head",
            "dwelling__estate",
            "dwelling__building",
            "dwelling__entrance",
            "plan",
            "visitor",
            "case",
        ),
        request.user,
        "care.view_visits",
        pk=pk,
    )
    form = VisitForm(request.POST or None, request.FILES or None, categories=_categories())
    if request.method == "POST":
        decision = policy.decide(request.user, "care.record_visit", visit)
        if decision is policy.Decision.NOT_FOUND:
            raise Http404
        if decision is not policy.Decision.ALLOW:
            raise PermissionDenied(policy.reason("care.record_visit"))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.record_visit(
                    request.user,
                    visit,
                    findings=d["findings"],
                    follow_up=d["follow_up"],
                    category=d["category"] or None,
                    photos=[d["photo"]] if d["photo"] else [],
                )
            except ValidationError as exc:
                _error(request, exc)
            else:
                messages.success(request, _("走访已登记"))
                return redirect("care:visit", pk=visit.pk)
    tags = list(visit.resident.tags.exclude(sensitivity=TagSensitivity.RESTRICTED)) if visit.resident else []
    return render(
        request,
        "care/visit_detail.html",
        {"visit": visit, "form": form, "tags": tags, "events": visit.events.select_related("actor")},
    )


@policy.page("care.view_plans")
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = policy.restrict(
        VisitPlan.objects.select_related("community", "grid", "tag"), request.user, "care.view_plans"
    )
    form = PlanForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            plan = services.create_plan(
                request.user,
                name=d["name"],
                community=d["community"],
                grid=d["grid"],
                kind=d["kind"],
                tag=d["tag"],
                interval_days=d["interval_days"],
            )
            n = services.schedule(plan)
        except ValidationError as exc:
            _error(request, exc)
        except policy.PolicyDenied as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("计划已建立，生成待走访%(n)d次") % {"n": n})
            return redirect("care:plans")
    return render(request, "care/plan_list.html", {"plans": plans, "form": form})


@policy.page("care.view_health")
def health_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(HealthService.objects.select_related("community"), request.user, "care.view_health")
    form = HealthForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        tags = list(d.pop("tags"))
        if timezone.is_naive(d["starts_at"]):
            d["starts_at"] = timezone.make_aware(d["starts_at"])
        try:
            s = services.create_health_service(request.user, tags=tags, **d)
        except ValidationError as exc:
            _error(request, exc)
        except policy.PolicyDenied as exc:
            messages.error(request, exc.message)
        else:
            return redirect("care:health", pk=s.pk)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(request, "care/health_list.html", {"page": page, "form": form})


@policy.page("care.view_health", model="care.HealthService")
def health_detail(request: HttpRequest, pk: int) -> HttpResponse:
    service = policy.get_or_deny(
        HealthService.objects.select_related("community"), request.user, "care.view_health", pk=pk
    )
    if request.method == "POST":
        resident = (
            Resident.objects.visible_to(request.user).filter(pk=request.POST.get("resident") or 0).first()
        )
        try:
            if resident is None:
                raise ValidationError(_("请选择居民"))
            services.sign_up(request.user, service, resident)
        except ValidationError as exc:
            _error(request, exc)
        except policy.PolicyDenied as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已报名"))
        return redirect("care:health", pk=service.pk)
    signups = service.signups.select_related("resident").order_by("at", "pk")
    eligible = (
        services.eligible(service).exclude(pk__in=signups.values("resident_id")).order_by("name", "pk")[:200]
    )
    return render(
        request,
        "care/health_detail.html",
        {"service": service, "signups": signups, "eligible": eligible, "tags": service.tags.all()},
    )


@policy.page("care.my_health")
def my_health(request: HttpRequest) -> HttpResponse:
    resident = (
        Resident.objects.filter(user_id=request.user.pk or 0, status="active")
        .select_related("dwelling")
        .first()
    )
    rows = services.open_services_for(resident) if resident else []
    return render(request, "care/my_health.html", {"rows": rows, "resident": resident})


@require_POST
@policy.page("care.sign_up_self", model="care.HealthService")
def my_health_sign_up(request: HttpRequest, pk: int) -> HttpResponse:
    service = policy.get_or_deny(HealthService.objects.all(), request.user, "care.sign_up_self", pk=pk)
    resident = services.eligible(service).filter(user_id=request.user.pk or 0).first()
    if resident is None:  # the rule's condition said yes a moment ago
        raise Http404
    try:
        if "cancel" in request.POST:
            signup = HealthSignUp.objects.filter(
                service=service, resident=resident, state="signed_up"
            ).first()
            if signup is None:
                raise Http404
            services.cancel_sign_up(request.user, signup)
            messages.success(request, _("已取消报名"))
        else:
            services.sign_up(request.user, service, resident)
            messages.success(request, _("报名成功"))
    except ValidationError as exc:
        _error(request, exc)
    return redirect("care:my_health")


app_name = "care"
urlpatterns = [
    path("", visit_list, name="visits"),
    path("<int:pk>/", visit_detail, name="visit"),
    path("plans/", plan_list, name="plans"),
    path("health/", health_list, name="health_list"),
    path("health/<int:pk>/", health_detail, name="health"),
    path("m/health/", my_health, name="my_health"),
    path("m/health/<int:pk>/", my_health_sign_up, name="my_health_sign_up"),
]
