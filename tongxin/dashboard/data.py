"""What the dashboard shows for a region and a period, computed once and rendered as HTML, .xlsx or PDF.

Every rate comes from :mod:`tongxin.cases.rates` (the rollup tables and their formulas); this module only picks
the slice, groups the periods for the trend lines and looks up names.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.cases import rates as case_rates
from tongxin.cases.choices import OPEN_STATES, Channel, EventType
from tongxin.cases.models import ROLLUP_COUNTERS, Case, CaseEvent, Category
from tongxin.core import policy
from tongxin.core.models import User
from tongxin.regions.choices import ABOVE_SUBDISTRICT
from tongxin.regions.models import Department, Grid, Region

RATE_NAMES = (
    "response",
    "resolution",
    "resolution_in_time",
    "satisfaction",
    "satisfaction_online",
    "rectification",
    "composite",
)


def rate_labels() -> dict[str, str]:
    return {
        "response": _("响应率"),
        "resolution": _("解决率"),
        "resolution_in_time": _("按期办结率"),
        "satisfaction": _("满意率"),
        "satisfaction_online": _("满意率（不含电话回访）"),
        "rectification": _("意见箱整改率"),
        "composite": _("综合得分"),
    }


@dataclass
class Report:
    region: Region
    start: dt.date
    end: dt.date
    counters: dict[str, int]
    rates: dict[str, float | None]
    trend: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    grids: list[dict[str, Any]] = field(default_factory=list)
    # a city's districts or a district's subdistricts, each with its rates (empty below the district level)
    children: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    open_cases: int = 0
    overdue_cases: int = 0
    yellow_cases: int = 0
    red_cases: int = 0


def regions_for(user: Any, action: str = "dashboard.view") -> list[Region]:
    """The cities, districts, subdistricts and communities the user may do ``action`` to (see
    dashboard/policy.py), biggest first."""
    regions = Region.objects.filter(kind__in=["city", "district", "subdistrict", "community"])
    return list(policy.restrict(regions, user, action).order_by("depth", "path"))


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last 90 days up to today."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=89), today


def _pct_rates(c: dict[str, int], by_handler: bool = False) -> dict[str, float | None]:
    return case_rates.rates_from(c, by_handler=by_handler)


def build(user: Any, region: Region, start: dt.date, end: dt.date) -> Report:
    filters = case_rates.Filters.for_region(region, start=start, end=end)
    total = case_rates.rates(filters)
    report = Report(region=region, start=start, end=end, counters=total["counters"], rates=total["rates"])

    # trend: by month when the period is long, by week otherwise (sum the daily rollups, then the formulas)
    by_month = (end - start).days > 62
    buckets: OrderedDict[str, dict[str, int]] = OrderedDict()
    for row in case_rates.rates_by("day", filters):
        day: dt.date = row["key"]
        if by_month:
            label = f"{day:%Y-%m}"
        else:
            monday = day - dt.timedelta(days=day.weekday())
            label = f"{monday:%m-%d}"
        bucket = buckets.setdefault(label, {k: 0 for k in ROLLUP_COUNTERS})
        for k, v in row["counters"].items():
            bucket[k] += v
    report.trend = [
        {"label": label, "received": c["received"], "rates": _pct_rates(c)} for label, c in buckets.items()
    ]

    channel_names = dict(Channel.choices)
    report.channels = [
        {
            "key": r["key"],
            "name": str(channel_names.get(r["key"], r["key"])),
            "received": r["counters"]["received"],
        }
        for r in case_rates.rates_by("channel", filters)
        if r["counters"]["received"]
    ]
    cats = case_rates.rates_by("category_id", filters)
    cat_names = dict(Category.objects.filter(pk__in=[r["key"] for r in cats]).values_list("pk", "name"))
    report.categories = sorted(
        (
            {"name": cat_names.get(r["key"], "—"), "received": r["counters"]["received"], "rates": r["rates"]}
            for r in cats
            if r["counters"]["received"]
        ),
        key=lambda r: -r["received"],
    )
    grids = [r for r in case_rates.rates_by("grid_id", filters) if r["key"]]
    grid_rows = {
        g.pk: g for g in Grid.objects.filter(pk__in=[r["key"] for r in grids]).select_related("community")
    }
    report.grids = sorted(
        (
            {
                "name": f"{grid_rows[r['key']].community.name} · {grid_rows[r['key']].name}"
                if r["key"] in grid_rows
                else str(r["key"]),
                "received": r["counters"]["received"],
                "rates": r["rates"],
            }
            for r in grids
        ),
        key=lambda r: (-(r["rates"]["composite"] or 0), -r["received"]),
    )
    if region.kind in ABOVE_SUBDISTRICT:
        report.children = _children(region, filters)
        departments = Department.objects.filter(subdistrict__path__startswith=region.path)
    else:
        subdistrict_id = region.pk if region.kind == "subdistrict" else region.parent_id
        departments = Department.objects.filter(subdistrict_id=subdistrict_id)
    dept_ids = list(departments.values_list("pk", flat=True))
    start_dt = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    end_dt = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    report.departments = case_rates.whistle_stats(department_ids=dept_ids, start=start_dt, end=end_dt)

    community_ids = list(filters.community_ids or ())
    claims: list[Any] = list(
        CaseEvent.objects.filter(
            type=EventType.CLAIMED, community_ref__in=community_ids, at__gte=start_dt, at__lt=end_dt
        )
        .values("actor_id")
        .annotate(n=Count("id"))
        .order_by("-n", "actor_id")[:20]
    )
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[c["actor_id"] for c in claims])}
    report.members = [{"name": names.get(c["actor_id"], "—"), "claims": c["n"]} for c in claims]

    live = Case.objects.visible_to(user).filter(state__in=OPEN_STATES, community_id__in=community_ids)
    agg = live.aggregate(
        n=Count("id"),
        late=Count("id", filter=Q(overdue=True)),
        yellow=Count("id", filter=Q(supervision="yellow")),
        red=Count("id", filter=Q(supervision="red")),
    )
    report.open_cases, report.overdue_cases = agg["n"], agg["late"]
    report.yellow_cases, report.red_cases = agg["yellow"], agg["red"]
    return report


def _children(region: Region, filters: case_rates.Filters) -> list[dict[str, Any]]:
    """The rates of each district of a city or each subdistrict of a district: the communities' rollups (one
    query) summed per child by the child's path, then the same formulas as everywhere."""
    children = list(Region.objects.filter(parent=region).order_by("path"))
    if not children:
        return []
    owner: dict[int, int] = {}  # community → child
    for child in children:
        for pk in Region.objects.filter(path__startswith=child.path, kind="community").values_list(
            "pk", flat=True
        ):
            owner[pk] = child.pk
    sums = {c.pk: {k: 0 for k in ROLLUP_COUNTERS} for c in children}
    for row in case_rates.rates_by("community_id", filters):
        child_id = owner.get(row["key"])
        if child_id is None:
            continue
        for k, v in row["counters"].items():
            sums[child_id][k] += v
    return sorted(
        (
            {
                "region": c,
                "name": c.name,
                "received": sums[c.pk]["received"],
                "rates": _pct_rates(sums[c.pk]),
            }
            for c in children
        ),
        key=lambda r: (-(r["rates"]["composite"] or 0), -r["received"], r["name"]),
    )


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
