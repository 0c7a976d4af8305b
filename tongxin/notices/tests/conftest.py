"""Fixtures for notices: the shared ``world`` plus leaders with accounts and more households per entrance."""

from __future__ import annotations

from typing import Any

import pytest

from tongxin.conftest import World, make_resident, make_user
from tongxin.notices import leaders
from tongxin.regions.models import Dwelling, Region, RoleAssignment


def add_household(world: World, key: str, number: str, name: str, seq: int, *, account: str = "") -> Any:
    """Another household in the entrance of ``world.dwellings[key]`` (optionally with a resident account)."""
    base = world.dwellings[key]
    d = Dwelling(number=number, floor=int(number[:-2] or 1))
    d.place_under(base.entrance)
    d.save()
    r = make_resident(d, name, seq, phone=f"1390000{seq:04d}")
    if account:
        r.user = make_user(account)
        r.user.display_name = name  # an account shows its holder's name
        r.user.save(update_fields=["display_name"])
        RoleAssignment.objects.create(user=r.user, role="resident")  # as the phone sign-in gives it
        r.save(update_fields=["user"])
    return r


def make_leader(world: World, resident: Any, role: str, place: Region, username: str = "", **kw: Any) -> Any:
    if resident.user_id is None and username:
        resident.user = make_user(username)
        resident.save(update_fields=["user"])
    return leaders.assign(
        world.users["staff_a"] if place.path.startswith(world.community_a.path) else world.users["staff_b"],
        role=role,
        resident=resident,
        place=place,
        **kw,
    )


@pytest.fixture
def entrance_a1(world: World) -> Region:
    return world.dwellings["a1"].entrance
