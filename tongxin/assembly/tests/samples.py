"""Rows for the route walker (tongxin/tests/test_routes.py): in community A (first) a matter of 锦绣江山 with an open
households' vote, an owners' committee and a meeting; in community B (last) the same without the vote."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongxin.assembly import services
from tongxin.assembly.choices import BodyKind, Electorate, MeetingKind


def make(world: Any) -> None:
    soon = timezone.now() + dt.timedelta(days=3)
    for staff, community, estate in (
        (world.users["staff_a"], world.community_a, world.estate_a),
        (world.users["staff_b"], world.community_b, world.estate_b),
    ):
        body = services.create_body(
            staff,
            kind=BodyKind.OWNERS_COMMITTEE,
            name=f"{estate.name}业委会",
            community=community,
            estate=estate,
        )
        matter = services.raise_matter(staff, title="充电桩扩建", description="充电桩不够用", place=estate)
        services.convene(
            staff,
            kind=MeetingKind.FOUR_PARTY,
            title="四方联席会议",
            community=community,
            starts_at=soon,
            location="党群服务中心",
            agenda=[matter],
            body=body,
        )
        if community == world.community_a:
            services.advance(staff, matter, "coordination")
            services.open_vote(
                staff, matter, title="充电桩扩建", electorate=Electorate.HOUSEHOLDS, closes_at=soon
            )
