"""Rows for the route walker (tongxin/tests/test_routes.py): posts, activities, sign-ups and offers in community A
(first) and community B (last)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongxin.party.models import ServicePost
from tongxin.volunteers import services
from tongxin.volunteers.models import ServiceOffer


def make(world: Any) -> None:
    start = timezone.now() + dt.timedelta(days=2)
    for community, resident, provider in (
        (world.community_a, world.residents["a1"], world.residents["a2"]),
        (world.community_b, world.residents["b1"], world.residents["b1"]),
    ):
        ServicePost.objects.create(community=community, code="patrol", name="治安巡逻")
        act = services.create_activity(
            actor=None,
            community=community,
            title="红色星期天",
            place="社区广场",
            kind="red_sunday",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            capacity=10,
        )
        services.sign_up(act, resident)
        ServiceOffer.objects.create(
            provider=provider, community=community, title="代买药品", hours=Decimal("1")
        )
