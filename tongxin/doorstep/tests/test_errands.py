"""Errands (代办): a resident asks, a volunteer living in the community takes it, signs for the documents in both
directions and the hours go to the volunteer's time bank once; staff run errands as their job (no hours)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tongxin.core.policy import PolicyDenied
from tongxin.doorstep import services
from tongxin.doorstep.choices import HandOverDirection, RequestState
from tongxin.doorstep.services import DoorstepError
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit


def test_an_errand_from_request_to_signed_hand_back_credits_the_volunteer(hall):
    """Given a resident's errand; when a volunteer of A takes it, signs the documents in, finishes and hands them
    back against the resident's signature with 1.5 hours, then it is handed back and the volunteer holds 1.5
    hours; handing back is not repeated."""
    w = hall.world
    errand = services.ask_errand(w.users["resident"], title="代缴养老保险", function=hall.pension)
    assert errand.state == RequestState.REQUESTED and errand.community_id == w.community_a.pk
    services.take_errand(hall.volunteer, errand)
    with pytest.raises(DoorstepError):  # no result before the documents are signed for
        services.finish(hall.volunteer, errand, result="已缴")
    services.hand_in(hall.volunteer, errand, documents="身份证、户口簿", signed_by="张三")
    services.finish(hall.volunteer, errand, result="已缴纳2024年度养老保险")
    services.hand_back(
        hall.volunteer, errand, documents="身份证、户口簿、缴费凭证", signed_by="张三", hours="1.5"
    )
    errand.refresh_from_db()
    assert errand.state == RequestState.HANDED_BACK
    assert sorted(errand.hand_overs.values_list("direction", flat=True)) == sorted(
        [HandOverDirection.RECEIVED, HandOverDirection.RETURNED]
    )
    account = ledger.person_account(hall.volunteer.resident, Unit.HOURS)
    assert account.balance == Decimal("1.50")
    with pytest.raises((DoorstepError, PolicyDenied)):
        services.hand_back(hall.volunteer, errand, documents="x", signed_by="张三", hours="1")
    assert [e.type for e in errand.events.all()] == [
        "requested",
        "taken",
        "handed_in",
        "done",
        "handed_back",
        "hours",
    ]


def test_what_needs_the_resident_in_person_is_not_an_errand(hall):
    with pytest.raises(DoorstepError) as err:
        services.ask_errand(hall.world.users["resident"], title="", function=hall.in_person)
    assert "本人到场" in str(err.value)


def test_staff_run_errands_without_hours_and_others_cannot_step_in(hall):
    w = hall.world
    errand = services.ask_errand(w.users["resident"], title="代领残疾人补贴")
    services.take_errand(w.users["staff_a"], errand)
    with pytest.raises(PolicyDenied):  # taken already
        services.take_errand(hall.volunteer, errand)
    with pytest.raises(PolicyDenied):  # a volunteer does not run another's errand
        services.hand_in(hall.volunteer, errand, documents="残疾证", signed_by="张三")
    with pytest.raises(PolicyDenied):  # staff of B do not see A's errands
        services.hand_in(w.users["staff_b"], errand, documents="残疾证", signed_by="张三")
    with pytest.raises(DoorstepError):  # the signature is required
        services.hand_in(w.users["staff_a"], errand, documents="残疾证", signed_by="")
    services.hand_in(w.users["staff_a"], errand, documents="残疾证", signed_by="张三")
    services.finish(w.users["staff_a"], errand, result="已领取")
    services.hand_back(w.users["staff_a"], errand, documents="补贴存折", signed_by="张三", hours="1")
    errand.refresh_from_db()
    assert errand.state == RequestState.HANDED_BACK and not errand.events.filter(type="hours").exists()
