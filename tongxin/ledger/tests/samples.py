"""Rows for the route walker (tongxin/tests/test_routes.py): a person's hours account in community A (first) and
community B's points account (last)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit


def make(world: Any) -> None:
    hours = ledger.person_account(world.residents["a1"], Unit.HOURS)
    ledger.transfer(ledger.community_account(world.community_a, Unit.HOURS), hours, Decimal("2"))
    ledger.community_account(world.community_b, Unit.POINTS)
