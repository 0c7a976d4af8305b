"""Acceptance 1 (weigh-in retries) and 3 (exchange day), expiry and leaderboards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.testing import assert_append_only
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.signals import service_rewarded
from tongxin.points import services
from tongxin.points.models import Redemption, Reward, WeighIn

pytestmark = pytest.mark.django_db

EXCHANGE_DAY = dt.date(2026, 12, 6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    weighings=st.lists(
        st.tuples(
            st.integers(0, 5),  # request id: the same id is a retry of the same weighing
            st.sampled_from(["paper", "kitchen"]),
            st.decimals(min_value=Decimal("0.1"), max_value=Decimal("30"), places=1),
        ),
        max_size=10,
    )
)
def test_a_retried_weigh_in_credits_once(shop, weighings):
    with transaction.atomic():
        household = shop.world.residents["a1"].household
        types = {"paper": shop.paper, "kitchen": shop.kitchen}
        expected: dict[int, Decimal] = {}
        # when weighings arrive, some of them again (the scale retried)
        for request_id, waste, kg in weighings:
            _wi, created = services.record_weigh_in(
                household, types[waste], kg, idempotency_key=f"scale-7:{request_id}"
            )
            if request_id not in expected:
                assert created
                expected[request_id] = (kg * types[waste].rate).quantize(Decimal("0.01"))
            else:
                assert not created
        # then each request is credited once, with waste type × kg × rate
        balance = ledger.household_account(household, Unit.POINTS).balance
        assert balance == sum(expected.values(), Decimal("0"))
        assert WeighIn.objects.count() == len(expected)
        assert ledger.check_balances() == [] and ledger.unbalanced_transactions() == []
        transaction.set_rollback(True)


def test_exchange_day_redemption(shop):
    w = shop.world
    rich = w.residents["a1"].household
    poor = w.residents["a2"].household
    # given one household with 30 points from sorting paper and one with 5 from kitchen waste
    services.record_weigh_in(rich, shop.paper, Decimal("3"), idempotency_key="r1")
    services.record_weigh_in(poor, shop.kitchen, Decimal("2"), idempotency_key="p1")
    # when the first redeems soap on exchange day, then it gets it and pays 20
    redemption = services.redeem(rich, shop.soap, actor=w.users["staff_a"], day=EXCHANGE_DAY)
    assert redemption.points == Decimal("20")
    assert services.household_balance(rich) == Decimal("10")
    # when the second tries, then it is refused with the reason
    with pytest.raises(services.PointsError) as err:
        services.redeem(poor, shop.soap, actor=w.users["staff_a"], day=EXCHANGE_DAY)
    assert "积分不足" in str(err.value) and "20" in str(err.value)
    # and the stock holds: one bar gone, the refused one did not take any
    shop.soap.refresh_from_db()
    assert shop.soap.stock == 4
    assert Redemption.objects.count() == 1
    # and outside exchange day nobody redeems
    with pytest.raises(services.PointsError, match="兑换日"):
        services.redeem(rich, shop.soap, day=EXCHANGE_DAY + dt.timedelta(days=1))
    # and stock is never oversold
    services.award_points(rich, Decimal("100"), memo="好人好事", idempotency_key="deed")
    Reward.objects.filter(pk=shop.soap.pk).update(stock=0)
    with pytest.raises(services.PointsError, match="库存不足"):
        services.redeem(rich, shop.soap, day=EXCHANGE_DAY)
    assert services.household_balance(rich) == Decimal("110")
    assert ledger.check_balances() == []


def test_exchange_day_is_configurable(shop):
    shop.policy.exchange_day = 15
    shop.policy.save()
    services.award_points(
        shop.world.residents["a1"].household, Decimal("50"), memo="好人好事", idempotency_key="g"
    )
    with pytest.raises(services.PointsError):
        services.redeem(shop.world.residents["a1"].household, shop.soap, day=EXCHANGE_DAY)
    services.redeem(shop.world.residents["a1"].household, shop.soap, day=EXCHANGE_DAY.replace(day=15))


def test_weigh_in_is_validated(shop):
    w = shop.world
    with pytest.raises(services.PointsError):
        services.record_weigh_in(w.residents["a1"].household, shop.paper, Decimal("0"), idempotency_key="z")
    # a waste type of another community does not apply
    with pytest.raises(services.PointsError):
        services.record_weigh_in(w.residents["b1"].household, shop.paper, Decimal("1"), idempotency_key="z")


def test_expiry_removes_old_unspent_points_once(shop):
    w = shop.world
    hh = w.residents["a1"].household
    shop.policy.expiry_months = 6
    shop.policy.save()
    account = ledger.household_account(hh, Unit.POINTS)
    source = ledger.community_account(w.community_a, Unit.POINTS)
    ledger.post([(source, -30), (account, 30)], kind="award", value_date=dt.date(2026, 1, 10))
    ledger.post([(source, -8), (account, 8)], kind="award", value_date=dt.date(2026, 10, 10))
    today = dt.date(2026, 11, 20)
    assert services.expire_points(w.community_a, today=today) == 1
    assert services.expire_points(w.community_a, today=today) == 0  # ran twice: expired once
    account.refresh_from_db()
    assert account.balance == Decimal("8")


def test_leaderboards_per_building_and_estate(shop):
    w = shop.world
    services.record_weigh_in(w.residents["a1"].household, shop.paper, Decimal("1"), idempotency_key="1")
    services.record_weigh_in(w.residents["a2"].household, shop.paper, Decimal("3"), idempotency_key="2")
    start, end = dt.date(2000, 1, 1), dt.date(2100, 1, 1)
    by_building = services.leaderboard([w.community_a.pk], "building", start, end)
    assert [(r["name"], r["points"]) for r in by_building] == [("锦绣江山5栋", 30), ("锦绣江山3栋", 10)]
    by_estate = services.leaderboard([w.community_a.pk], "estate", start, end)
    assert [(r["name"], r["points"]) for r in by_estate] == [("锦绣江山", 40)]


def test_weigh_ins_and_redemptions_are_append_only(shop):
    # given a weigh-in and a redemption
    hh = shop.world.residents["a1"].household
    weigh_in, _created = services.record_weigh_in(hh, shop.paper, Decimal("3"), idempotency_key="w")
    redemption = services.redeem(hh, shop.soap, day=EXCHANGE_DAY)
    # then the database refuses to change or delete either through raw SQL (a mistake is reversed instead)
    assert_append_only(weigh_in)
    assert_append_only(redemption)


def test_points_for_verified_service_arrive_through_the_ledger_hook_once(shop):
    # given a resident whose service was verified, announced twice (a retry) on the ledger's hook
    resident = shop.world.residents["a1"]
    for _ in range(2):
        service_rewarded.send(
            sender=None,
            resident=resident,
            points=Decimal("8"),
            memo="红色星期天",
            reference="activity-points:1",
        )
    # then the household got the points once
    assert services.household_balance(resident.household) == Decimal("8")
    # and a resident without a household is skipped quietly (nobody to credit)
    resident.household = None
    service_rewarded.send(sender=None, resident=resident, points=Decimal("8"), memo="x", reference="r2")
    assert ledger.check_balances() == []
