"""Rows for the route walker (tongxin/tests/test_routes.py): a co-building unit of community A (first) and one of
community B (last)."""

from __future__ import annotations

from typing import Any

from tongxin.party.models import CoBuildingUnit


def make(world: Any) -> None:
    CoBuildingUnit.objects.create(name="市税务局").communities.add(world.community_a)
    CoBuildingUnit.objects.create(name="区人民医院").communities.add(world.community_b)
