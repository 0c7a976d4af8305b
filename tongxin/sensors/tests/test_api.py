"""The sensors API: who sees which device (policy), the gateway endpoint (device token, batches, idempotent),
markers and overview, and constant queries on lists."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tongxin.sensors import services
from tongxin.sensors.choices import DeviceKind
from tongxin.sensors.models import Alert, Reading
from tongxin.sensors.tests.conftest import at, make_device


def post_batch(token: str, readings: list[dict]) -> object:
    return Client().post(
        "/api/v1/sensors/readings",
        data=json.dumps({"readings": readings}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_gateway_posts_a_batch_and_a_repeat_is_idempotent(pump, world):
    # given a device token issued by community staff
    token = services.issue_token(world.users["staff_a"], pump)
    batch = [{"t": at(i).isoformat(), "v": 0.35} for i in range(20)] + [{"t": at(20).isoformat(), "v": 0.05}]
    # when the gateway posts the batch, then everything is stored and the drop opens the one case
    r = post_batch(token, batch)
    assert r.status_code == 200, r.content
    assert r.json() == {"stored": 21, "duplicates": 0, "rejected": []}
    assert Alert.objects.get().case.property_company == world.property_company
    # when it posts the same batch again (a retry), then nothing new is stored and no second case opens
    r = post_batch(token, batch)
    assert r.json() == {"stored": 0, "duplicates": 21, "rejected": []}
    assert Reading.objects.count() == 21 and Alert.objects.count() == 1


def test_gateway_rejections_name_the_index_and_reason(pump, world):
    token = services.issue_token(world.users["staff_a"], pump)
    r = post_batch(
        token,
        [{"t": at(0).isoformat(), "v": 0.3}, {"t": "soon", "v": 0.3}, {"t": at(1).isoformat(), "v": 99}],
    )
    assert r.json() == {
        "stored": 1,
        "duplicates": 0,
        "rejected": [{"index": 1, "reason": "malformed"}, {"index": 2, "reason": "impossible_value"}],
    }


@pytest.mark.parametrize("header", ["", "Bearer dev_wrong", "Bearer not-a-device-token"])
def test_gateway_without_a_valid_token_is_refused(pump, header):
    r = Client().post(
        "/api/v1/sensors/readings",
        data=json.dumps({"readings": [{"t": at(0).isoformat(), "v": 0.3}]}),
        content_type="application/json",
        headers={"Authorization": header} if header else {},
    )
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert not Reading.objects.exists()


def test_a_new_token_replaces_the_old_and_an_inactive_device_has_none(pump, world):
    old = services.issue_token(world.users["staff_a"], pump)
    new = services.issue_token(world.users["staff_a"], pump)
    assert post_batch(old, [{"t": at(0).isoformat(), "v": 0.3}]).status_code == 401
    assert post_batch(new, [{"t": at(0).isoformat(), "v": 0.3}]).status_code == 200
    services.update_device(world.users["staff_a"], pump, active=False)
    assert post_batch(new, [{"t": at(1).isoformat(), "v": 0.3}]).status_code == 401


def test_batch_size_is_bounded(pump, world):
    token = services.issue_token(world.users["staff_a"], pump)
    r = post_batch(token, [{"t": at(i / 1000).isoformat(), "v": 0.3} for i in range(5001)])
    assert r.status_code == 422


@pytest.fixture
def devices(world, pump):
    dept_smoke = make_device(
        world,
        "SMOKE-B",
        name="富丰烟感",
        kind=DeviceKind.SMOKE,
        region=world.estate_b,
        property_company=None,
        department=world.department,
    )
    other = make_device(
        world, "FLOW-B", name="富丰流量", kind=DeviceKind.FLOW, region=world.estate_b, property_company=None
    )
    return {"pump": pump, "dept_smoke": dept_smoke, "other": other}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", {"pump", "dept_smoke", "other"}),
        ("staff_a", {"pump"}),
        ("staff_b", {"dept_smoke", "other"}),
        ("grid_1", {"pump"}),  # the pump room serves 锦绣江山, where grid 1 has a building
        (
            "grid_3",
            {"dept_smoke", "other"},
        ),  # both stand at 富丰新城's estate level, where grid 3 has buildings
        ("property", {"pump"}),  # the company maintains the pump
        ("department", {"dept_smoke"}),  # the department maintains the smoke detector
    ],
)
def test_each_role_sees_its_devices(world, devices, role, expected):
    r = world.client(role).get("/api/v1/sensors/devices")
    assert r.status_code == 200
    names = {k for k, d in devices.items() if d.pk in {i["id"] for i in r.json()["items"]}}
    assert names == expected


@pytest.mark.parametrize("role", ["resident", "volunteer"])
def test_residents_and_volunteers_see_nothing(world, devices, role):
    c = world.client(role)
    assert c.get("/api/v1/sensors/devices").status_code == 404
    assert c.get(f"/api/v1/sensors/devices/{devices['pump'].pk}").status_code == 404
    assert c.get("/api/v1/sensors/markers").status_code == 404


def test_anonymous_is_asked_to_sign_in(devices):
    assert Client().get("/api/v1/sensors/devices").status_code == 401


def test_out_of_scope_device_is_not_found(world, devices):
    r = world.client("staff_b").get(f"/api/v1/sensors/devices/{devices['pump'].pk}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = world.client("staff_b").get(f"/api/v1/sensors/devices/{devices['pump'].pk}/readings")
    assert r.status_code == 404


def test_readings_markers_and_overview(world, pump):
    from tongxin.sensors.ingest import Ingestor

    services.update_device(world.users["staff_a"], pump, latitude=30.3582, longitude=113.4272)
    Ingestor("mqtt").process(
        [(pump.serial, at(i).isoformat(), 0.35) for i in range(5)] + [(pump.serial, at(5).isoformat(), 0.05)]
    )
    c = world.client("staff_a")
    series = c.get(f"/api/v1/sensors/devices/{pump.pk}/readings").json()
    assert series["v"] == [0.35] * 5 + [0.05] and series["low"] == pump.low
    markers = c.get("/api/v1/sensors/markers").json()["items"]
    assert [(m["id"], m["status"]) for m in markers] == [(pump.pk, "alert")]
    overview = c.get("/api/v1/sensors/overview").json()
    assert overview["total"] == 1 and overview["open_alerts"][0]["estate"] == "锦绣江山"
    alerts = c.get("/api/v1/sensors/alerts?open=true").json()
    assert alerts["count"] == 1 and alerts["items"][0]["case_number"]


def test_device_list_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    for i in range(30):
        make_device(world, f"P-{i}")
    c = world.client("staff_a")
    with django_assert_max_num_queries(8):
        r = c.get("/api/v1/sensors/devices?page_size=50")
    assert r.json()["count"] == 30
