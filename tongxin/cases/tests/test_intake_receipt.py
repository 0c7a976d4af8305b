"""Intake leaves the receipt code's uniqueness to the unique index (issue 15): no question asked first, a new
code drawn on a collision."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.cases import services
from tongxin.cases.tests.core_fixtures import new_case


def test_a_colliding_receipt_code_is_drawn_again(world, monkeypatch):
    """Given a case whose receipt code the generator hands out again, when another case is taken in, then the
    insert is refused by the unique index, a new code is drawn and the case is saved with it."""
    first = new_case(world, key="a1", now=None)
    codes = iter([first.receipt_code, "ZZZZZZZZZ2"])
    monkeypatch.setattr(services, "_receipt_code", lambda: next(codes))
    second = new_case(world, key="a2", now=None)
    assert second.pk and second.receipt_code == "ZZZZZZZZZ2" and second.number != first.number


def test_intake_does_not_look_the_receipt_code_up(world):
    """Given the world, when a case is taken in, then no statement asks whether its receipt code is taken."""
    with CaptureQueriesContext(connection) as queries:
        new_case(world, key="a1", now=None)
    assert not [
        q for q in queries.captured_queries if '"receipt_code" =' in q["sql"] and "SELECT" in q["sql"]
    ]
