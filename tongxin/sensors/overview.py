"""What the pages, the API, the case page, the dashboard tiles and the map read: a device's reading series
(thinned for a chart), devices online/offline, open alerts per estate, map markers. Read-only; every function takes
a queryset already restricted by the policy, so nothing here decides who sees what."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tongxin.sensors.choices import OPEN_ALERT_STATES, AlertState
from tongxin.sensors.models import Alert, Device, Reading

MAX_POINTS = 1500  # points per chart series


def series(
    device: Device, start: dt.datetime, end: dt.datetime, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """The device's readings between ``start`` and ``end`` as ``{"t": [...], "v": [...]}`` (ISO times), thinned
    to at most ``max_points`` by keeping every n-th reading plus the extremes of each stretch (so a short drop
    stays visible), with the thresholds to draw."""
    rows = list(
        Reading.objects.filter(device=device, measured_at__gte=start, measured_at__lte=end)
        .order_by("measured_at")
        .values_list("measured_at", "value")
    )
    if len(rows) > max_points:
        step = -(-len(rows) // (max_points // 2))
        kept = []
        for i in range(0, len(rows), step):
            chunk = rows[i : i + step]
            lo = min(chunk, key=lambda r: r[1])
            hi = max(chunk, key=lambda r: r[1])
            kept.extend(sorted({lo, hi}))
        rows = kept
    return {
        "device": device.name,
        "unit": device.unit,
        "low": device.low,
        "high": device.high,
        "t": [timezone.localtime(t).isoformat() for t, _v in rows],
        "v": [v for _t, v in rows],
    }


def alert_window(alert: Alert) -> tuple[dt.datetime, dt.datetime]:
    """A day before the alert to a day after its end (or now)."""
    end = alert.closed_at or timezone.now()
    return alert.opened_at - dt.timedelta(days=1), min(timezone.now(), end + dt.timedelta(days=1))


def counts(devices: QuerySet[Device]) -> dict[str, int]:
    """Devices in service, online and offline (one query)."""
    row = devices.filter(active=True).aggregate(total=Count("pk"), online=Count("pk", filter=Q(online=True)))
    return {"total": row["total"], "online": row["online"], "offline": row["total"] - row["online"]}


def open_alerts_by_estate(alerts: QuerySet[Alert]) -> list[dict[str, Any]]:
    """Open alerts per estate, busiest first (one query)."""
    rows = (
        alerts.filter(state__in=OPEN_ALERT_STATES)
        .values("device__estate_id", "device__estate__name")
        .annotate(
            open=Count("pk"),
            active=Count("pk", filter=Q(state=AlertState.ACTIVE)),
        )
        .order_by("-open", "device__estate__name")
    )
    return [dict(r) for r in rows]


def markers(devices: QuerySet[Device], limit: int = 2000) -> list[dict[str, Any]]:
    """One marker per located device: status ``alert`` (an active alert), ``offline`` or ``ok`` (two queries)."""
    rows = list(
        devices.filter(active=True, latitude__isnull=False, longitude__isnull=False)
        .order_by("pk")
        .values("pk", "name", "kind", "place", "latitude", "longitude", "online", "last_value", "unit")[
            :limit
        ]
    )
    alarmed = set(
        Alert.objects.filter(device_id__in=[r["pk"] for r in rows], state=AlertState.ACTIVE).values_list(
            "device_id", flat=True
        )
    )
    labels = dict(Device.Kind.choices)
    out = []
    for r in rows:
        status = "alert" if r["pk"] in alarmed else "ok" if r["online"] else "offline"
        out.append(
            {
                "id": r["pk"],
                "name": r["name"],
                "kind": str(labels.get(r["kind"], r["kind"])),
                "place": r["place"],
                "lat": r["latitude"],
                "lng": r["longitude"],
                "status": status,
                "value": r["last_value"],
                "unit": r["unit"],
                "url": reverse("sensors:device_detail", args=[r["pk"]]),
            }
        )
    return out
