"""The participation API: activities, sign-up, check-in by code, my hours, on duty, scoping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.volunteers import services
from tongxin.volunteers.models import Activity

from .conftest import make_activity

pytestmark = pytest.mark.django_db


def test_member_signs_up_and_checks_in_through_the_api(participants):
    w = participants.world
    c = w.client("resident")  # member a1
    act = make_activity(w, capacity=1)
    assert [a["id"] for a in c.get("/api/v1/volunteers/activities").json()["items"]] == [act.pk]
    r = c.post(f"/api/v1/volunteers/activities/{act.pk}/signup")
    assert r.status_code == 201 and r.json()["status"] == "confirmed"
    r = c.post(f"/api/v1/volunteers/activities/{act.pk}/signup")
    assert r.status_code == 409 and r.json()["code"] == "refused" and "已报名" in r.json()["message"]
    Activity.objects.filter(pk=act.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    r = c.post("/api/v1/volunteers/checkin", {"code": act.code}, content_type="application/json")
    assert r.status_code == 200 and r.json()["checked_in_at"]
    r = c.post("/api/v1/volunteers/checkin", {"code": "999999x"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "refused"
    services.verify_attendance(act, actor=w.users["staff_a"])
    body = c.get("/api/v1/volunteers/me/hours").json()
    assert body["balance"] == "2.00" and body["entries"][0]["memo"] == act.title


def test_another_communitys_activity_is_404(participants):
    w = participants.world
    act = make_activity(w)
    Activity.objects.filter(pk=act.pk).update(community=w.community_b)
    assert w.client("resident").post(f"/api/v1/volunteers/activities/{act.pk}/signup").status_code == 404


def test_balance_and_on_duty_are_scoped(participants):
    w = participants.world
    services.credit_hours(participants.member.resident, Decimal("1"), idempotency_key="x")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    assert (
        w.client("staff_a").get(f"/api/v1/volunteers/accounts/{account.pk}/balance").json()["balance"]
        == "1.00"
    )
    assert w.client("staff_b").get(f"/api/v1/volunteers/accounts/{account.pk}/balance").status_code == 404
    assert w.client("resident").get(f"/api/v1/volunteers/accounts/{account.pk}/balance").status_code == 404
    assert w.client("staff_a").get(f"/api/v1/volunteers/on-duty?grid={w.grid_1.pk}").json()["items"] == []
    assert w.client("staff_b").get(f"/api/v1/volunteers/on-duty?grid={w.grid_1.pk}").status_code == 404
