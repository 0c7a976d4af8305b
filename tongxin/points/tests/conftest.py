from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tongxin.conftest import World
from tongxin.points.models import CollectionPoint, PointsPolicy, Reward, WasteType


@dataclass
class Shop:
    world: World
    paper: WasteType
    kitchen: WasteType
    point: CollectionPoint
    soap: Reward
    policy: PointsPolicy


@pytest.fixture
def shop(world: World) -> Shop:
    ca = world.community_a
    return Shop(
        world,
        WasteType.objects.create(community=ca, code="paper", name="纸板", rate=Decimal("10")),
        WasteType.objects.create(community=ca, code="kitchen", name="厨余垃圾", rate=Decimal("2.5")),
        CollectionPoint.objects.create(community=ca, estate=world.estate_a, name="锦绣江山3栋分类点"),
        Reward.objects.create(community=ca, name="肥皂", price=Decimal("20"), stock=5),
        PointsPolicy.objects.create(community=ca, exchange_day=6),
    )
