"""Participation fixtures on top of the shared ``world``: a party member with a post, a red-Sunday activity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tongxin.conftest import World, make_resident, make_user
from tongxin.party.models import PartyMember, ServicePost
from tongxin.people.models import Resident
from tongxin.regions.models import RoleAssignment
from tongxin.volunteers import services
from tongxin.volunteers.models import Activity


@dataclass
class Participants:
    world: World
    post: ServicePost
    member: PartyMember  # resident a1 (user "resident"), dual-registered, reported in
    member_b: PartyMember  # resident b1, community B
    extra: list[Resident]  # more residents of community A (grid 1), each with a user


def make_member(resident: Resident, member_type: str = "resident", **kw: Any) -> PartyMember:
    return PartyMember.objects.create(resident=resident, member_type=member_type, **kw)


@pytest.fixture
def participants(world: World) -> Participants:
    post = ServicePost.objects.create(community=world.community_a, code="patrol", name="治安巡逻")
    member = make_member(
        world.residents["a1"], member_type="dual_registered", reported_in_on=dt.date(2026, 1, 5)
    )
    member_b = make_member(world.residents["b1"])
    extra = []
    for i in range(3):
        r = make_resident(world.dwellings["a1"], f"居民{i}", 20 + i)
        u = make_user(f"member_{i}")
        RoleAssignment.objects.create(user=u, role="volunteer")
        r.user = u
        r.save(update_fields=["user"])
        extra.append(r)
    return Participants(world, post, member, member_b, extra)


def make_activity(
    world: World, *, capacity: int = 2, starts_in: dt.timedelta = dt.timedelta(days=1), **kw: object
) -> Activity:
    start = timezone.now() + starts_in
    return services.create_activity(
        actor=world.users["staff_a"],
        community=world.community_a,
        title=kw.pop("title", "红色星期天：清理楼道"),
        place="锦绣江山3栋",
        kind=kw.pop("kind", "red_sunday"),
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
        capacity=capacity,
        hours=kw.pop("hours", Decimal("2")),
        **kw,
    )
