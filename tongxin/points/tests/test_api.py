"""The points API: a scale's weigh-in with an Idempotency-Key credits once; scope; residents' redemption."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from tongxin.core.models import ApiToken
from tongxin.points import services

pytestmark = pytest.mark.django_db


def scale_client(user) -> tuple[Client, dict]:  # type: ignore[no-untyped-def]
    _token, key = ApiToken.issue(user, "scale at 3栋")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_scale_weigh_in_is_idempotent(shop):
    w = shop.world
    c, auth = scale_client(w.users["staff_a"])
    hh = w.residents["a1"].household
    body = {"household_id": hh.pk, "waste_type": "paper", "kg": "1.5"}
    r1 = c.post(
        "/api/v1/points/weigh-ins",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="s7-001",
        **auth,
    )
    r2 = c.post(
        "/api/v1/points/weigh-ins",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="s7-001",
        **auth,
    )
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"] and r2.json()["balance"] == "15.00"
    assert services.household_balance(hh) == Decimal("15")
    # without a key the scale is told what is missing; nothing is credited
    r = c.post("/api/v1/points/weigh-ins", body, content_type="application/json", **auth)
    assert r.status_code == 400
    # a household outside the caller's scope is 404, anonymous callers 401
    body["household_id"] = w.residents["b1"].household.pk
    r = c.post(
        "/api/v1/points/weigh-ins", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="x", **auth
    )
    assert r.status_code == 404
    assert Client().post("/api/v1/points/weigh-ins", body, content_type="application/json").status_code == 401


def test_resident_redeems_through_the_api(shop, monkeypatch):
    import django.utils.timezone as tz

    monkeypatch.setattr(tz, "localdate", lambda *a, **k: dt.date(2026, 12, 6))
    w = shop.world
    c = w.client("resident")
    services.award_points(w.residents["a1"].household, Decimal("25"), memo="好人好事", idempotency_key="g")
    assert c.get("/api/v1/points/me").json()["balance"] == "25.00"
    assert [r["name"] for r in c.get("/api/v1/points/rewards").json()["items"]] == ["肥皂"]
    r = c.post("/api/v1/points/redemptions", {"reward_id": shop.soap.pk}, content_type="application/json")
    assert r.status_code == 201 and r.json()["balance"] == "5.00"
    r = c.post("/api/v1/points/redemptions", {"reward_id": shop.soap.pk}, content_type="application/json")
    assert r.status_code == 409 and "积分不足" in r.json()["message"]
    # a resident cannot redeem for another household
    r = c.post(
        "/api/v1/points/redemptions",
        {"reward_id": shop.soap.pk, "household_id": w.residents["a2"].household.pk},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert c.get("/api/v1/points/leaderboard?by=estate").status_code == 200
