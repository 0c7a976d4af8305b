"""Piecework (家庭代工): eligible residents claim within what is left, hand in, and are paid per accepted piece."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from tongxin.conftest import build_world
from tongxin.core.policy import PolicyDenied
from tongxin.doorstep import services
from tongxin.doorstep.choices import ClaimState
from tongxin.doorstep.models import PieceworkClaim, PieceworkOrder
from tongxin.doorstep.services import DoorstepError
from tongxin.doorstep.tests.conftest import build_hall, resident_user


def _eligible(user):
    user.resident.tags.add(services.piecework_tag())
    return user


def test_claims_stay_within_the_order_and_pay_follows_accepted_pieces(hall):
    """Given an order of 100 and an eligible resident; when he claims 60 and another 50, then the second is
    refused with what is left (40); when 60 are handed in with 55 accepted, then pay is 55 × 0.35 and the 5
    rejected go back to the order."""
    w = hall.world
    worker = _eligible(w.users["resident"])
    c = services.claim(worker, hall.order, 60)
    with pytest.raises(DoorstepError) as err:
        services.claim(worker, hall.order, 50)
    assert "40" in str(err.value)
    services.accept_hand_in(w.users["staff_a"], c, accepted=55, rejected=5)
    c.refresh_from_db()
    hall.order.refresh_from_db()
    assert c.state == ClaimState.HANDED_IN and c.pay == Decimal("19.25")
    assert hall.order.claimed == 55 and hall.order.accepted == 55
    with pytest.raises(DoorstepError):  # handed in once
        services.accept_hand_in(w.users["staff_a"], c, accepted=60, rejected=0)
    assert services.mark_paid(w.users["staff_a"], hall.order) == 1


def test_only_eligible_residents_of_the_community_claim(hall):
    w = hall.world
    with pytest.raises(PolicyDenied) as denied:
        services.claim(w.users["resident"], hall.order, 1)  # no 家庭代工 tag
    assert denied.value.decision.value == "forbidden"
    b = _eligible(resident_user(w, "worker_b", "孙八", 80, dwelling="b1"))
    with pytest.raises(PolicyDenied) as denied:
        services.claim(b, hall.order, 1)
    assert denied.value.decision.value == "not_found"
    with pytest.raises(PolicyDenied):
        services.accept_hand_in(
            w.users["staff_b"], PieceworkClaim(order=hall.order, quantity=1), accepted=1, rejected=0
        )


def test_a_hand_in_must_account_for_every_piece(hall):
    c = services.claim(_eligible(hall.world.users["resident"]), hall.order, 10)
    with pytest.raises(DoorstepError):
        services.accept_hand_in(hall.world.users["staff_a"], c, accepted=8, rejected=1)


@pytest.mark.postgres_only
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks with real threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_never_exceed_the_order():
    """Given an order of 30 pieces and 12 eligible residents; when each claims 4 at the same moment, then
    exactly 7 succeed (28 pieces) and the order shows 28 claimed."""
    world = build_world()
    hall = build_hall(world)
    PieceworkOrder.objects.filter(pk=hall.order.pk).update(quantity=30)
    users = [_eligible(resident_user(world, f"w{i}", f"工{i}", 300 + i)) for i in range(12)]
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def attempt(user):
        try:
            barrier.wait(timeout=10)
            services.claim(user, hall.order, 4)
            outcomes.append("ok")
        except DoorstepError as exc:
            outcomes.append(getattr(exc, "code", None) or "refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    hall.order.refresh_from_db()
    assert outcomes.count("ok") == 7 and hall.order.claimed == 28
    assert sum(PieceworkClaim.objects.filter(order=hall.order).values_list("quantity", flat=True)) == 28
