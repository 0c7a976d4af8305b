"""Every write of the sensors app: devices and their tokens, alerts (each opening exactly one case, routed to the
device's maintenance owner), recovery recorded on the case, the silence sweep, meters' monthly consumption and
care signals.

Each service is atomic, locks what it changes (``select_for_update``, device before alert), checks the transition
against the one table in :mod:`tongxin.sensors.choices`, saves with ``update_fields``, appends an
:class:`AlertEvent` where there is one, writes an audit record and notifies on commit. Errors are
:class:`~tongxin.sensors.choices.SensorError` with a user-readable message.

Cases are written only through :mod:`tongxin.cases.services` (``submit``, ``dispatch``, ``comment``). They act
as the platform's own account (:func:`system_actor`): an inactive user, unable to sign in or to be assigned work,
holding community staff on the device's community so that ``dispatch`` and ``comment`` accept it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, notifications, policy
from tongxin.core.models import AuditLog, User
from tongxin.core.signals import care_needed
from tongxin.sensors.choices import (
    ALERT_TRANSITIONS,
    CARE_TRANSITIONS,
    CASE_CHANNEL,
    KINDS,
    METER_KINDS,
    OPEN_ALERT_STATES,
    AlertEventType,
    AlertRule,
    AlertState,
    CareSignalKind,
    CareSignalState,
    DeviceKind,
    SensorError,
    check_transition,
)
from tongxin.sensors.models import Alert, AlertEvent, CareSignal, Device, MeterMonth, Reading
from tongxin.sensors.signals import care_signal_raised

logger = logging.getLogger("tongxin.sensors")

SYSTEM_USERNAME = "sensors-system"
DEFAULT_ONLINE_MINUTES = 30


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:g}{unit}"


# --------------------------------------------------------------------------------------------------------------
# the platform's own account


def system_actor(community_id: int) -> User:
    """The account sensor cases are filed and routed under (智能感知平台), with community staff on
    ``community_id``. Inactive with an unusable password: it cannot sign in, hold an API token or be assigned."""
    from tongxin.regions.choices import Role
    from tongxin.regions.models import RoleAssignment

    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"display_name": str(_("智能感知平台")), "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    _assignment, added = RoleAssignment.objects.get_or_create(
        user=user, role=Role.COMMUNITY_STAFF, region_id=community_id
    )
    if added:
        policy.forget(user)
    return user


# --------------------------------------------------------------------------------------------------------------
# devices


def place(device: Device) -> None:
    """Copy the location fields from ``device.dwelling`` (a meter) or ``device.region`` (estate, building or
    entrance), and take the region's coordinates when the device has none."""
    from tongxin.regions.choices import RegionKind

    if device.dwelling_id:
        d = device.dwelling
        assert d is not None
        device.region_id = d.entrance_id
        for f in ("subdistrict_id", "community_id", "estate_id", "building_id", "entrance_id", "grid_id"):
            setattr(device, f, getattr(d, f))
        region: Any = d.entrance
    else:
        region = device.region
        if region.kind not in (RegionKind.ESTATE, RegionKind.BUILDING, RegionKind.ENTRANCE):
            raise SensorError(_("设备应安装在小区、楼栋或单元"), code="bad_region", field="region")
        ids = region.place_ids()
        device.subdistrict_id, device.community_id, device.estate_id = ids[0], ids[1], ids[2]
        device.building_id = ids[3] if len(ids) > 3 else None
        device.entrance_id = ids[4] if len(ids) > 4 else None
        device.grid_id = region.grid_id
    if device.latitude is None or device.longitude is None:
        node = region
        while node is not None and node.latitude is None:
            node = node.parent
        if node is not None:
            device.latitude, device.longitude = node.latitude, node.longitude


def _check_owner(device: Device) -> None:
    if device.property_company_id and device.department_id:
        raise SensorError(_("维护单位只能是物业公司或部门之一"), code="two_owners", field="department")
    if device.property_company_id and device.estate_id:
        company = device.property_company
        assert company is not None
        if not company.estates.filter(pk=device.estate_id).exists():
            raise SensorError(
                _("该物业公司不服务设备所在小区"), code="company_out_of_scope", field="property_company"
            )
    if device.department_id and device.department.subdistrict_id != device.subdistrict_id:  # type: ignore[union-attr]
        raise SensorError(_("该部门不属于设备所在街道"), code="department_out_of_scope", field="department")


def defaults_for(kind: str) -> dict[str, Any]:
    """A new device's unit and thresholds from its kind."""
    spec = KINDS[kind]
    return {
        "unit": spec.unit,
        "low": spec.low,
        "high": spec.high,
        "rate_per_minute": spec.rate_per_minute,
        "silence_minutes": spec.silence_minutes,
    }


@transaction.atomic
def register_device(actor: Any, device: Device) -> Device:
    """Register an unsaved ``device`` (fields from the form; its unit and any threshold left empty take the
    kind's defaults)."""
    place(device)
    policy.require(actor, "sensors.manage_device", device)
    _check_owner(device)
    if Device.objects.filter(serial=device.serial).exists():
        raise SensorError(_("设备编号已存在"), code="duplicate_serial", field="serial")
    for name, value in defaults_for(device.kind).items():  # what the form left empty: the kind's defaults
        if getattr(device, name) in (None, ""):
            setattr(device, name, value)
    device.full_clean(exclude=["subdistrict", "community", "estate", "building", "entrance", "grid"])
    device.save()
    audit.record(
        AuditLog.Action.CREATE, device, actor=actor, after={"serial": device.serial, "kind": device.kind}
    )
    return device


EDITABLE = (
    "name",
    "place",
    "low",
    "high",
    "rate_per_minute",
    "silence_minutes",
    "recover_after",
    "property_company",
    "department",
    "category",
    "active",
    "latitude",
    "longitude",
)


@transaction.atomic
def update_device(actor: Any, device: Device | int, **changes: Any) -> Device:
    """Change a device's name, place, thresholds, maintenance owner, category or active flag."""
    pk = device if isinstance(device, int) else device.pk
    device = Device.objects.select_for_update().get(pk=pk)
    policy.require(actor, "sensors.manage_device", device)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise SensorError(
            _("不能修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))}, code="not_editable"
        )
    before = {k: _plain(getattr(device, k)) for k in changes}
    for k, v in changes.items():
        setattr(device, k, v)
    _check_owner(device)
    device.full_clean(exclude=["subdistrict", "community", "estate", "building", "entrance", "grid"])
    fields = [Device._meta.get_field(k).attname for k in changes]  # type: ignore[union-attr]
    device.save(update_fields=fields)
    after = {k: _plain(getattr(device, k)) for k in changes}
    b, a = audit.diff(before, after)
    if a:
        audit.record(AuditLog.Action.UPDATE, device, actor=actor, before=b, after=a)
    return device


def _plain(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


@transaction.atomic
def issue_token(actor: Any, device: Device | int) -> str:
    """A new gateway token for the device (the old one stops working). Shown once; only its hash is kept."""
    pk = device if isinstance(device, int) else device.pk
    device = Device.objects.select_for_update().get(pk=pk)
    policy.require(actor, "sensors.manage_device", device)
    token = Device.new_token()
    device.token_hash = Device.hash_token(token)
    device.token_prefix = token[:8]
    device.save(update_fields=["token_hash", "token_prefix"])
    audit.record(
        AuditLog.Action.UPDATE, device, actor=actor, field="token", after={"prefix": device.token_prefix}
    )
    return token


def device_for_token(token: str) -> Device | None:
    if not token or not token.startswith("dev_"):
        return None
    return Device.objects.filter(token_hash=Device.hash_token(token), active=True).first()


# --------------------------------------------------------------------------------------------------------------
# alerts


def _event(
    alert: Alert, type_: str, *, at: dt.datetime, rule: str = "", value: float | None = None, **payload: Any
) -> None:
    AlertEvent.objects.create(alert=alert, type=type_, at=at, rule=rule, value=value, payload=payload)


def _transition(alert: Alert, new: str, fields: list[str]) -> None:
    check_transition(ALERT_TRANSITIONS, AlertState, alert.state, new)
    alert.state = new
    alert.save(update_fields=["state", *fields])


def _case_is_open(alert: Alert) -> bool:
    from tongxin.cases.choices import OPEN_STATES

    return alert.case is None or alert.case.state in OPEN_STATES


def _rule_text(device: Device, rule: str) -> str:
    u = device.unit
    if rule == AlertRule.LOW:
        return _("低于下限%(x)s") % {"x": _fmt(device.low, u)}
    if rule == AlertRule.HIGH:
        if device.spec.binary:
            return _("报警")
        return _("高于上限%(x)s") % {"x": _fmt(device.high, u)}
    if rule == AlertRule.RATE:
        return _("变化过快（每分钟超过%(x)s）") % {"x": _fmt(device.rate_per_minute, u)}
    return _("超过%(n)s分钟没有数据") % {"n": device.silence_minutes}


def _category(device: Device) -> Any:
    from tongxin.cases.models import Category

    if device.category_id:
        return device.category
    return (
        Category.objects.select_related("policy")
        .filter(service_code=device.spec.category, active=True)
        .first()
    )


def _open_case(device: Device, alert: Alert, rule: str, at: dt.datetime, value: float | None) -> Any:
    """File the alert's one case (idempotent per alert) and route it to the device's maintenance owner."""
    from tongxin.cases import services as cases
    from tongxin.cases.choices import CaseError

    actor = system_actor(device.community_id)
    local = timezone.localtime(at)
    what = _rule_text(device, rule)
    title = _("%(device)s%(what)s") % {"device": device.name, "what": what}
    description = _(
        "%(place)s%(device)s（%(serial)s）于%(time)s读数%(value)s，%(what)s。由智能感知平台自动生成；"
        "读数恢复正常时将在本工单记录。"
    ) % {
        "place": f"{device.place}·" if device.place else "",
        "device": device.name,
        "serial": device.serial,
        "time": local.strftime("%Y-%m-%d %H:%M:%S"),
        "value": _fmt(value, device.unit),
        "what": what,
    }
    where: dict[str, Any] = {}
    if device.dwelling_id:
        where["dwelling"] = device.dwelling
    elif device.entrance_id or device.building_id:
        where["building"] = device.entrance or device.building
    else:
        where["estate"] = device.estate
    category = _category(device)
    if category is None:
        raise SensorError(_("没有可用的工单类别：%(c)s") % {"c": device.spec.category}, code="no_category")
    case = cases.submit(
        channel=CASE_CHANNEL,
        category=category,
        title=title[:100],
        description=description,
        actor=actor,
        latitude=device.latitude,
        longitude=device.longitude,
        idempotency_key=f"sensor-alert-{alert.pk}",
        idempotency_client="sensors",
        attributes={},
        now=at if at <= timezone.now() else None,
        **where,
    )
    target: dict[str, Any] = {}
    if device.property_company_id:
        target["property_company"] = device.property_company
    elif device.department_id:
        target["department"] = device.department
    if target:
        try:
            with transaction.atomic():
                cases.dispatch(case, actor, note=str(_("设备告警自动派单")), **target)
        except CaseError as exc:  # e.g. the company no longer serves the estate: the case stays for staff
            logger.warning("sensor case %s not routed: %s", case.number, exc.message)
    return case


def _comment(alert: Alert, text: str) -> None:
    from tongxin.cases import services as cases

    if alert.case is None:
        return
    cases.comment(alert.case, system_actor(alert.device.community_id), text)


@transaction.atomic
def raise_alert(device_id: int, rule: str, at: dt.datetime, value: float | None) -> tuple[Alert, bool]:
    """A reading crossed a threshold (or the device fell silent). Returns the device's open alert and whether
    it is new. One open alert per device, one case per alert: while the alert's case is open a crossing only
    counts (and a recovered alert fires again, noted on the case); once the case is finished a crossing opens a
    new alert and a new case."""
    device = (
        Device.objects.select_for_update(of=("self",))
        .select_related(
            "region", "estate", "building", "entrance", "dwelling", "property_company", "department"
        )
        .get(pk=device_id)
    )
    alert = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(device=device, state__in=OPEN_ALERT_STATES)
        .first()
    )
    if alert is not None and not _case_is_open(alert):
        _close(alert, at=timezone.now(), reason="case_finished")
        alert = None
    if alert is not None:
        alert.device = device
        alert.last_value = value
        alert.crossings = F("crossings") + 1
        if alert.state == AlertState.ACTIVE:
            alert.save(update_fields=["last_value", "crossings"])
        else:
            _transition(alert, AlertState.ACTIVE, ["last_value", "crossings"])
            _event(alert, AlertEventType.FIRED_AGAIN, at=at, rule=rule, value=value)
            _comment(
                alert,
                _("设备再次越限：%(time)s 读数%(value)s，%(what)s。")
                % {
                    "time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"),
                    "value": _fmt(value, device.unit),
                    "what": _rule_text(device, rule),
                },
            )
        alert.refresh_from_db(fields=["crossings"])
        return alert, False
    alert = Alert.objects.create(
        device=device, rule=rule, state=AlertState.ACTIVE, opened_at=at, first_value=value, last_value=value
    )
    _event(alert, AlertEventType.OPENED, at=at, rule=rule, value=value)
    alert.case = _open_case(device, alert, rule, at, value)
    alert.save(update_fields=["case"])
    Device.objects.filter(pk=device.pk).update(normal_streak=0)
    audit.record(
        AuditLog.Action.CREATE,
        alert,
        after={"device": device.serial, "rule": rule, "value": value, "case": alert.case.number},
    )
    return alert, True


def count_crossings(alert_id: int, n: int, last_value: float) -> bool:
    """Add ``n`` crossings to an alert that is still active (one UPDATE); False when it no longer is."""
    return bool(
        Alert.objects.filter(pk=alert_id, state=AlertState.ACTIVE).update(
            crossings=F("crossings") + n, last_value=last_value
        )
    )


@transaction.atomic
def recover_alert(alert_id: int, at: dt.datetime, value: float) -> Alert:
    """The device is back in range (``recover_after`` normal readings in a row): the alert is recovered and the
    recovery is recorded on its case as a comment. The case itself stays with its handler, who decides."""
    alert = Alert.objects.select_for_update(of=("self",)).select_related("device", "case").get(pk=alert_id)
    if alert.state != AlertState.ACTIVE:
        return alert
    alert.recovered_at = at
    alert.last_value = value
    _transition(alert, AlertState.RECOVERED, ["recovered_at", "last_value"])
    _event(alert, AlertEventType.RECOVERED, at=at, value=value)
    device = alert.device
    if alert.case is not None and _case_is_open(alert):
        _comment(
            alert,
            _(
                "设备读数已恢复正常：%(time)s 读数%(value)s（连续%(n)s次正常）。如现场已无需处理，请承办人办结。"
            )
            % {
                "time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S"),
                "value": _fmt(value, device.unit),
                "n": device.recover_after,
            },
        )
    audit.record(
        AuditLog.Action.TRANSITION,
        alert,
        field="state",
        before={"state": "active"},
        after={"state": "recovered"},
    )
    return alert


def _close(alert: Alert, *, at: dt.datetime, reason: str) -> None:
    alert.closed_at = at
    _transition(alert, AlertState.CLOSED, ["closed_at"])
    _event(alert, AlertEventType.CLOSED, at=at, reason=reason)


def on_case_finished(sender: Any, case: Any, actor: Any = None, **kwargs: Any) -> None:
    """Receiver of cases' ``case_resolved``/``case_closed``: the case's open alerts are closed."""
    with transaction.atomic():
        for alert in (
            Alert.objects.select_for_update()
            .filter(case_id=case.pk, state__in=OPEN_ALERT_STATES)
            .order_by("pk")
        ):
            _close(alert, at=timezone.now(), reason="case_finished")


@transaction.atomic
def close_finished_alerts(now: dt.datetime | None = None) -> int:
    """Close open alerts whose case left the open states by any route (rejected, merged: no signal for those)."""
    from tongxin.cases.choices import OPEN_STATES

    n = 0
    for alert in (
        Alert.objects.select_for_update(of=("self",))
        .filter(state__in=OPEN_ALERT_STATES, case__isnull=False)
        .exclude(case__state__in=OPEN_STATES)
        .order_by("pk")
    ):
        _close(alert, at=_now(now), reason="case_finished")
        n += 1
    return n


def sweep_silence(now: dt.datetime | None = None) -> dict[str, int]:
    """Devices with no reading inside their window go offline (one UPDATE); those with a silence threshold open
    a silence alert. Run every minute; a device is reported once, when it goes offline."""
    now = _now(now)
    silent: list[int] = []
    alarmed: list[int] = []
    for pk, last, minutes in Device.objects.filter(online=True).values_list(
        "pk", "last_measured_at", "silence_minutes"
    ):
        window = dt.timedelta(minutes=minutes or DEFAULT_ONLINE_MINUTES)
        if last is None or last < now - window:
            silent.append(pk)
            if minutes:
                alarmed.append(pk)
    went_offline = set()
    if silent:
        # only the rows this sweep flips (another sweep or a new reading may have got there first)
        went_offline = set(
            Device.objects.filter(pk__in=silent, online=True, last_measured_at__lt=now).values_list(
                "pk", flat=True
            )
        )
        Device.objects.filter(pk__in=went_offline).update(online=False)
    opened = 0
    for pk in alarmed:
        if pk in went_offline:
            try:
                _alert, created = raise_alert(pk, AlertRule.SILENCE, now, None)
                opened += created
            except Exception:  # one device's failure must not stop the sweep
                logger.exception("silence alert for device %s failed", pk)
    closed = close_finished_alerts(now)
    return {"offline": len(went_offline), "alerts": opened, "closed": closed}


# --------------------------------------------------------------------------------------------------------------
# meters


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    from tongxin.sensors.partitions import bounds

    return bounds(month.replace(day=1))


def close_meter_months(month: dt.date, *, device_ids: list[int] | None = None) -> int:
    """Compute (or recompute) the month of every meter from its readings: one aggregate query and one upsert.

    A meter's index only grows, so the month's first and last readings are its MIN and MAX; the opening is the
    previous month's closing when there is one (consumption across the month boundary counts in the new
    month). Abnormal: nothing used in a month with readings, or more than three times the average of the
    previous three months."""
    from tongxin.sensors.partitions import add_months

    month = month.replace(day=1)
    start, end = month_bounds(month)
    readings = Reading.objects.filter(
        device__kind__in=METER_KINDS, measured_at__gte=start, measured_at__lt=end
    )
    if device_ids is not None:
        readings = readings.filter(device_id__in=device_ids)
    rows = list(
        readings.values("device_id", "device__dwelling_id").annotate(
            lo=Min("value"), hi=Max("value"), n=Count("value")
        )
    )
    if not rows:
        return 0
    ids = [r["device_id"] for r in rows]
    history: dict[int, list[tuple[dt.date, float, float]]] = {}
    for device_id, m, closing, consumption in MeterMonth.objects.filter(
        device_id__in=ids, month__gte=add_months(month, -3), month__lt=month
    ).values_list("device_id", "month", "closing", "consumption"):
        history.setdefault(device_id, []).append((m, closing, consumption))
    objs = []
    for r in rows:
        past = sorted(history.get(r["device_id"], []))
        opening = past[-1][1] if past and past[-1][0] == add_months(month, -1) else r["lo"]
        consumption = max(0.0, r["hi"] - opening)
        average = sum(p[2] for p in past) / len(past) if past else None
        abnormal = (r["n"] >= 2 and consumption == 0) or (
            average is not None and average > 0 and consumption > 3 * average
        )
        objs.append(
            MeterMonth(
                device_id=r["device_id"],
                dwelling_id=r["device__dwelling_id"],
                month=month,
                opening=opening,
                closing=r["hi"],
                consumption=round(consumption, 4),
                readings=r["n"],
                abnormal=abnormal,
                computed_at=timezone.now(),
            )
        )
    MeterMonth.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["device", "month"],
        update_fields=[
            "dwelling",
            "opening",
            "closing",
            "consumption",
            "readings",
            "abnormal",
            "computed_at",
        ],
    )
    return len(objs)


# --------------------------------------------------------------------------------------------------------------
# care signals (关爱信号)

NO_USE_HOURS = 24
COVERAGE_SLACK = dt.timedelta(hours=2)


def detect_no_water_use(now: dt.datetime | None = None) -> list[CareSignal]:
    """Water meters of dwellings where an elderly person living alone (tag ``elderly_alone``) lives, whose index
    did not move for 24 hours while the meter kept reporting (readings within 2 h of both ends of the window, so
    a dead meter is not mistaken for a quiet home) → a care signal, one open per dwelling. No case: a visit."""
    from tongxin.people.choices import ResidentStatus
    from tongxin.people.models import Resident

    now = _now(now)
    start = now - dt.timedelta(hours=NO_USE_HOURS)
    elderly = Resident.objects.filter(
        tags__code="elderly_alone", status=ResidentStatus.ACTIVE, dwelling__isnull=False
    )
    dwellings = dict(elderly.values_list("dwelling_id", "pk"))
    if not dwellings:
        return []
    quiet = list(
        Reading.objects.filter(
            device__kind=DeviceKind.WATER_METER,
            device__active=True,
            device__dwelling_id__in=list(dwellings),
            measured_at__gte=start,
            measured_at__lte=now,
        )
        .values("device_id", "device__dwelling_id")
        .annotate(lo=Min("value"), hi=Max("value"), first=Min("measured_at"), last=Max("measured_at"))
        .filter(first__lte=start + COVERAGE_SLACK, last__gte=now - COVERAGE_SLACK)
        .filter(hi__lte=F("lo") + 1e-6)
    )
    if not quiet:
        return []
    already = set(
        CareSignal.objects.filter(
            kind=CareSignalKind.NO_WATER_USE,
            state=CareSignalState.OPEN,
            dwelling_id__in=[q["device__dwelling_id"] for q in quiet],
        ).values_list("dwelling_id", flat=True)
    )
    created = []
    with transaction.atomic():
        for q in quiet:
            dwelling_id = q["device__dwelling_id"]
            if dwelling_id in already:
                continue
            signal = CareSignal.objects.create(
                kind=CareSignalKind.NO_WATER_USE,
                dwelling_id=dwelling_id,
                resident_id=dwellings[dwelling_id],
                device_id=q["device_id"],
                detected_at=now,
                window_start=start,
                window_end=now,
            )
            already.add(dwelling_id)
            created.append(signal)
            audit.record(AuditLog.Action.CREATE, signal, after={"kind": signal.kind, "dwelling": dwelling_id})
        # The care app (when installed) plans a visit due today and tells the grid worker; the signals nobody
        # took on are announced here instead.
        taken = {s.pk for s in created if _hand_to_care(s)}
        _notify_care([s for s in created if s.pk not in taken])
        for signal in created:
            transaction.on_commit(_announce(signal))
    return created


CARE_REF = "sensors.caresignal:"


def _hand_to_care(signal: CareSignal) -> bool:
    if signal.resident_id is None:
        return False
    answers = care_needed.send(
        sender=CareSignal,
        resident_id=signal.resident_id,
        reason=str(_("独居老人24小时未用水（水表）")),
        ref=f"{CARE_REF}{signal.pk}",
    )
    return any(answer for _receiver, answer in answers)


def on_care_visit_done(sender: Any, ref: str, note: str, actor: Any, **kwargs: Any) -> None:
    """Receiver of :data:`tongxin.core.signals.care_visit_done`: the visit planned for a care signal closes it."""
    if not ref.startswith(CARE_REF):
        return
    signal = CareSignal.objects.select_for_update().filter(pk=int(ref[len(CARE_REF) :])).first()
    if signal is None or signal.state != CareSignalState.OPEN:
        return
    _close_care_signal(signal, actor, visited=True, note=note)


def _announce(signal: CareSignal) -> Any:
    return lambda: care_signal_raised.send(sender=CareSignal, care_signal=signal)


def _notify_care(signals: list[CareSignal]) -> None:
    from tongxin.regions.choices import Role
    from tongxin.regions.models import Dwelling, RoleAssignment

    if not signals:
        return
    dwellings = {
        d.pk: d
        for d in Dwelling.objects.filter(pk__in=[s.dwelling_id for s in signals]).select_related(
            "estate", "building", "entrance"
        )
    }
    for s in signals:
        d = dwellings[s.dwelling_id]
        users = list(
            RoleAssignment.objects.filter(
                Q(role=Role.GRID_WORKER, grid_id=d.grid_id)
                | Q(role=Role.COMMUNITY_STAFF, region_id=d.community_id)
            ).values_list("user_id", flat=True)
        )
        notifications.notify(
            users,
            _("关爱提醒：%(address)s 独居老人24小时未用水") % {"address": d.address},
            _("水表显示该户24小时内用水量为零，请尽快上门或电话确认老人情况，并在系统中记录走访结果。"),
            f"/sensors/care/{s.pk}/",
            kind="sensor_care",
        )


@transaction.atomic
def record_care_visit(signal: CareSignal | int, actor: Any, *, visited: bool, note: str) -> CareSignal:
    """The grid worker's answer to a care signal: visited (with what was found) or no visit needed."""
    pk = signal if isinstance(signal, int) else signal.pk
    signal = CareSignal.objects.select_for_update().select_related("dwelling").get(pk=pk)
    policy.require(actor, "sensors.handle_care_signal", signal)
    note = (note or "").strip()
    if not note:
        raise SensorError(_("请填写走访或核实情况"), code="note_required", field="note")
    return _close_care_signal(signal, actor, visited=visited, note=note)


def _close_care_signal(signal: CareSignal, actor: Any, *, visited: bool, note: str) -> CareSignal:
    new = CareSignalState.VISITED if visited else CareSignalState.DISMISSED
    check_transition(CARE_TRANSITIONS, CareSignalState, signal.state, new)
    old = signal.state
    signal.state = new
    signal.note = note[:500]
    signal.handled_by = actor
    signal.handled_at = timezone.now()
    signal.save(update_fields=["state", "note", "handled_by", "handled_at"])
    audit.record(
        AuditLog.Action.TRANSITION,
        signal,
        actor=actor,
        field="state",
        before={"state": old},
        after={"state": new},
    )
    return signal


def open_care_signals() -> Any:
    """The open care signals (for the care/visits app: plan a household visit for each)."""
    return CareSignal.objects.filter(state=CareSignalState.OPEN).select_related("dwelling", "resident")
