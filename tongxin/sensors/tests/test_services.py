"""Ingestion and the alert life cycle without a broker: validation, idempotency, one case per open alert routed to
the maintenance owner, recovery on the case, closing with the case, silence, meters and care signals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.care import services as care
from tongxin.care.choices import VisitState
from tongxin.care.models import Visit
from tongxin.cases import services as cases
from tongxin.cases.choices import CaseState
from tongxin.cases.models import Case
from tongxin.core.models import Notification, User
from tongxin.people.models import Resident, Tag
from tongxin.sensors import services
from tongxin.sensors.choices import AlertState, CareSignalState, DeviceKind, Rejection, Source
from tongxin.sensors.ingest import DeviceState, Ingestor
from tongxin.sensors.models import Alert, Device, MeterMonth, Reading
from tongxin.sensors.signals import care_signal_raised
from tongxin.sensors.tests.conftest import at, make_device


def feed(device: Device, points: list[tuple[dt.datetime, float]], source: str = Source.MQTT) -> object:
    return Ingestor(source).process([(device.serial, t.isoformat(), v) for t, v in points])


def test_readings_are_stored_once_per_device_and_time(pump):
    # given a batch of readings, stored once
    points = [(at(i), 0.3 + i / 100) for i in range(10)]
    first = feed(pump, points)
    # when the same batch arrives again (a redelivery)
    again = feed(pump, points)
    # then nothing is stored twice, and the repeat is counted as duplicates
    assert (first.stored, first.duplicates) == (10, 0)
    assert (again.stored, again.duplicates) == (0, 10)
    assert Reading.objects.filter(device=pump).count() == 10
    pump.refresh_from_db()
    assert pump.last_value == pytest.approx(0.39) and pump.online


def test_bad_readings_are_counted_by_reason_and_never_raise(pump, world):
    # given readings with every kind of problem, and one good one
    now = timezone.now()
    outcome = Ingestor(Source.MQTT).process(
        [
            None,  # a payload that could not be read
            ("NO-SUCH", now.isoformat(), 0.3),
            (pump.serial, "not a time", 0.3),
            (pump.serial, now.isoformat(), "0.3"),
            (pump.serial, now.isoformat(), 7.5),  # above the possible range of a pressure sensor
            (pump.serial, (now + dt.timedelta(hours=1)).isoformat(), 0.3),
            (pump.serial, (now - dt.timedelta(days=90)).isoformat(), 0.3),
            (pump.serial, "2026-01-01T08:00:00", 0.3),  # no offset: ambiguous
            (pump.serial, now.timestamp(), 0.31),
        ],
        now=now,
    )
    # then each is refused under its reason and the good one is stored
    assert outcome.counts[Rejection.MALFORMED] == 4
    assert outcome.counts[Rejection.UNKNOWN_DEVICE] == 1
    assert outcome.counts[Rejection.IMPOSSIBLE_VALUE] == 1
    assert outcome.counts[Rejection.CLOCK_SKEW] == 1
    assert outcome.counts[Rejection.TOO_OLD] == 1
    assert outcome.stored == 1
    assert [i for i, _r in outcome.rejected] == [0, 1, 2, 3, 4, 5, 6, 7]


def test_inactive_device_readings_are_refused(pump, world):
    services.update_device(world.users["admin"], pump, active=False)
    outcome = feed(pump, [(at(0), 0.3)])
    assert outcome.counts[Rejection.INACTIVE_DEVICE] == 1 and outcome.stored == 0


def test_a_drop_opens_one_case_and_more_lows_only_count(pump, world):
    # given normal pressure
    feed(pump, [(at(i), 0.35) for i in range(3)])
    # when it drops below the low threshold
    feed(pump, [(at(3), 0.05)])
    # then one alert and one case, dispatched to the maintaining property company by the platform account
    alert = Alert.objects.get()
    case = alert.case
    assert case.state == CaseState.DISPATCHED and case.property_company == world.property_company
    assert case.submitted_by.username == services.SYSTEM_USERNAME and not case.submitted_by.is_active
    # when 50 more low readings come in several batches
    for k in range(5):
        feed(pump, [(at(4 + k * 10 + i), 0.04) for i in range(10)])
    # then still one case; the alert counts them
    assert Case.objects.count() == 1
    alert.refresh_from_db()
    assert alert.crossings == 51 and alert.last_value == 0.04


def test_recovery_is_noted_on_the_case_and_a_new_crossing_fires_the_same_alert(pump):
    feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    alert = Alert.objects.get()
    # when three normal readings follow, then the alert recovers and the case says so
    feed(pump, [(at(2 + i), 0.36) for i in range(3)])
    alert.refresh_from_db()
    assert alert.state == AlertState.RECOVERED
    texts = [e.payload["text"] for e in alert.case.events.filter(type="comment")]
    assert len(texts) == 1 and "恢复正常" in texts[0]
    # when it drops again while the case is still open, then the same alert fires again: no second case
    feed(pump, [(at(10), 0.05)])
    alert.refresh_from_db()
    assert alert.state == AlertState.ACTIVE and Case.objects.count() == 1
    assert alert.case.events.filter(type="comment").count() == 2


def test_finished_case_closes_the_alert_and_the_next_crossing_opens_a_new_case(
    pump, world, django_capture_on_commit_callbacks
):
    feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    alert = Alert.objects.get()
    staff = world.users["property"]
    # when the property company resolves the case (the signal arrives on commit)
    with django_capture_on_commit_callbacks(execute=True):
        cases.start(alert.case, staff)
        cases.resolve(alert.case, staff, "更换爆裂管段")
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED
    # then a later drop opens a second alert with a second case
    feed(pump, [(at(30), 0.05)])
    assert Alert.objects.count() == 2 and Case.objects.count() == 2


def test_a_rejected_case_is_noticed_by_the_sweep(world):
    # given a device without a maintenance owner: its case waits for staff, who reject it
    pump = make_device(world, property_company=None)
    feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    alert = Alert.objects.get()
    assert alert.case.state == CaseState.SUBMITTED
    cases.reject(alert.case, world.users["staff_a"], "误报")
    # when the sweep runs, then the alert whose case was rejected is closed
    assert services.sweep_silence(at(2))["closed"] == 1
    alert.refresh_from_db()
    assert alert.state == AlertState.CLOSED


def test_a_device_maintained_by_a_department_routes_its_case_there(world):
    smoke = make_device(
        world,
        "SMOKE-1",
        name="3栋烟感",
        kind=DeviceKind.SMOKE,
        region=world.dwellings["a1"].building,
        property_company=None,
        department=world.department,
    )
    feed(smoke, [(at(0), 0), (at(1), 1)])
    case = Case.objects.get()
    assert case.department == world.department and case.category.service_code == "emergency"
    assert case.building_id == smoke.building_id


def test_owner_must_serve_the_estate(world):
    from tongxin.regions.models import PropertyCompany

    other = PropertyCompany.objects.create(name="别家物业")
    with pytest.raises(services.SensorError):
        make_device(world, "X-1", property_company=other)


def test_staff_of_another_community_cannot_register_devices_here(world):
    from tongxin.core.policy import PolicyDenied

    with pytest.raises(PolicyDenied):
        services.register_device(
            world.users["staff_b"],
            Device(serial="X-2", name="x", kind=DeviceKind.FLOW, region=world.estate_a),
        )


def test_silence_sweep_takes_a_quiet_device_offline_and_alerts_once(pump):
    feed(pump, [(at(0), 0.35)])
    later = at(0) + dt.timedelta(minutes=pump.silence_minutes + 1)
    first = services.sweep_silence(later)
    second = services.sweep_silence(later + dt.timedelta(minutes=1))
    pump.refresh_from_db()
    assert first == {"offline": 1, "alerts": 1, "closed": 0} and not pump.online
    assert second["alerts"] == 0
    assert Alert.objects.get().rule == "silence"


def test_late_reading_is_stored_but_moves_no_alert(pump):
    feed(pump, [(at(10), 0.35)])
    feed(pump, [(at(5), 0.01)])  # older than the last one
    assert Reading.objects.filter(device=pump).count() == 2 and not Alert.objects.exists()


def test_meter_month_consumption_and_abnormal(meter):
    # given a month of readings, previous months with modest use
    today = timezone.localdate()
    month = today.replace(day=1)
    base = timezone.make_aware(dt.datetime.combine(month, dt.time(0, 30)))
    points = [
        (base + dt.timedelta(hours=h), 100 + h * 0.5)
        for h in range(min(48, (timezone.now() - base).days * 24 + 1))
    ]
    if len(points) < 2:
        pytest.skip("too early in the month for two readings")
    Ingestor(Source.MQTT).process([(meter.serial, t.isoformat(), v) for t, v in points])
    n = services.close_meter_months(month)
    row = MeterMonth.objects.get(device=meter, month=month)
    assert n == 1 and row.dwelling == meter.dwelling
    assert row.consumption == pytest.approx(points[-1][1] - 100)
    assert row.abnormal is False


def _elderly(world):
    tag, _ = Tag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})
    world.residents["a1"].tags.add(tag)
    return world.residents["a1"]


def test_no_water_for_24_hours_raises_one_care_signal_not_a_case(
    meter, world, django_capture_on_commit_callbacks
):
    resident = _elderly(world)
    now = timezone.now()
    points = [(now - dt.timedelta(hours=30 - h), 250.0) for h in range(31)]  # the index never moves
    Ingestor(Source.MQTT).process([(meter.serial, t.isoformat(), v) for t, v in points], now=now)
    heard = []
    care_signal_raised.connect(
        lambda sender, care_signal, **kw: heard.append(care_signal.pk), weak=False, dispatch_uid="t1"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            signals = services.detect_no_water_use(now)
            again = services.detect_no_water_use(now)
    finally:
        care_signal_raised.disconnect(dispatch_uid="t1")
    assert len(signals) == 1 and again == []
    signal = signals[0]
    assert signal.resident == resident and signal.dwelling == meter.dwelling
    assert heard == [signal.pk]
    assert not Case.objects.exists()
    # the care app took it on: a visit due today for the grid worker, told once (no second sensor notice)
    visit = Visit.objects.get(source_ref=f"sensors.caresignal:{signal.pk}")
    assert (
        visit.resident == resident and visit.due_on == timezone.localdate() and visit.state == VisitState.DUE
    )
    told = list(
        Notification.objects.filter(kind__in=["care_need", "sensor_care"]).values_list(
            "user__username", "kind"
        )
    )
    assert told == [("grid_1", "care_need")]


def test_the_care_visit_for_a_care_signal_closes_the_signal(meter, world, django_capture_on_commit_callbacks):
    """Given a care signal handed to the care app, when the grid worker records the visit on the care page,
    then the signal is closed as visited with what was found — and a resident without an address (nothing the
    care app can plan) still reaches the grid worker and the community as a sensor notice."""
    _elderly(world)
    now = timezone.now()
    points = [(now - dt.timedelta(hours=30 - h), 250.0) for h in range(31)]
    Ingestor(Source.MQTT).process([(meter.serial, t.isoformat(), v) for t, v in points], now=now)
    with django_capture_on_commit_callbacks(execute=True):
        (signal,) = services.detect_no_water_use(now)
    visit = Visit.objects.get(source_ref=f"sensors.caresignal:{signal.pk}")
    care.record_visit(world.users["grid_1"], visit, findings="老人外出探亲，已电话确认平安")
    signal.refresh_from_db()
    assert signal.state == CareSignalState.VISITED and signal.note == "老人外出探亲，已电话确认平安"
    assert signal.handled_by == world.users["grid_1"]


def test_a_care_signal_the_care_app_cannot_plan_still_reaches_the_grid_worker(
    meter, world, django_capture_on_commit_callbacks
):
    """Given an elderly resident living alone with no household on record (nothing the care app can visit), when
    the meter is quiet for 24 hours, then the grid worker and the community are told by the sensors themselves."""
    _elderly(world)
    Resident.objects.filter(pk=world.residents["a1"].pk).update(household=None)
    now = timezone.now()
    points = [(now - dt.timedelta(hours=30 - h), 250.0) for h in range(31)]
    Ingestor(Source.MQTT).process([(meter.serial, t.isoformat(), v) for t, v in points], now=now)
    with django_capture_on_commit_callbacks(execute=True):
        (signal,) = services.detect_no_water_use(now)
    assert not Visit.objects.exists() and signal.state == CareSignalState.OPEN
    notified = set(Notification.objects.filter(kind="sensor_care").values_list("user__username", flat=True))
    assert notified == {"grid_1", "staff_a"}


def test_a_dead_meter_or_a_busy_home_raises_nothing(meter, world):
    _elderly(world)
    now = timezone.now()
    # used water: the index moves
    Ingestor(Source.MQTT).process(
        [(meter.serial, (now - dt.timedelta(hours=30 - h)).isoformat(), 250.0 + h * 0.1) for h in range(31)],
        now=now,
    )
    assert services.detect_no_water_use(now) == []
    # a meter that stopped reporting a day ago: not evidence of a quiet home
    Reading.objects.all().delete()
    Ingestor(Source.MQTT).process(
        [(meter.serial, (now - dt.timedelta(hours=40 - h)).isoformat(), 250.0) for h in range(10)], now=now
    )
    assert services.detect_no_water_use(now) == []


def test_grid_worker_records_the_visit_and_others_may_not(meter, world):
    from tongxin.core.policy import PolicyDenied

    _elderly(world)
    now = timezone.now()
    Ingestor(Source.MQTT).process(
        [(meter.serial, (now - dt.timedelta(hours=30 - h)).isoformat(), 250.0) for h in range(31)], now=now
    )
    signal = services.detect_no_water_use(now)[0]
    for role in ("grid_3", "property", "resident"):
        with pytest.raises(PolicyDenied):
            services.record_care_visit(signal, world.users[role], visited=True, note="x")
    with pytest.raises(services.SensorError):
        services.record_care_visit(signal, world.users["grid_1"], visited=True, note=" ")
    services.record_care_visit(signal, world.users["grid_1"], visited=True, note="老人外出走亲戚，已电话确认")
    signal.refresh_from_db()
    assert signal.state == CareSignalState.VISITED and signal.handled_by == world.users["grid_1"]
    with pytest.raises(PolicyDenied):  # handled: no second answer
        services.record_care_visit(signal, world.users["grid_1"], visited=False, note="x")


def test_device_state_of_reads_the_open_alert(pump):
    feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    state = DeviceState.of(Device.objects.get(pk=pump.pk))
    assert state.alert_state == AlertState.ACTIVE and state.last_value == 0.05


def test_system_account_cannot_sign_in(pump):
    feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    bot = User.objects.get(username=services.SYSTEM_USERNAME)
    assert not bot.is_active and not bot.has_usable_password()


def test_a_failing_alert_does_not_lose_the_readings(pump, world):
    from tongxin.cases.models import Category

    # given no case category for the kind (a misconfigured deployment)
    Category.objects.filter(service_code="utilities").update(active=False)
    # when a drop arrives, then the readings are stored and no alert is left half-made
    outcome = feed(pump, [(at(0), 0.35), (at(1), 0.05)])
    assert outcome.stored == 2 and not Alert.objects.exists() and not Case.objects.exists()
