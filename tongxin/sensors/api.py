"""Sensors API (/api/v1/sensors/): devices, readings and alerts for staff (within the policy), map markers and
tiles, and the gateways' endpoint that posts a batch of readings with a device token.

Gateways: ``POST /api/v1/sensors/readings`` with ``Authorization: Bearer dev_…`` (the device's token, issued on
the device page) and ``{"readings": [{"t": "2026-03-01T08:00:00+08:00", "v": 0.32}, …]}`` (at most 5,000).
Idempotent per device and timestamp: posting the same batch again stores nothing new and answers ``duplicates``.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.security import HttpBearer

from tongxin.core import policy
from tongxin.core.api import ERRORS, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.sensors import overview, services
from tongxin.sensors.choices import OPEN_ALERT_STATES, Source
from tongxin.sensors.ingest import MAX_BATCH, DeviceState, Ingestor
from tongxin.sensors.models import Alert, Device

router = Router(tags=["sensors"])


class DeviceToken(HttpBearer):
    """A gateway's device token (``dev_…``); the authenticated object is the :class:`Device`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return services.device_for_token(token)


class DeviceOut(Schema):
    id: int
    serial: str
    name: str
    kind: str
    unit: str
    place: str
    estate_id: int | None
    dwelling_id: int | None
    latitude: float | None
    longitude: float | None
    low: float | None
    high: float | None
    rate_per_minute: float | None
    silence_minutes: int | None
    property_company_id: int | None
    department_id: int | None
    active: bool
    online: bool
    last_measured_at: dt.datetime | None
    last_value: float | None


class AlertOut(Schema):
    id: int
    device_id: int
    device_name: str = Field(alias="device.name")
    rule: str
    state: str
    case_id: int | None
    case_number: str | None = Field(None, alias="case.number")
    opened_at: dt.datetime
    recovered_at: dt.datetime | None
    closed_at: dt.datetime | None
    first_value: float | None
    last_value: float | None
    crossings: int


class SeriesOut(Schema):
    device: str
    unit: str
    low: float | None
    high: float | None
    t: list[str]
    v: list[float]


class ReadingIn(Schema):
    t: Any = Field(description="ISO 8601 with offset, or Unix seconds (milliseconds above 10^11)")
    v: Any = Field(description="the value, a number in the device's unit")


class BatchIn(Schema):
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)


class RejectedOut(Schema):
    index: int
    reason: str


class BatchOut(Schema):
    stored: int
    duplicates: int
    rejected: list[RejectedOut]


class MarkerOut(Schema):
    id: int
    name: str
    kind: str
    place: str
    lat: float
    lng: float
    status: str = Field(description="ok, offline or alert")
    value: float | None
    unit: str
    url: str


class EstateAlertsOut(Schema):
    estate_id: int | None = Field(alias="device__estate_id")
    estate: str | None = Field(alias="device__estate__name")
    open: int
    active: int


class OverviewOut(Schema):
    total: int
    online: int
    offline: int
    open_alerts: list[EstateAlertsOut]


@router.get("/devices", response={200: Paged[DeviceOut], **ERRORS}, summary="Devices the caller may see")
@policy.operation("sensors.view_device")
def list_devices(
    request: HttpRequest,
    kind: str = "",
    estate: int | None = None,
    online: bool | None = None,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    qs = policy.restrict(Device.objects.all(), request.user, "sensors.view_device").order_by("pk")
    if kind:
        qs = qs.filter(kind=kind)
    if estate:
        qs = qs.filter(estate_id=estate)
    if online is not None:
        qs = qs.filter(online=online)
    return paginate(qs, page, page_size)


@router.get("/devices/{int:device_id}", response={200: DeviceOut, **ERRORS}, summary="One device")
@policy.operation("sensors.view_device", model="sensors.Device")
def get_device(request: HttpRequest, device_id: int) -> Device:
    return policy.get_or_deny(Device.objects.all(), request.user, "sensors.view_device", pk=device_id)


@router.get(
    "/devices/{int:device_id}/readings",
    response={200: SeriesOut, **ERRORS},
    summary="A device's readings (thinned to at most 1,500 points; default: the last 7 days)",
)
@policy.operation("sensors.view_device", model="sensors.Device")
def device_readings(
    request: HttpRequest, device_id: int, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict:
    device = policy.get_or_deny(Device.objects.all(), request.user, "sensors.view_device", pk=device_id)
    end = until or timezone.now()
    return overview.series(device, since or end - dt.timedelta(days=7), end)


@router.get("/alerts", response={200: Paged[AlertOut], **ERRORS}, summary="Alerts of the caller's devices")
@policy.operation("sensors.view_alert")
def list_alerts(
    request: HttpRequest, open: bool | None = None, page: int = PageNumber, page_size: int = PageSize
) -> dict:
    qs = policy.restrict(Alert.objects.all(), request.user, "sensors.view_alert")
    if open is True:
        qs = qs.filter(state__in=OPEN_ALERT_STATES)
    elif open is False:
        qs = qs.exclude(state__in=OPEN_ALERT_STATES)
    return paginate(qs.select_related("device", "case").order_by("-opened_at", "-id"), page, page_size)


@router.get(
    "/markers", response={200: Paged[MarkerOut], **ERRORS}, summary="Map markers: devices and status, paged"
)
@policy.operation("sensors.view_overview")
def markers(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> dict:
    items = overview.markers(policy.restrict(Device.objects.all(), request.user, "sensors.view_device"))
    return paginate_list(items, page, page_size)


@router.get("/overview", response={200: OverviewOut, **ERRORS}, summary="Devices online/offline, open alerts")
@policy.operation("sensors.view_overview")
def get_overview(request: HttpRequest) -> dict:
    devices = policy.restrict(Device.objects.all(), request.user, "sensors.view_device")
    alerts = policy.restrict(Alert.objects.all(), request.user, "sensors.view_alert")
    return {**overview.counts(devices), "open_alerts": overview.open_alerts_by_estate(alerts)}


@router.post(
    "/readings",
    auth=DeviceToken(),
    response={200: BatchOut, **ERRORS},
    summary="A gateway posts a batch of its device's readings (device token; idempotent per timestamp)",
)
@policy.public
def post_readings(request: HttpRequest, payload: BatchIn) -> dict:
    # Not a user action: the device token (auth above) is the whole authority, and it names the device.
    device: Device = request.auth  # type: ignore[attr-defined]
    state = DeviceState.of(device)
    outcome = Ingestor(Source.HTTP).process([(state, r.t, r.v) for r in payload.readings])
    return {
        "stored": outcome.stored,
        "duplicates": outcome.duplicates,
        "rejected": [{"index": i, "reason": reason} for i, reason in outcome.rejected],
    }
