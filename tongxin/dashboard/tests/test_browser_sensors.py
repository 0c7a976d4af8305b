"""Browser (sensors on the dashboard's fixtures): the reading chart draws on the device page and on the case page, device markers appear on the grid map,
and the grid worker's care pages fit a 375 px phone. Screenshots in test-output/screenshots/sensors_*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.conftest import DESKTOP, PASSWORD, PHONE, SCREENSHOTS, login
from tongxin.people.models import Tag
from tongxin.sensors import services
from tongxin.sensors.choices import DeviceKind, Source
from tongxin.sensors.ingest import Ingestor
from tongxin.sensors.models import Alert
from tongxin.sensors.tests.conftest import make_device

pytestmark = [pytest.mark.browser]


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"sensors_{name}.png"), full_page=True)


def test_sensor_charts_markers_and_care_pages(live_server, world, default_categories, new_page):
    pump = make_device(world)
    meter = make_device(
        world,
        "MTC-WM-A1",
        name="a1 水表",
        kind=DeviceKind.WATER_METER,
        region=world.dwellings["a1"].entrance,
        dwelling=world.dwellings["a1"],
    )
    # given a pump with a day of readings ending in a drop, located on the map, and a quiet elderly home
    services.update_device(world.users["staff_a"], pump, latitude=30.3582, longitude=113.4272)
    now = timezone.now()
    points = [(now - dt.timedelta(minutes=5 * (288 - i)), 0.35 + (i % 7) / 100) for i in range(280)]
    points += [(now - dt.timedelta(minutes=5 * (8 - i)), 0.05) for i in range(8)]
    Ingestor(Source.MQTT).process([(pump.serial, t.isoformat(), v) for t, v in points], now=now)
    alert = Alert.objects.get()
    tag, _ = Tag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})
    world.residents["a1"].tags.add(tag)
    Ingestor(Source.MQTT).process(
        [(meter.serial, (now - dt.timedelta(hours=30 - h)).isoformat(), 250.0) for h in range(31)], now=now
    )
    signal = services.detect_no_water_use(now)[0]

    # when community staff open the device page, then the chart draws the readings
    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto(f"/sensors/devices/{pump.pk}/")
    staff.wait_for_selector("canvas[data-ready='1']", timeout=15000)
    assert int(staff.get_attribute("canvas[data-readings-url]", "data-points")) > 100
    shot(staff, "device")
    # and the alert page shows the same history around the alert
    staff.goto(f"/sensors/alerts/{alert.pk}/")
    staff.wait_for_selector("canvas[data-ready='1']", timeout=15000)
    shot(staff, "alert")
    # when they open the grid map, then the device is a marker coloured as alerting
    staff.goto("/dashboard/map/")
    staff.wait_for_selector("#sensor-markers[data-ready='1']", state="attached", timeout=15000)
    assert staff.get_attribute("#sensor-markers", "data-count") == "1"
    shot(staff, "map")

    # when the grid worker opens the care signal on a phone, then it fits 375 px and the visit can be recorded
    phone = new_page(PHONE)
    login(phone, "grid_1", PASSWORD)
    phone.goto("/sensors/care/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.click(f"a[href='/sensors/care/{signal.pk}/']")
    phone.wait_for_url(f"**/sensors/care/{signal.pk}/")
    phone.wait_for_load_state()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "care")
    phone.check("input[value=visited]")
    phone.fill("textarea[name=note]", "已上门，老人在家，身体无恙")
    phone.click("button.primary")
    phone.wait_for_selector("text=已记录")
    signal.refresh_from_db()
    assert signal.state == "visited"
