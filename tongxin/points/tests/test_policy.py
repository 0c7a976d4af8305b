"""Points on the policy layer: who reaches which page and object, and shop buttons that appear exactly when the
action they trigger would succeed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tongxin.people.models import Membership, Resident
from tongxin.points import services
from tongxin.points.models import Reward, WeighIn

pytestmark = pytest.mark.django_db


def test_pages_by_role(shop):
    w = shop.world
    staff_pages = ("points:shop",)
    expected = {
        "admin": 200,
        "staff_a": 200,
        "grid_1": 200,
        "grid_3": 200,
        "property": 404,  # property staff neither weigh nor run the shop
        "department": 404,
        "resident": 404,
    }
    for role, status in expected.items():
        c = w.client(role)
        for name in staff_pages:
            assert c.get(reverse(name)).status_code == status, (role, name)
        home = c.get(reverse("points:home"))
        if role == "resident":  # the entry page sends residents to their household's points
            assert home["Location"] == reverse("points:mine")
        else:
            assert home.status_code == status, role
    assert Client().get(reverse("points:shop"))["Location"].startswith("/login/")
    assert w.client("property").get(reverse("points:leaderboards")).status_code == 404
    assert w.client("staff_a").get(reverse("points:mine")).status_code == 404  # staff have no household page


def test_shop_buttons_match_what_restocking_and_adding_do(shop):
    w = shop.world
    for role in ("grid_1", "staff_a"):
        c = w.client(role)
        page = c.get(reverse("points:shop")).content.decode()
        before = Reward.objects.get(pk=shop.soap.pk).stock
        restock = c.post(reverse("points:shop"), {"action": "restock", "reward": shop.soap.pk, "n": 3})
        add = c.post(
            reverse("points:shop"), {"action": "add", "name": f"垃圾袋{role}", "price": "5", "stock": "10"}
        )
        restocked = Reward.objects.get(pk=shop.soap.pk).stock == before + 3
        added = Reward.objects.filter(name=f"垃圾袋{role}").exists()
        # then each button is on the page exactly when its action works
        assert ("补货数量" in page) == restocked == (role == "staff_a"), role
        assert ('value="add"' in page) == added == (role == "staff_a"), role
        assert (restock.status_code, add.status_code) == ((302, 302) if role == "staff_a" else (404, 404))
    # and a reward of another community is out of reach even for staff who may restock their own
    other = Reward.objects.create(community=w.community_b, name="大米", price=1, stock=1)
    r = w.client("staff_a").post(reverse("points:shop"), {"action": "restock", "reward": other.pk, "n": 3})
    assert r.status_code == 404 and Reward.objects.get(pk=other.pk).stock == 1


def test_a_resident_without_a_household_is_told_why_they_cannot_redeem(shop):
    w = shop.world
    # given resident a1 taken out of their household
    a1 = w.residents["a1"]
    Membership.objects.filter(resident=a1).delete()
    Resident.objects.filter(pk=a1.pk).update(household=None)
    c = w.client("resident")
    # when they redeem, then they are refused with the reason (403), not told the reward does not exist
    r = c.post(reverse("points:redeem", args=[shop.soap.pk]))
    assert r.status_code == 403
    # and their points page says the account has no household yet
    assert "还没有关联居民信息" in c.get(reverse("points:mine")).content.decode()
    assert c.get("/api/v1/points/me").json()["household_id"] is None


def test_api_operations_by_role(shop):
    w = shop.world
    hh = w.residents["a1"].household
    body = {"household_id": hh.pk, "waste_type": "paper", "kg": "1"}
    # given roles without the points' staff actions, then every staff operation is 404 in the one error body
    for role in ("property", "department"):
        c = w.client(role)
        for method, url in (("post", "/api/v1/points/weigh-ins"), ("get", "/api/v1/points/rewards")):
            r = getattr(c, method)(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
            assert r.status_code == 404 and r.json()["code"] == "not_found", (role, url)
    # and staff of B cannot credit a household of A
    r = w.client("staff_b").post(
        "/api/v1/points/weigh-ins", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert r.status_code == 404 and not WeighIn.objects.exists()
    # and a waste type the community does not have names the field
    body["waste_type"] = "glass"
    r = w.client("grid_1").post(
        "/api/v1/points/weigh-ins", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert r.status_code == 422 and r.json()["field"] == "waste_type"


def test_shop_queries_do_not_grow_with_the_rewards_and_their_buttons(shop, django_assert_max_num_queries):
    w = shop.world
    c = w.client("staff_a")
    c.get(reverse("points:shop"))
    with django_assert_max_num_queries(20) as few:
        c.get(reverse("points:shop"))
    for i in range(8):
        services.add_reward(
            w.community_a, actor=w.users["staff_a"], name=f"商品{i}", price=Decimal("5"), stock=1
        )
    # then the restock button on every row asks the policy without a query of its own
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = c.get(reverse("points:shop")).content.decode()
    assert page.count("补货数量") == 9


def test_the_shop_services_check_the_policy_themselves(shop):
    from tongxin.core.policy import PolicyDenied

    w = shop.world
    # given a grid worker (who sees the shop but does not run it), when a service is called for them directly
    with pytest.raises(PolicyDenied):
        services.add_reward(w.community_a, actor=w.users["grid_1"], name="x", price=Decimal("1"), stock=1)
    with pytest.raises(PolicyDenied):
        services.restock(shop.soap, 5, actor=w.users["grid_1"])
    # then nothing changed
    assert not Reward.objects.filter(name="x").exists() and Reward.objects.get(pk=shop.soap.pk).stock == 5
