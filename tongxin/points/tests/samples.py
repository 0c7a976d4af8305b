"""Rows for the route walker (tongxin/tests/test_routes.py): a reward in community A (first) and one in B (last)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tongxin.points.models import Reward


def make(world: Any) -> None:
    Reward.objects.create(community=world.community_a, name="肥皂", price=Decimal("10"), stock=5)
    Reward.objects.create(community=world.community_b, name="洗衣液", price=Decimal("30"), stock=2)
