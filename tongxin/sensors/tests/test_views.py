"""Sensors pages: who may open them, registering a device and issuing its token on a page, the care-visit form,
and the snippets the case page, the dashboard and the grid map include."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from tongxin.people.models import Tag
from tongxin.sensors import services
from tongxin.sensors.choices import DeviceKind, Source
from tongxin.sensors.ingest import Ingestor
from tongxin.sensors.models import Alert, CareSignal, Device
from tongxin.sensors.tests.conftest import at


def drop(pump: Device) -> Alert:
    Ingestor(Source.MQTT).process(
        [(pump.serial, at(i).isoformat(), 0.35) for i in range(3)] + [(pump.serial, at(3).isoformat(), 0.05)]
    )
    return Alert.objects.get()


@pytest.mark.parametrize("url", ["/sensors/", "/sensors/alerts/", "/sensors/meters/"])
def test_staff_pages_open_and_residents_get_404(world, pump, url):
    assert world.client("staff_a").get(url).status_code == 200
    assert world.client("property").get(url).status_code == 200
    assert world.client("resident").get(url).status_code == 404


def test_device_page_shows_the_chart_and_alerts(world, pump):
    alert = drop(pump)
    page = world.client("staff_a").get(f"/sensors/devices/{pump.pk}/").content.decode()
    assert "data-readings-url" in page and alert.case.number in page and "修改阈值与维护单位" in page
    # property staff see the device but may not change it
    page = world.client("property").get(f"/sensors/devices/{pump.pk}/").content.decode()
    assert alert.case.number in page and "修改阈值与维护单位" not in page
    assert world.client("property").get(f"/sensors/devices/{pump.pk}/edit/").status_code == 404
    # staff of the other community: not found
    assert world.client("staff_b").get(f"/sensors/devices/{pump.pk}/").status_code == 404
    data = world.client("staff_a").get(f"/sensors/devices/{pump.pk}/readings.json").json()
    assert data["v"][-1] == 0.05


def test_registering_a_meter_and_issuing_its_token_on_pages(world):
    c = world.client("staff_a")
    entrance = world.dwellings["a1"].entrance
    r = c.post(
        "/sensors/devices/new/",
        {
            "serial": "WM-A1",
            "name": "3栋2单元501水表",
            "kind": DeviceKind.WATER_METER,
            "region": entrance.pk,
            "dwelling_number": "501",
            "recover_after": 3,
            "property_company": world.property_company.pk,
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    device = Device.objects.get(serial="WM-A1")
    assert device.dwelling == world.dwellings["a1"] and device.unit == "m³" and device.silence_minutes == 1440
    # when the staff issues a token, then it is shown once
    c.post(f"/sensors/devices/{device.pk}/token/")
    first = c.get(f"/sensors/devices/{device.pk}/").content.decode()
    second = c.get(f"/sensors/devices/{device.pk}/").content.decode()
    assert 'id="device-token"' in first and 'id="device-token"' not in second
    device.refresh_from_db()
    assert device.token_prefix and device.token_prefix in second


def test_a_flat_number_that_does_not_exist_is_refused(world):
    r = world.client("staff_a").post(
        "/sensors/devices/new/",
        {
            "serial": "WM-X",
            "name": "x",
            "kind": DeviceKind.WATER_METER,
            "region": world.dwellings["a1"].entrance.pk,
            "dwelling_number": "9999",
            "recover_after": 3,
        },
    )
    assert r.status_code == 200 and "该单元下没有这个房号" in r.content.decode()
    assert not Device.objects.filter(serial="WM-X").exists()


def test_thresholds_are_changed_on_the_edit_page(world, pump):
    r = world.client("staff_a").post(
        f"/sensors/devices/{pump.pk}/edit/",
        {
            "name": pump.name,
            "place": pump.place,
            "low": "0.2",
            "high": "0.9",
            "recover_after": 5,
            "silence_minutes": 15,
            "property_company": world.property_company.pk,
            "active": "on",
        },
    )
    assert r.status_code == 302
    pump.refresh_from_db()
    assert (pump.low, pump.high, pump.recover_after, pump.rate_per_minute) == (0.2, 0.9, 5, None)


def test_care_signal_page_and_visit_form(world, meter):
    tag, _ = Tag.objects.get_or_create(code="elderly_alone", defaults={"name": "独居老人"})
    world.residents["a1"].tags.add(tag)
    now = timezone.now()
    Ingestor(Source.MQTT).process(
        [(meter.serial, (now - dt.timedelta(hours=30 - h)).isoformat(), 250.0) for h in range(31)], now=now
    )
    signal = services.detect_no_water_use(now)[0]
    c = world.client("grid_1")
    assert "张三" in c.get("/sensors/care/").content.decode()
    assert world.client("property").get("/sensors/care/").status_code == 404
    assert world.client("grid_3").get(f"/sensors/care/{signal.pk}/").status_code == 404
    r = c.post(
        f"/sensors/care/{signal.pk}/", {"outcome": "visited", "note": "已上门，老人身体不适，已联系家属"}
    )
    assert r.status_code == 302
    signal.refresh_from_db()
    assert signal.state == "visited"
    # handled: a second answer is refused
    assert c.post(f"/sensors/care/{signal.pk}/", {"outcome": "dismissed", "note": "x"}).status_code == 403
    assert CareSignal.objects.get().note.startswith("已上门")


def test_case_chart_endpoint_and_snippet(world, pump):
    alert = drop(pump)
    url = f"/sensors/cases/{alert.case_id}/readings.json"
    data = world.client("property").get(url).json()
    assert data["v"][-1] == 0.05 and data["opened_at"]
    assert world.client("staff_b").get(url).status_code == 404
    assert world.client("resident").get(url).status_code == 404
    request = RequestFactory().get("/")
    request.user = world.users["staff_a"]
    html = Template("{% load sensor_tags %}{% sensor_case_chart case %}").render(
        Context({"request": request, "case": alert.case})
    )
    assert url in html and "sensors.js" in html
    request.user = world.users["staff_b"]
    assert (
        Template("{% load sensor_tags %}{% sensor_case_chart case %}")
        .render(Context({"request": request, "case": alert.case}))
        .strip()
        == ""
    )


def test_dashboard_tiles_and_map_markers_snippets(world, pump):
    drop(pump)
    page = world.client("staff_a").get("/dashboard/").content.decode()
    assert 'id="sensor-tiles"' in page and "锦绣江山" in page
    page = world.client("staff_a").get("/dashboard/map/").content.decode()
    assert 'id="sensor-markers"' in page and "/sensors/markers.json" in page
    markers = world.client("staff_a").get("/sensors/markers.json").json()["markers"]
    assert markers == [] or markers[0]["status"] == "alert"


def test_ingest_counts_page_is_for_managers(world, pump):
    Ingestor(Source.HTTP).process([(pump.serial, at(0).isoformat(), 0.3), None])
    page = world.client("staff_a").get("/sensors/ingest/").content.decode()
    assert "stored" in page and "malformed" in page
    assert world.client("grid_1").get("/sensors/ingest/").status_code == 404


def test_device_list_query_count(world, django_assert_max_num_queries):
    from tongxin.sensors.tests.conftest import make_device

    for i in range(25):
        make_device(world, f"P-{i}")
    c = world.client("staff_a")
    c.get("/sensors/")
    with django_assert_max_num_queries(14):
        r = c.get("/sensors/")
    assert r.status_code == 200 and r.content.decode().count("P-") >= 25


def test_the_case_page_shows_the_reading_history_of_a_sensor_case(world, pump, default_categories):
    """Given a pressure drop that opened a case, when community staff open the case page, then the reading history
    chart is on it (a panel the sensors register with the case page); an ordinary case's page has none."""
    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    alert = drop(pump)
    page = world.client("staff_a").get(f"/cases/{alert.case_id}/").content.decode()
    assert 'id="sensor-readings"' in page and f"/sensors/cases/{alert.case_id}/readings.json" in page
    ordinary = cases.submit(
        channel="hotline",
        category=Category.objects.filter(parent__isnull=False).first(),
        description="楼道灯坏了",
        dwelling=world.dwellings["a1"],
        actor=world.users["staff_a"],
    )
    page = world.client("staff_a").get(f"/cases/{ordinary.pk}/").content.decode()
    assert "办理过程" in page and 'id="sensor-readings"' not in page
