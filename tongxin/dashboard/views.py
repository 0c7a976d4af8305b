"""The grid map (一图) and the dashboard (数据看板). Thin views: data comes from scoped querysets and
``tongxin.cases.rates``; nothing here decides a business rule. Each view declares its action
(``dashboard/policy.py``); grids and regions come through ``policy.get_or_deny``/``restrict``. Every view reads
from the streaming replica when one is configured (``tongxin/core/replica.py``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from tongxin.cases.choices import OPEN_STATES
from tongxin.cases.models import Case
from tongxin.core import policy
from tongxin.core.exports import attachment
from tongxin.core.replica import reads_from_replica
from tongxin.party.models import PartyMember
from tongxin.regions.models import Grid

MAX_POINTS = 1000


def grid_colour(open_count: int, overdue: int) -> str:
    """Fill colour of a grid: red when anything is overdue, amber when busy, green otherwise."""
    if overdue:
        return "#b3261e"
    if open_count >= 5:
        return "#d97706"
    if open_count:
        return "#e3b341"
    return "#2da44e"


@policy.page("dashboard.view_map")
@reads_from_replica
def grid_map(request: HttpRequest) -> HttpResponse:
    user = request.user
    grids = list(
        policy.restrict(Grid.objects.all(), user, "dashboard.view_map")
        .select_related("community")
        .only("id", "name", "community__name", "polygon")
    )
    open_cases = Case.objects.visible_to(user).filter(state__in=OPEN_STATES)
    counts = {
        row["grid_id"]: row
        for row in open_cases.values("grid_id").annotate(
            n=Count("id"), late=Count("id", filter=Q(overdue=True))
        )
    }
    features = []
    for g in grids:
        c = counts.get(g.pk, {"n": 0, "late": 0})
        features.append(
            {
                "id": g.pk,
                "name": g.name,
                "community": g.community.name,
                "polygon": g.polygon,
                "open": c["n"],
                "overdue": c["late"],
                "colour": grid_colour(c["n"], c["late"]),
                "detail": reverse("dashboard:grid_panel", args=[g.pk]),
            }
        )
    points = [
        {
            "lat": lat,
            "lng": lng,
            "number": number,
            "title": title[:40],
            "overdue": overdue,
            "url": reverse("cases:case_detail", args=[pk]),
        }
        for pk, number, title, lat, lng, overdue in open_cases.filter(
            latitude__isnull=False, longitude__isnull=False
        )
        .order_by("-submitted_at")
        .values_list("pk", "number", "title", "latitude", "longitude", "overdue")[:MAX_POINTS]
    ]
    return render(
        request,
        "dashboard/map.html",
        {
            "map_data": {
                "grids": features,
                "points": points,
                "tile_url": settings.TILE_URL,
                "tile_attribution": settings.TILE_ATTRIBUTION,
            },
            "grids": features,
        },
    )


@policy.page("dashboard.view_map", model="regions.Grid")
@reads_from_replica
def grid_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """A grid's roster, the members on duty there and its open cases (loaded into the map's side panel)."""
    grid = policy.get_or_deny(
        Grid.objects.select_related("community", "chief"), request.user, "dashboard.view_map", pk=pk
    )
    workers = list(grid.workers.order_by("pk"))
    members = list(
        PartyMember.objects.filter(active=True, resident__dwelling__grid=grid)
        .select_related("resident", "service_post")
        .order_by("pk")[:12]
    )
    on_duty = _on_duty(grid)
    cases = list(
        Case.objects.visible_to(request.user)
        .filter(grid=grid, state__in=OPEN_STATES)
        .select_related("category", "assignee")
        .order_by("resolve_by", "pk")[:30]
    )
    return render(
        request,
        "dashboard/_grid_panel.html",
        {
            "grid": grid,
            "workers": workers,
            "members": members,
            "on_duty": on_duty,
            "cases": cases,
            "now": timezone.now(),
        },
    )


def _on_duty(grid: Grid) -> list[Any]:
    """People on duty in the grid, from the participation app's provider when one is configured."""
    path = getattr(settings, "CASES_ON_DUTY_PROVIDER", "")
    if not path:
        return []
    from django.utils.module_loading import import_string

    try:
        provider = import_string(path)
        return list(provider(None, grid))
    except Exception:  # the provider belongs to another app; the map must still render without it
        return []


# --- dashboard (数据看板) -------------------------------------------------------------------------------------


def _report_args(request: HttpRequest, action: str) -> tuple[Any, Any, Any, list[Any]]:
    import datetime as dt

    from tongxin.dashboard import data

    regions = data.regions_for(request.user, action)
    if not regions:
        raise Http404
    region = regions[0]
    if request.GET.get("region"):
        chosen = next((r for r in regions if str(r.pk) == request.GET["region"]), None)
        if chosen is None:
            raise Http404
        region = chosen
    start, end = data.default_period()
    try:
        if request.GET.get("start"):
            start = dt.date.fromisoformat(request.GET["start"])
        if request.GET.get("end"):
            end = dt.date.fromisoformat(request.GET["end"])
    except ValueError:
        pass
    if end < start:
        start, end = end, start
    return region, start, end, regions


@policy.page("dashboard.view")
@reads_from_replica
def home(request: HttpRequest) -> HttpResponse:
    from tongxin.dashboard import data

    region, start, end, regions = _report_args(request, "dashboard.view")
    report = data.build(request.user, region, start, end)
    labels = data.rate_labels()
    kpis = [(labels[k], data.pct(report.rates.get(k))) for k in data.RATE_NAMES]
    charts = {
        "trend": {
            "labels": [t["label"] for t in report.trend],
            "series": {
                str(labels[k]): [
                    None if t["rates"][k] is None else round(t["rates"][k] * 100, 1) for t in report.trend
                ]
                for k in ("response", "resolution", "satisfaction", "composite")
            },
            "received": [t["received"] for t in report.trend],
        },
        "channels": {
            "labels": [c["name"] for c in report.channels],
            "values": [c["received"] for c in report.channels],
        },
        "categories": {
            "labels": [c["name"] for c in report.categories[:10]],
            "values": [c["received"] for c in report.categories[:10]],
        },
    }
    return render(
        request,
        "dashboard/home.html",
        {
            "report": report,
            "kpis": kpis,
            "charts": charts,
            "regions": regions,
            "region": region,
            "start": start,
            "end": end,
            "query": request.GET.urlencode(),
            "pct": data.pct,
        },
    )


@policy.page("dashboard.export")
@reads_from_replica
def export_xlsx(request: HttpRequest) -> HttpResponse:
    from tongxin.core import audit
    from tongxin.core.models import AuditLog
    from tongxin.dashboard import data, exports

    region, start, end, _regions = _report_args(request, "dashboard.export")
    report = data.build(request.user, region, start, end)
    body = exports.xlsx(report)
    audit.record(
        AuditLog.Action.EXPORT, region, after={"what": "dashboard.xlsx", "start": str(start), "end": str(end)}
    )
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = attachment(f"{region.name}-诉求统计-{start:%Y%m%d}-{end:%Y%m%d}.xlsx")
    return response


@policy.page("dashboard.export")
@reads_from_replica
def report_pdf(request: HttpRequest) -> HttpResponse:
    import datetime as dt

    from tongxin.core import audit
    from tongxin.core.models import AuditLog
    from tongxin.dashboard import data, exports

    region, start, end, _regions = _report_args(request, "dashboard.export")
    if "month" in request.GET:
        try:
            first = dt.date.fromisoformat(request.GET["month"] + "-01")
        except ValueError:
            raise Http404 from None
        start = first
        end = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    report = data.build(request.user, region, start, end)
    body = exports.pdf(report)
    audit.record(
        AuditLog.Action.EXPORT, region, after={"what": "report.pdf", "start": str(start), "end": str(end)}
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = attachment(f"{region.name}-诉求办理月报-{start:%Y年%m月}.pdf")
    return response
