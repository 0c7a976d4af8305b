"""The sensors demo: a pump room and meters in 满庭春 with a week of readings and one open sensor case."""

from __future__ import annotations

import datetime as dt
import io
import random

from django.core.management import call_command
from django.db.models import Max, Min

from tongxin.cases.choices import OPEN_STATES
from tongxin.sensors import demo
from tongxin.sensors.choices import AlertState
from tongxin.sensors.models import Alert, CareSignal, Device, MeterMonth, Reading


def test_demo_has_a_pump_room_meters_a_week_of_readings_and_one_open_sensor_case(db):
    call_command(
        "load_demo", "--scale", "0.02", "--foundation-only", stdout=io.StringIO(), stderr=io.StringIO()
    )
    out = io.StringIO()
    demo.load(random.Random(1), out)
    # a pump room in 满庭春小区 maintained by its property company
    pump_room = Device.objects.filter(
        place=demo.PUMP_ROOM, estate__name="满庭春", estate__parent__name="满庭春社区"
    )
    assert pump_room.filter(kind="water_pressure").exists() and pump_room.filter(kind="tank_level").exists()
    assert not pump_room.filter(property_company__isnull=True).exists()
    # meters in its flats
    meters = Device.objects.meters().filter(estate__name="满庭春", dwelling__isnull=False)
    assert meters.filter(kind="water_meter").count() >= 10
    # a week of readings
    span = Reading.objects.aggregate(a=Min("measured_at"), b=Max("measured_at"))
    assert span["b"] - span["a"] >= dt.timedelta(days=7)
    # exactly one open sensor case, dispatched to the property company
    active = Alert.objects.filter(state=AlertState.ACTIVE).select_related("case__property_company")
    assert active.count() == 1
    case = active.get().case
    assert case.state in OPEN_STATES and case.property_company.name == "满庭春第一物业服务公司"
    # and one that recovered (noted on its case) and was resolved
    closed = Alert.objects.get(state=AlertState.CLOSED)
    assert closed.recovered_at and closed.case.events.filter(type="comment").exists()
    assert MeterMonth.objects.exists()
    assert Device.objects.filter(online=False, kind="door").exists()
    assert CareSignal.objects.count() <= 1
    # a second run changes nothing
    demo.load(random.Random(1), out)
    assert "already loaded" in out.getvalue()
