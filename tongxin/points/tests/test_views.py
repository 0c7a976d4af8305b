"""Acceptance 4 (points pages): weigh-ins, shop, exchange day, leaderboards, residents' points; scope; queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tongxin.conftest import make_resident
from tongxin.points import services
from tongxin.points.models import Redemption, Reward, WeighIn
from tongxin.regions.policy import community_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def exchange_day(monkeypatch):  # type: ignore[no-untyped-def]
    # Given today is the 6th: the clock is the only thing replaced, the database is real.
    import django.utils.timezone as tz

    monkeypatch.setattr(tz, "localdate", lambda *a, **k: dt.date(2026, 12, 6))


def test_staff_weigh_in_form_credits_once(shop):
    w = shop.world
    c = w.client("staff_a")
    hh = w.residents["a1"].household
    data = {"household": hh.pk, "waste_type": shop.paper.pk, "kg": "2.5", "token": "t-1"}
    assert c.post(reverse("points:home"), data).status_code == 302
    assert c.post(reverse("points:home"), data).status_code == 302  # double-submitted form
    assert WeighIn.objects.count() == 1 and services.household_balance(hh) == Decimal("25")
    page = c.get(reverse("points:home") + "?q=张三").content.decode()
    assert "张三" in page and "纸板" in page


def test_weigh_in_for_a_household_out_of_scope_is_404(shop):
    w = shop.world
    data = {"household": w.residents["b1"].household.pk, "waste_type": shop.paper.pk, "kg": "1", "token": "x"}
    assert w.client("staff_a").post(reverse("points:home"), data).status_code == 404
    # staff of B cannot credit a household of A either
    data["household"] = w.residents["a1"].household.pk
    assert w.client("staff_b").post(reverse("points:home"), data).status_code == 404
    assert WeighIn.objects.count() == 0


def test_shop_pages_and_exchange_day(shop, exchange_day):
    w = shop.world
    c = w.client("staff_a")
    rich = w.residents["a1"].household
    services.award_points(rich, Decimal("30"), memo="好人好事", idempotency_key="g")
    assert c.get(reverse("points:shop")).status_code == 200
    r = c.post(
        reverse("points:shop"),
        {"action": "redeem", "household": rich.pk, "reward": shop.soap.pk, "quantity": 1},
    )
    assert r.status_code == 302 and Redemption.objects.count() == 1
    poor = w.residents["a2"].household
    r = c.post(
        reverse("points:shop"),
        {"action": "redeem", "household": poor.pk, "reward": shop.soap.pk, "quantity": 1},
        follow=True,
    )
    assert "积分不足" in r.content.decode()
    c.post(
        reverse("points:shop"),
        {"action": "add", "community": w.community_a.pk, "name": "垃圾袋", "price": "5", "stock": 10},
    )
    assert Reward.objects.filter(name="垃圾袋", community=w.community_a).exists()
    # staff of community B see none of A's goods
    assert "肥皂" not in w.client("staff_b").get(reverse("points:shop")).content.decode()


def test_resident_points_page_and_redeem(shop, exchange_day):
    w = shop.world
    c = w.client("resident")  # resident a1
    services.record_weigh_in(w.residents["a1"].household, shop.paper, Decimal("3"), idempotency_key="1")
    page = c.get(reverse("points:mine")).content.decode()
    assert 'class="balance">30<' in page and "肥皂" in page and "今天是兑换日" in page
    assert c.post(reverse("points:redeem", args=[shop.soap.pk])).status_code == 302
    shop.soap.refresh_from_db()
    assert shop.soap.stock == 4 and services.household_balance(w.residents["a1"].household) == Decimal("10")
    other = Reward.objects.create(community=w.community_b, name="大米", price=1, stock=1)
    assert c.post(reverse("points:redeem", args=[other.pk])).status_code == 404
    assert c.get(reverse("points:leaderboards")).status_code == 200


def test_staff_home_list_has_a_fixed_number_of_queries(shop, django_assert_max_num_queries):
    w = shop.world
    c = w.client("staff_a")

    def weigh(n, start):  # type: ignore[no-untyped-def]
        for i in range(n):
            r = make_resident(w.dwellings["a2"], f"户{start + i}", start + i)
            services.record_weigh_in(r.household, shop.kitchen, Decimal("1"), idempotency_key=f"{start + i}")

    weigh(2, 500)
    c.get(reverse("points:home"))
    with django_assert_max_num_queries(14) as few:
        c.get(reverse("points:home"))
    weigh(6, 600)
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get(reverse("points:home"))
    with django_assert_max_num_queries(len(few.captured_queries) + 2):
        c.get(reverse("points:shop"))
    assert community_ids(w.users["staff_a"]) == [w.community_a.pk]


def test_good_deed_points_by_rule_credit_once_per_reference(shop):
    from tongxin.points.models import PointRule

    w = shop.world
    rule = PointRule.objects.create(
        community=w.community_a, code="clean_stairs", name="楼道保洁", points=Decimal("5")
    )
    hh = w.residents["a1"].household
    c = w.client("staff_a")
    data = {"action": "award", "household": hh.pk, "rule": rule.pk, "reference": "2026-11 3栋2单元"}
    assert c.post(reverse("points:home"), data).status_code == 302
    assert c.post(reverse("points:home"), data).status_code == 302  # the same deed again: credited once
    assert services.household_balance(hh) == Decimal("5")
    # staff of another community cannot use this community's rule or reach this household
    assert w.client("staff_b").post(reverse("points:home"), data).status_code == 404
