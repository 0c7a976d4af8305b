"""Concurrent redemptions never oversell (PostgreSQL row locks, real threads)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from tongxin.conftest import make_resident
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.points import services
from tongxin.points.models import PointsPolicy, Redemption, Reward

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_forty_buyers_against_a_stock_of_ten(world):
    # given 40 households with enough points and 10 bars of soap
    ca = world.community_a
    PointsPolicy.objects.create(community=ca, exchange_day=6)
    soap = Reward.objects.create(community=ca, name="肥皂", price=Decimal("20"), stock=10)
    households = []
    for i in range(40):
        r = make_resident(world.dwellings["a1"], f"买家{i}", 100 + i)
        services.award_points(r.household, Decimal("50"), memo="seed", idempotency_key=f"seed{i}")
        households.append(r.household)
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(households))

    def buy(hh):  # type: ignore[no-untyped-def]
        try:
            start.wait()
            services.redeem(hh, soap, day=dt.date(2026, 12, 6))
            outcome = "ok"
        except services.PointsError as err:
            outcome = str(err)
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    # when all 40 try at once
    threads = [threading.Thread(target=buy, args=(hh,)) for hh in households]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly 10 succeed, the others are told the stock ran out, and the stock is 0, not negative
    soap.refresh_from_db()
    assert results.count("ok") == 10
    assert all(r == "库存不足" for r in results if r != "ok")
    assert soap.stock == 0
    assert Redemption.objects.count() == 10
    assert ledger.check_balances(unit=Unit.POINTS) == []
    assert ledger.community_account(ca, Unit.POINTS).balance == Decimal("-2000") + Decimal("200")
