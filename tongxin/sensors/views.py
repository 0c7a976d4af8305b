"""Sensors pages (智能感知): devices and their readings, alerts, meters, care signals, ingestion counters, and the
JSON the charts, the case page and the grid map read. Thin: the policy says who sees what, services write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.sensors import overview, services
from tongxin.sensors.choices import OPEN_ALERT_STATES, CareSignalState, DeviceKind, SensorError
from tongxin.sensors.forms import CareVisitForm, DeviceForm, ThresholdForm
from tongxin.sensors.models import Alert, CareSignal, Device, IngestCount, MeterMonth

PAGE_SIZE = 50


def _query(request: HttpRequest) -> str:
    """The list's filters as a query string, for the pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _devices(request: HttpRequest) -> Any:
    return policy.restrict(Device.objects.all(), request.user, "sensors.view_device")


def _alerts(request: HttpRequest) -> Any:
    return policy.restrict(Alert.objects.all(), request.user, "sensors.view_alert")


@policy.page("sensors.view_device")
def device_list(request: HttpRequest) -> HttpResponse:
    devices = _devices(request)
    qs = devices.select_related("estate", "building", "property_company", "department").order_by(
        "estate__name", "kind", "serial"
    )
    kind = request.GET.get("kind", "")
    if kind in DeviceKind.values:
        qs = qs.filter(kind=kind)
    status = request.GET.get("status", "")
    if status == "online":
        qs = qs.filter(online=True)
    elif status == "offline":
        qs = qs.filter(online=False, active=True)
    elif status == "alert":
        qs = qs.filter(alerts__state__in=OPEN_ALERT_STATES).distinct()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    open_alerts = dict(
        _alerts(request)
        .filter(state__in=OPEN_ALERT_STATES, device_id__in=[d.pk for d in page])
        .values_list("device_id", "state")
    )
    return render(
        request,
        "sensors/device_list.html",
        {
            "page": page,
            "open_alerts": open_alerts,
            "kinds": DeviceKind.choices,
            "kind": kind,
            "status": status,
            "counts": overview.counts(devices),
            "query": _query(request),
        },
    )


@policy.page("sensors.manage_device")
def device_new(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.register_device(request.user, form.save(commit=False))
        except SensorError as exc:
            form.add_error(exc.field or None, exc.message)
        except policy.PolicyDenied:
            form.add_error("region", _("该位置不在您的管辖范围内"))
        else:
            messages.success(request, _("设备已登记：%(d)s") % {"d": device.name})
            return redirect("sensors:device_detail", pk=device.pk)
    return render(request, "sensors/device_form.html", {"form": form, "title": _("登记设备")})


@policy.page("sensors.view_device", model="sensors.Device")
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = policy.get_or_deny(
        Device.objects.select_related(
            "estate", "building", "entrance", "dwelling", "property_company", "department"
        ),
        request.user,
        "sensors.view_device",
        pk=pk,
    )
    alerts = list(device.alerts.select_related("case").order_by("-opened_at", "-id")[:20])
    months = list(device.months.order_by("-month")[:12]) if device.is_meter else []
    return render(
        request,
        "sensors/device_detail.html",
        {
            "device": device,
            "alerts": alerts,
            "months": months,
            "token": request.session.pop("sensor_token", ""),
        },
    )


@policy.page("sensors.manage_device", model="sensors.Device")
def device_edit(request: HttpRequest, pk: int) -> HttpResponse:
    device = policy.get_or_deny(Device.objects.all(), request.user, "sensors.manage_device", pk=pk)
    form = ThresholdForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_device(request.user, pk, **changes)
        except SensorError as exc:
            form.add_error(exc.field or None, exc.message)
        else:
            messages.success(request, _("已保存"))
            return redirect("sensors:device_detail", pk=pk)
    return render(
        request, "sensors/device_form.html", {"form": form, "device": device, "title": _("阈值与维护单位")}
    )


@require_POST
@policy.page("sensors.manage_device", model="sensors.Device")
def device_token(request: HttpRequest, pk: int) -> HttpResponse:
    device = policy.get_or_deny(Device.objects.all(), request.user, "sensors.manage_device", pk=pk)
    # shown once, on the next page view, then gone from the session
    request.session["sensor_token"] = services.issue_token(request.user, device)
    return redirect("sensors:device_detail", pk=pk)


@policy.page("sensors.view_device", model="sensors.Device")
def device_readings(request: HttpRequest, pk: int) -> JsonResponse:
    device = policy.get_or_deny(Device.objects.all(), request.user, "sensors.view_device", pk=pk)
    days = min(max(int(request.GET.get("days", "7") or 7), 1), 90)
    end = timezone.now()
    return JsonResponse(overview.series(device, end - dt.timedelta(days=days), end))


@policy.page("sensors.view_alert")
def alert_list(request: HttpRequest) -> HttpResponse:
    qs = _alerts(request).select_related("device__estate", "case").order_by("-opened_at", "-id")
    state = request.GET.get("state", "open")
    if state == "open":
        qs = qs.filter(state__in=OPEN_ALERT_STATES)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "sensors/alert_list.html", {"page": page, "state": state, "query": _query(request)}
    )


@policy.page("sensors.view_alert", model="sensors.Alert")
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = policy.get_or_deny(
        Alert.objects.select_related("device__estate", "case"), request.user, "sensors.view_alert", pk=pk
    )
    start, end = overview.alert_window(alert)
    return render(
        request,
        "sensors/alert_detail.html",
        {
            "alert": alert,
            "events": list(alert.events.order_by("at", "id")),
            "window": (start, end),
            "chart_url": f"{_url('sensors:device_readings', alert.device_id)}?days={max(1, (end - start).days + 1)}",
        },
    )


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


@policy.page("sensors.view_case_readings", model="cases.Case")
def case_readings(request: HttpRequest, case_id: int) -> JsonResponse:
    """The reading history behind a sensor case (for the chart on the case page)."""
    from tongxin.cases.models import Case

    case = policy.get_or_deny(Case.objects.all(), request.user, "sensors.view_case_readings", pk=case_id)
    alert = Alert.objects.select_related("device").filter(case=case).order_by("-opened_at").first()
    if alert is None:
        raise Http404
    start, end = overview.alert_window(alert)
    data = overview.series(alert.device, start, end)
    data["opened_at"] = timezone.localtime(alert.opened_at).isoformat()
    data["recovered_at"] = timezone.localtime(alert.recovered_at).isoformat() if alert.recovered_at else None
    return JsonResponse(data)


@policy.page("sensors.view_meter")
def meter_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    try:
        month = dt.date.fromisoformat((request.GET.get("month") or "") + "-01")
    except ValueError:
        month = today.replace(day=1)
    meters = policy.restrict(Device.objects.meters(), request.user, "sensors.view_meter")
    qs = (
        MeterMonth.objects.filter(month=month, device__in=meters)
        .select_related("device", "dwelling__estate", "dwelling__building", "dwelling__entrance")
        .order_by("-abnormal", "dwelling__estate__name", "dwelling__building_id", "dwelling__number")
    )
    if request.GET.get("abnormal"):
        qs = qs.filter(abnormal=True)
    totals = qs.values("device__kind").annotate(
        n=Count("pk"), used=Sum("consumption"), odd=Count("pk", filter=Q(abnormal=True))
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    kinds = dict(DeviceKind.choices)
    return render(
        request,
        "sensors/meter_list.html",
        {
            "page": page,
            "month": month,
            "totals": [{**t, "kind": kinds.get(t["device__kind"], "")} for t in totals],
            "abnormal": bool(request.GET.get("abnormal")),
            "query": _query(request),
        },
    )


@policy.page("sensors.view_care_signal")
def care_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(CareSignal.objects.all(), request.user, "sensors.view_care_signal").select_related(
        "dwelling__estate", "dwelling__building", "dwelling__entrance", "resident", "handled_by"
    )
    state = request.GET.get("state", CareSignalState.OPEN)
    if state in CareSignalState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs.order_by("-detected_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "sensors/care_list.html",
        {"page": page, "state": state, "states": CareSignalState.choices, "query": _query(request)},
    )


@policy.page("sensors.view_care_signal", model="sensors.CareSignal")
def care_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = policy.get_or_deny(
        CareSignal.objects.select_related(
            "dwelling__estate", "dwelling__building", "dwelling__entrance", "resident", "device", "handled_by"
        ),
        request.user,
        "sensors.view_care_signal",
        pk=pk,
    )
    form = CareVisitForm(request.POST or None)
    if request.method == "POST":
        policy.get_or_deny(CareSignal.objects.all(), request.user, "sensors.handle_care_signal", pk=pk)
        if form.is_valid():
            try:
                services.record_care_visit(
                    signal,
                    request.user,
                    visited=form.cleaned_data["outcome"] == "visited",
                    note=form.cleaned_data["note"],
                )
            except SensorError as exc:
                form.add_error(exc.field or None, exc.message)
            else:
                messages.success(request, _("已记录"))
                return redirect("sensors:care_detail", pk=pk)
    return render(request, "sensors/care_detail.html", {"signal": signal, "form": form})


@policy.page("sensors.view_overview")
def markers_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"markers": overview.markers(_devices(request))})


@policy.page("sensors.view_ingest")
def ingest_stats(request: HttpRequest) -> HttpResponse:
    since = timezone.localdate() - dt.timedelta(days=13)
    rows = list(IngestCount.objects.filter(day__gte=since).order_by("-day", "source", "outcome"))
    return render(request, "sensors/ingest.html", {"rows": rows})
