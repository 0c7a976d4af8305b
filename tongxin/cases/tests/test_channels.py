"""Intake channels: 热线, 网格巡查 and 服务窗口 are chosen on the staff form and accepted by the API, and the
rates count each channel apart."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from tongxin.cases import rates
from tongxin.cases.choices import Channel
from tongxin.cases.models import Case

URL = "/api/v1/cases/"


def post(client, data):
    return client.post(URL, data=json.dumps(data), content_type="application/json")


def intake(client, channel, description="垃圾桶满溢无人清运", **extra):
    data = {
        "channel": channel,
        "category": "environment",
        "description": description,
        "address": "锦绣江山3栋",
    }
    data.update(extra)
    return client.post("/cases/intake/", data)


@pytest.mark.django_db
def test_staff_form_records_the_chosen_channel(world):
    # given community staff on the intake screen
    client = world.client("staff_a")
    page = client.get("/cases/intake/")
    # then the three staff channels are offered, 热线 preselected
    html = page.content.decode()
    for value in ("hotline", "grid_patrol", "front_desk"):
        assert f'value="{value}"' in html
    assert 'value="hotline" checked' in html
    # when a walk-in and a patrol finding are registered
    assert intake(client, "front_desk").status_code == 302
    assert intake(client, "grid_patrol", description="路灯不亮").status_code == 302
    # then each case carries its channel, not 热线
    assert sorted(Case.objects.values_list("channel", flat=True)) == ["front_desk", "grid_patrol"]


@pytest.mark.django_db
def test_grid_worker_gets_patrol_preselected_and_a_link_can_choose(world):
    html = world.client("grid_1").get("/cases/intake/").content.decode()
    assert 'value="grid_patrol" checked' in html
    html = world.client("staff_a").get("/cases/intake/?channel=window").content.decode()
    assert 'value="front_desk" checked' in html


@pytest.mark.django_db
def test_staff_form_refuses_a_channel_that_is_not_a_staff_channel(world):
    r = intake(world.client("staff_a"), "resident_app")
    assert r.status_code == 200 and not Case.objects.exists()
    assert "channel" in r.context["form"].errors


@pytest.mark.django_db
@pytest.mark.parametrize(("asked", "stored"), [("grid_patrol", "grid_patrol"), ("window", "front_desk")])
def test_api_accepts_patrol_and_window_from_staff(world, asked, stored):
    r = post(
        world.client("grid_1"),
        {"channel": asked, "category": "environment", "description": "垃圾堆放", "address": "锦绣江山3栋"},
    )
    assert r.status_code == 201, r.content
    assert r.json()["channel"] == stored


@pytest.mark.django_db
def test_api_refuses_a_staff_channel_to_a_resident(world):
    r = post(
        world.client("resident"),
        {"channel": "grid_patrol", "category": "environment", "description": "垃圾堆放"},
    )
    assert r.status_code == 403
    assert r.json()["code"] == "channel_not_allowed" and r.json()["field"] == "channel"
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_api_refuses_an_unknown_channel(world):
    r = post(
        world.client("staff_a"),
        {"channel": "fax", "category": "environment", "description": "垃圾堆放", "address": "锦绣江山3栋"},
    )
    assert r.status_code == 422 and not Case.objects.exists()


@pytest.mark.django_db
def test_counts_per_channel(world):
    # given cases through four channels
    client = world.client("staff_a")
    for ch in ("hotline", "hotline", "grid_patrol", "front_desk"):
        assert intake(client, ch, description=f"垃圾 {ch} {Case.objects.count()}").status_code == 302
    post(world.client("resident"), {"category": "environment", "description": "楼道堆物"})
    # then the rates count each channel apart, and the total is their sum
    day = timezone.localdate()
    got = {
        ch: rates.counters(rates.Filters(start=day, end=day, channel=ch))["received"]
        for ch in (Channel.HOTLINE, Channel.GRID_PATROL, Channel.FRONT_DESK, Channel.RESIDENT_APP)
    }
    assert got == {"hotline": 2, "grid_patrol": 1, "front_desk": 1, "resident_app": 1}
    assert rates.counters(rates.Filters(start=day, end=day))["received"] == 5


@pytest.mark.django_db
def test_resident_sees_repairs_not_the_staff_tiers(world):
    html = world.client("resident").get("/cases/m/new/").content.decode()
    assert "房屋报修" in html and "房屋漏水" in html
    for tier in ('value="repairs-small"', 'value="repairs-medium"', 'value="repairs-large"'):
        assert tier not in html


@pytest.mark.django_db
def test_record_and_dispatch_in_one_step(world):
    # given the hotline screen and a leak in 锦绣江山 (one property company serves it)
    client = world.client("staff_a")
    data = {
        "channel": "hotline",
        "category": "repairs-leak",
        "description": "楼顶漏水",
        "address": "锦绣江山3栋",
    }
    # when the operator records it with 派给所在小区的物业公司
    r = client.post("/cases/intake/", {**data, "dispatch_to": "company"})
    # then the case is registered and dispatched to that company in one step
    assert r.status_code == 302
    case = Case.objects.get()
    assert case.state == "dispatched" and case.property_company_id == world.property_company.pk
    # and to the grid's worker
    client.post("/cases/intake/", {**data, "description": "楼道灯不亮", "dispatch_to": "grid"})
    assert Case.objects.get(description="楼道灯不亮").assignee == world.users["grid_1"]
    # and to a department of the subdistrict
    client.post(
        "/cases/intake/",
        {**data, "description": "井盖缺失", "dispatch_to": f"department:{world.department.pk}"},
    )
    assert Case.objects.get(description="井盖缺失").department_id == world.department.pk


@pytest.mark.django_db
def test_record_and_dispatch_refused_records_nothing(world):
    # given 富丰新城 (大新社区): no property company serves it
    client = world.client("staff_b")
    r = client.post(
        "/cases/intake/",
        {
            "category": "repairs-leak",
            "description": "楼顶漏水",
            "address": "富丰新城12栋",
            "dispatch_to": "company",
        },
    )
    # then the screen says why and nothing is registered
    assert r.status_code == 200 and "物业公司" in r.content.decode()
    assert not Case.objects.exists()
