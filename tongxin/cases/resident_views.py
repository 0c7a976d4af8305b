"""The resident's phone pages (H5, 375 px first): submit a request, follow it, rate it; the suggestion box.

Thin views: every write is a call to :mod:`tongxin.cases.services`; every read goes through
``Case.objects.visible_to(user)``, so a resident only ever reaches the cases they reported (404 otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.cases import services
from tongxin.cases.choices import CaseError, Channel, EventType
from tongxin.cases.forms import (
    MAX_PHOTOS,
    NotFixedForm,
    RateForm,
    ReceiptForm,
    ResidentCaseForm,
    SuggestionBoxForm,
)
from tongxin.cases.models import Case, Category
from tongxin.core import policy
from tongxin.people.models import Resident

COMMON_CATEGORIES = 6
# Timeline entries a resident sees (internal ones such as sweeps and rotations stay on the staff side).
PUBLIC_EVENTS = {
    EventType.SUBMITTED,
    EventType.ACCEPTED,
    EventType.REJECTED,
    EventType.DISPATCHED,
    EventType.OPENED_FOR_CLAIMING,
    EventType.CLAIMED,
    EventType.STARTED,
    EventType.ON_SITE,
    EventType.PLAN_RECORDED,
    EventType.WHISTLED,
    EventType.REPORTED_IN,
    EventType.RESOLVED,
    EventType.RATED,
    EventType.NOT_FIXED,
    EventType.FOLLOW_UP_CALL,
    EventType.CLOSED,
    EventType.MERGED,
}

phone_login_required = login_required(login_url="core:phone_login")


def _resident(user: Any) -> Resident | None:
    return Resident.objects.filter(user=user).select_related("dwelling").first()


def _map_centre(resident: Resident | None) -> str:
    """Where the point picker opens: the resident's building (or estate), else the demo subdistrict."""
    if resident is not None and resident.dwelling is not None:
        from tongxin.regions.models import Region

        for lat, lng in Region.objects.filter(
            pk__in=[resident.dwelling.building_id, resident.dwelling.estate_id], latitude__isnull=False
        ).values_list("latitude", "longitude"):
            return f"{lat},{lng}"
    return ""


# Staff's tiers, not a resident's words: a resident reports 房屋报修 (or 房屋漏水); staff file it as 小修/中修/大修
# (and re-categorise later), 复杂疑难 and 物业疑难 are the handlers' judgement.
STAFF_ONLY_CATEGORIES = ("repairs-small", "repairs-medium", "repairs-large", "property-complex", "complex")


def categories_common_first(resident: Resident | None) -> list[Category]:
    """Active categories a resident would name, the ones most reported in the resident's community in the last
    90 days first."""
    cats = list(
        Category.objects.filter(active=True)
        .exclude(service_code__in=STAFF_ONLY_CATEGORIES)
        .order_by("sort_order", "id")
    )
    since = timezone.now() - dt.timedelta(days=90)
    where = Q(submitted_at__gte=since)
    if resident is not None and resident.dwelling is not None:
        where &= Q(community_id=resident.dwelling.community_id)
    counts = dict(Case.objects.filter(where).values_list("category_id").annotate(n=Count("id")))
    return sorted(cats, key=lambda c: (-counts.get(c.pk, 0), c.parent_id is not None, c.sort_order, c.pk))


@phone_login_required
@policy.page("cases.report")
def home(request: HttpRequest) -> HttpResponse:
    cases = list(
        policy.restrict(Case.objects.all(), request.user, "cases.view_mine")
        .select_related("category")
        .order_by("-submitted_at", "-id")[:50]
    )
    return render(request, "cases/resident/home.html", {"cases": cases})


@phone_login_required
@policy.page("cases.report")
def submit(request: HttpRequest) -> HttpResponse:
    resident = _resident(request.user)
    form = ResidentCaseForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        where = data["where"]
        location: dict[str, Any] = {}
        if where == "home" and resident is not None and resident.dwelling_id:
            location["dwelling"] = resident.dwelling
        elif where == "map":
            location.update(latitude=data["latitude"], longitude=data["longitude"], address=data["address"])
        else:
            location["address"] = data["address"]
        try:
            case = services.submit(
                actor=request.user,
                channel=Channel.RESIDENT_APP,
                category=data["category"],
                description=data["description"],
                reporter=resident,
                photos=form.all_photos(),
                **location,
            )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已提交，工单号 %(n)s") % {"n": case.number})
            return redirect("cases:resident_case", pk=case.pk)
    return render(
        request,
        "cases/resident/submit.html",
        {
            "form": form,
            "categories": categories_common_first(resident),
            "common": COMMON_CATEGORIES,
            "resident": resident,
            "centre": _map_centre(resident),
            "tile_url": settings.TILE_URL,
            "outlines": _outlines(resident),
            "max_photos": MAX_PHOTOS,
        },
    )


def _outlines(resident: Resident | None) -> list[dict[str, Any]]:
    """The grid outlines of the resident's community, drawn on the point picker so that it shows where one is
    even without a tile server (an intranet deployment often has none)."""
    if resident is None or resident.dwelling is None:
        return []
    from tongxin.regions.models import Grid

    return [
        {"name": name, "polygon": polygon}
        for name, polygon in Grid.objects.filter(
            community_id=resident.dwelling.community_id, polygon__isnull=False
        ).values_list("name", "polygon")[:20]
    ]


def _my_case(request: HttpRequest, pk: int, action: str = "cases.view_mine") -> Case:
    return policy.get_or_deny(
        Case.objects.select_related("category", "dwelling"), request.user, action, pk=pk
    )


@phone_login_required
@policy.page("cases.view_mine", model="cases.Case")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _my_case(request, pk)
    events = [e for e in case.events.select_related("actor").order_by("at", "id") if e.type in PUBLIC_EVENTS]
    return render(
        request,
        "cases/resident/case.html",
        {
            "case": case,
            "events": events,
            "rate_form": RateForm(),
            "not_fixed_form": NotFixedForm(),
            "photos": list(case.photos.all()),
        },
    )


@phone_login_required
@require_POST
@policy.page("cases.rate", model="cases.Case")
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    case = _my_case(request, pk, "cases.rate")
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            services.confirm_and_rate(
                case, request.user, form.cleaned_data["rating"], form.cleaned_data["comment"]
            )
            messages.success(request, _("感谢您的评价"))
        except CaseError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("请选择评价"))
    return redirect("cases:resident_case", pk=case.pk)


@phone_login_required
@require_POST
@policy.page("cases.rate", model="cases.Case")
def not_fixed(request: HttpRequest, pk: int) -> HttpResponse:
    case = _my_case(request, pk, "cases.rate")
    form = NotFixedForm(request.POST)
    if form.is_valid():
        try:
            services.not_fixed(case, request.user, form.cleaned_data["reason"])
            messages.success(request, _("已反馈给承办人，将重新办理"))
        except CaseError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("请说明未解决的原因"))
    return redirect("cases:resident_case", pk=case.pk)


@policy.page("cases.suggestion_box")
def suggestion_box(request: HttpRequest) -> HttpResponse:
    """群众意见箱: anonymous; the receipt code is the only way back to the outcome."""
    form = SuggestionBoxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = services.submit(
                actor=None,
                channel=Channel.SUGGESTION_BOX,
                category=data.get("category") or _box_category(data["description"]),
                description=data["description"],
                address=data.get("address") or "",
                anonymous=True,
            )
        except CaseError as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, "cases/resident/receipt.html", {"case": case, "fresh": True})
    return render(request, "cases/resident/box.html", {"form": form})


def _box_category(text: str) -> Any:
    """A suggestion without a category: the suggested one, else the first community-handled category."""
    from tongxin.cases.suggest import suggest

    top = suggest(text, k=1)
    if top:
        return top[0].code
    fallback = (
        Category.objects.filter(active=True, parent__isnull=True, handler_kind="community_staff")
        .order_by("sort_order", "id")
        .first()
    )
    return fallback or Category.objects.filter(active=True).order_by("sort_order", "id").first()


@policy.page("cases.receipt")
def receipt_lookup(request: HttpRequest) -> HttpResponse:
    """Anyone holding a case number and its receipt code sees the outcome (state, result, dates) — never who
    reported it."""
    form = ReceiptForm(request.GET or None)
    case = None
    if form.is_valid():
        case = services.lookup_by_receipt(
            form.cleaned_data["number"].strip(), form.cleaned_data["code"].strip()
        )
        if case is None:
            form.add_error("code", _("工单号或查询码不正确"))
    return render(request, "cases/resident/receipt.html", {"form": form, "case": case})


urlpatterns = [
    path("m/", home, name="resident_home"),
    path("m/new/", submit, name="resident_submit"),
    path("m/<int:pk>/", case_detail, name="resident_case"),
    path("m/<int:pk>/rate/", rate, name="resident_rate"),
    path("m/<int:pk>/not-fixed/", not_fixed, name="resident_not_fixed"),
    path("box/", suggestion_box, name="suggestion_box"),
    path("receipt/", receipt_lookup, name="receipt"),
]
