"""The doorstep and 双报到 API: residents book and follow on their phone, staff finish at the back office; lists
are the one envelope with a constant number of queries, refusals the one error body, other communities 404."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from tongxin.core import pii
from tongxin.doorstep import services
from tongxin.doorstep.tests.conftest import resident_user, tomorrow_at
from tongxin.party.models import CoBuildingUnit, PartyMember

API = "/api/v1/doorstep"


def _post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_a_resident_lists_services_books_a_slot_and_sees_the_appointment(hall, django_assert_max_num_queries):
    c = hall.world.client("resident")
    with django_assert_max_num_queries(10):
        r = c.get(f"{API}/mine/functions")
    assert r.status_code == 200 and r.json()["count"] == 2
    assert r.json()["items"][0]["materials"] == ["身份证", "户口簿"]
    slots = c.get(f"{API}/mine/slots?function={hall.pension.pk}").json()["items"]
    assert [s["booked"] for s in slots] == [0, 0]
    r = _post(c, f"{API}/mine/slots/{hall.slot.pk}/book")
    assert r.status_code == 201 and r.json()["queue_number"] == "A001"
    r = _post(c, f"{API}/mine/slots/{hall.slot.pk}/book")
    assert r.status_code == 422 and r.json()["code"] and r.json()["message"]
    assert c.get(f"{API}/mine/appointments").json()["count"] == 1


def test_other_communities_and_roles_get_404_or_401(hall, client):
    b_user = resident_user(hall.world, "res_b", "钱七", 71, dwelling="b1")
    client.force_login(b_user)
    r = _post(client, f"{API}/mine/slots/{hall.slot.pk}/book")
    assert r.status_code == 404 and set(r.json()) >= {"code", "message", "field"}
    assert hall.world.client("property").get(f"{API}/requests").status_code == 404
    client.logout()
    assert client.get(f"{API}/mine/functions").status_code == 401


def test_staff_list_the_back_office_and_finish(hall, django_assert_max_num_queries):
    staff = hall.world.users["staff_a"]
    for i in range(3):
        services.receive(staff, hall.pension, name=f"居民{i}")
    c = hall.world.client("staff_a")
    with django_assert_max_num_queries(10):
        r = c.get(f"{API}/requests")
    assert r.json()["count"] == 3
    first = r.json()["items"][0]["id"]
    r = _post(c, f"{API}/requests/{first}/finish", {"result": "已办结"})
    assert r.status_code == 200 and r.json()["state"] == "done"
    r = _post(c, f"{API}/requests/{first}/finish", {"result": "again"})
    assert r.status_code == 403
    assert (
        _post(hall.world.client("staff_b"), f"{API}/requests/{first}/finish", {"result": "x"}).status_code
        == 404
    )
    r = _post(c, f"{API}/requests/{r.json().get('id', first)}/finish", {})
    assert r.status_code in (403, 422)


def test_rooms_clash_over_the_api_with_the_field_named(hall):
    c = hall.world.client("resident")
    body = {
        "starts_at": tomorrow_at(19).isoformat(),
        "ends_at": tomorrow_at(20).isoformat(),
        "purpose": "排练",
        "attendees": 5,
    }
    assert _post(c, f"{API}/mine/venues/{hall.room.pk}/bookings", body).status_code == 201
    r = _post(c, f"{API}/mine/venues/{hall.room.pk}/bookings", body)
    assert r.status_code == 422 and r.json()["field"] == "starts_at" and "冲突" in r.json()["message"]


def test_errands_and_piecework_over_the_api(hall):
    c = hall.world.client("resident")
    r = _post(c, f"{API}/mine/errands", {"title": "", "function_id": hall.in_person.pk})
    assert r.status_code == 422 and r.json()["field"] == "function"
    r = _post(c, f"{API}/mine/errands", {"title": "代缴电费"})
    assert r.status_code == 201 and r.json()["state"] == "requested"
    r = _post(c, f"{API}/mine/piecework/{hall.order.pk}/claims", {"quantity": 5})
    assert r.status_code == 403  # not tagged for piecework
    hall.world.residents["a1"].tags.add(services.piecework_tag())
    assert _post(c, f"{API}/mine/piecework/{hall.order.pk}/claims", {"quantity": 5}).status_code == 201
    r = _post(c, f"{API}/mine/piecework/{hall.order.pk}/claims", {"quantity": 500})
    assert r.status_code == 422 and r.json()["field"] == "quantity"


def test_party_api_registers_a_cadre_and_records_unit_work(hall):
    w = hall.world
    unit = CoBuildingUnit.objects.create(name="区人民医院")
    unit.communities.add(w.community_a)
    c = w.client("staff_a")
    body = {
        "community_id": w.community_a.pk,
        "name": "周干部",
        "id_number": pii.generate_id_number("420100", dt.date(1980, 1, 2), 9, True),
        "sinking_cadre": True,
        "employer_id": unit.pk,
        "post_title": "科长",
    }
    r = _post(c, "/api/v1/party/members/", body)
    assert r.status_code == 201, r.content
    assert (
        r.json()["community_id"] == w.community_a.pk
        and r.json()["grid_id"] is None
        and r.json()["sinking_cadre"]
    )
    assert _post(c, "/api/v1/party/members/", body).status_code == 422  # once only
    assert _post(w.client("staff_b"), "/api/v1/party/members/", {**body, "name": "x"}).status_code == 422
    assert PartyMember.objects.count() == 1
    r = _post(
        c,
        f"/api/v1/party/co-building-units/{unit.pk}/report-in",
        {"community_id": w.community_a.pk, "resources": "义诊每月一次"},
    )
    assert r.status_code == 200 and r.json()["resources"] == "义诊每月一次"
    r = _post(
        c,
        "/api/v1/party/joint-meetings/",
        {
            "community_id": w.community_a.pk,
            "held_on": str(timezone.localdate()),
            "topic": "老旧小区改造",
            "unit_ids": [unit.pk],
        },
    )
    assert r.status_code == 201 and r.json()["unit_ids"] == [unit.pk]
    assert c.get("/api/v1/party/joint-meetings/").json()["count"] == 1
    assert (
        w.client("grid_1")
        .post("/api/v1/party/joint-meetings/", data="{}", content_type="application/json")
        .status_code
        == 404
    )
