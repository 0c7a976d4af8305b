"""Demo rows for sensors (seed 000: 满庭春 watches water supply, pipe networks and meters — 社区用水监测、管网监测、
智能抄表): a pump room in 满庭春小区 with pressure, tank level and flow sensors maintained by the property company,
elevator fault signals and a door sensor, water and electricity meters in its flats, and a week of readings.

Everything goes through the real ingestion (:class:`tongxin.sensors.ingest.Ingestor`), so what the demo shows is
what the subscriber would have done: a tank that ran low three days ago raised an alert and a case, recovered
(recorded on the case) and the property company resolved it; the pipe network's end pressure dropped 90 minutes
ago and its case is open, dispatched to the property company; a door sensor went silent two days ago (offline); an
elderly resident living alone used no water for 30 hours (a care signal for the grid worker); meters' months are
computed. Deterministic for a given ``rng`` (times are relative to now).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from tongxin.sensors.choices import DeviceKind, Source

PUMP_ROOM = "1号泵房"
STEP = dt.timedelta(minutes=5)


def load(rng: random.Random, out: Any) -> None:
    from tongxin.core.models import User
    from tongxin.people.models import Resident
    from tongxin.regions.models import Dwelling, PropertyCompany, Region
    from tongxin.sensors import services
    from tongxin.sensors.ingest import Ingestor
    from tongxin.sensors.models import Alert, Device

    if Device.objects.exists():
        out.write("  sensors demo already loaded\n")
        return
    estate = Region.objects.filter(kind="estate", name="满庭春", parent__name="满庭春社区").first()
    if estate is None:
        out.write("  sensors demo: no 满庭春 estate (foundation not loaded)\n")
        return
    company = PropertyCompany.objects.filter(estates=estate).order_by("pk").first()
    admin = User.objects.filter(username="mtc").first() or User.objects.filter(is_superuser=True).first()
    buildings = list(Region.objects.filter(parent=estate, kind="building").order_by("pk"))
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=7)

    def device(serial: str, name: str, kind: str, region: Any, place: str = "", **extra: Any) -> Device:
        fields = {**services.defaults_for(kind), **extra}
        return services.register_device(
            admin,
            Device(
                serial=serial,
                name=name,
                kind=kind,
                region=region,
                place=place,
                property_company=company,
                **fields,
            ),
        )

    pressure_out = device("MTC-PR-01", "泵房出水压力", DeviceKind.WATER_PRESSURE, estate, PUMP_ROOM)
    pressure_end = device("MTC-PR-02", "管网末端压力", DeviceKind.WATER_PRESSURE, buildings[-1], "末端阀门井")
    tank = device("MTC-LV-01", "生活水箱液位", DeviceKind.TANK_LEVEL, estate, PUMP_ROOM)
    flow = device("MTC-FL-01", "总管流量", DeviceKind.FLOW, estate, PUMP_ROOM)
    lifts = [
        device(
            f"MTC-EL-{b.number or i + 1:0>2}",
            f"{b.name}电梯故障信号",
            DeviceKind.ELEVATOR_FAULT,
            b,
            "电梯机房",
        )
        for i, b in enumerate(buildings[:2])
    ]
    door = device("MTC-DR-01", "泵房门磁", DeviceKind.DOOR, estate, PUMP_ROOM)

    # meters: the flats of the first three buildings (water), every other one electricity too
    flats = list(
        Dwelling.objects.filter(building__in=buildings[:3]).select_related("entrance").order_by("pk")[:40]
    )
    elderly = (
        Resident.objects.filter(tags__code="elderly_alone", status="active", dwelling__estate=estate)
        .order_by("pk")
        .first()
        or Resident.objects.filter(
            tags__code="elderly_alone", status="active", dwelling__community=estate.parent
        )
        .order_by("pk")
        .first()
    )
    if elderly is not None and elderly.dwelling_id and elderly.dwelling_id not in {d.pk for d in flats}:
        flats.append(Dwelling.objects.select_related("entrance").get(pk=elderly.dwelling_id))
    water: dict[int, Device] = {}
    power: list[Device] = []
    for i, d in enumerate(flats):
        label = f"{d.building_id}-{d.entrance.number}-{d.number}"
        water[d.pk] = device(
            f"MTC-WM-{d.pk}", f"{label} 水表", DeviceKind.WATER_METER, d.entrance, "水表井", dwelling=d
        )
        if i % 2 == 0:
            power.append(
                device(
                    f"MTC-EM-{d.pk}",
                    f"{label} 电表",
                    DeviceKind.ELECTRICITY_METER,
                    d.entrance,
                    "电表箱",
                    dwelling=d,
                )
            )

    ingest = Ingestor(Source.MQTT)
    rows: list[tuple[Any, Any, Any]] = []

    def put(dev: Device, t: dt.datetime, v: float) -> None:
        rows.append((dev.serial, t.isoformat(), round(v, 4)))

    burst_at = now - dt.timedelta(minutes=90)
    tank_low = (now - dt.timedelta(days=3, hours=5), now - dt.timedelta(days=3, hours=4, minutes=25))
    t = start
    while t <= now:
        hour = timezone.localtime(t).hour
        demand = 1.0 + (0.6 if 6 <= hour <= 9 or 18 <= hour <= 22 else 0.0)
        put(pressure_out, t, 0.42 - 0.03 * demand + rng.uniform(-0.01, 0.01))
        end = 0.33 - 0.03 * demand + rng.uniform(-0.01, 0.01)
        put(pressure_end, t, rng.uniform(0.04, 0.08) if t >= burst_at else end)
        level = 3.2 - 0.5 * demand + rng.uniform(-0.05, 0.05)
        put(tank, t, rng.uniform(0.3, 0.45) if tank_low[0] <= t < tank_low[1] else level)
        put(flow, t, 35 * demand + rng.uniform(-4, 4) + (40 if t >= burst_at else 0))
        for lift in lifts:  # a heartbeat every 5 minutes: 0 = no fault
            put(lift, t, 0)
        if t.minute == 0 and t <= now - dt.timedelta(days=2):  # the door sensor went silent two days ago
            put(door, t, 0)
        t += STEP

    index = {pk: rng.uniform(120, 900) for pk in water}
    kwh = {m.pk: rng.uniform(2000, 9000) for m in power}
    quiet_from = now - dt.timedelta(hours=30)
    t = start
    while t <= now:
        hour = timezone.localtime(t).hour
        awake = 6 <= hour <= 22
        for dwelling_id, meter in water.items():
            still = elderly is not None and dwelling_id == elderly.dwelling_id and t >= quiet_from
            if not still:
                index[dwelling_id] += rng.uniform(0.01, 0.06) if awake else rng.uniform(0, 0.005)
            put(meter, t, index[dwelling_id])
        for meter in power:
            kwh[meter.pk] += rng.uniform(0.3, 1.2) if awake else rng.uniform(0.05, 0.2)
            put(meter, t, kwh[meter.pk])
        t += dt.timedelta(hours=1)

    rows.sort(key=lambda r: r[1])  # in time order, as they would have arrived
    stored = 0
    for i in range(0, len(rows), 5000):
        outcome = ingest.process(rows[i : i + 5000], now=now)
        stored += outcome.stored

    # the tank alert: recovered (comment on its case) and resolved by the property company
    tank_alert = Alert.objects.filter(device=tank).select_related("case").first()
    staff = User.objects.filter(username="wuye").first()
    if tank_alert is not None and tank_alert.case is not None and staff is not None:
        from tongxin.cases import services as cases

        cases.start(tank_alert.case, staff)
        cases.resolve(tank_alert.case, staff, "水箱进水阀卡滞，已清理并更换浮球阀，液位恢复正常。")
    services.sweep_silence(now)
    months = {start.date().replace(day=1), now.date().replace(day=1)}
    for month in sorted(months):
        services.close_meter_months(month)
    signals = services.detect_no_water_use(now)
    open_cases = Alert.objects.filter(state="active").count()
    out.write(
        f"  sensors: {Device.objects.count()} devices, {stored} readings over 7 days, "
        f"{Alert.objects.count()} alerts ({open_cases} active), {len(signals)} care signal(s)\n"
    )
