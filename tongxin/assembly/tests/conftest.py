"""Fixtures for self-governance: owners on the roll of 富丰新城 (community B of the shared world), with accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tongxin.assembly import services
from tongxin.conftest import World, make_resident, make_user
from tongxin.regions.models import Dwelling, RoleAssignment


def add_flat(world: World, key: str, number: str, area: str = "100.00") -> Dwelling:
    base = world.dwellings[key]
    d = Dwelling(number=number, floor=int(number[:-2] or 1), floor_area=Decimal(area))
    d.place_under(base.entrance)
    d.save()
    return d


def add_owner(
    world: World, key: str, number: str, name: str, seq: int, *, account: str = "", area: str = "100.00"
) -> Any:
    """A flat in the entrance of ``world.dwellings[key]`` with its resident owner (optionally with an account)."""
    d = add_flat(world, key, number, area)
    r = make_resident(d, name, seq, phone=f"1390000{seq:04d}")
    if account:
        r.user = make_user(account)
        r.save(update_fields=["user"])
        RoleAssignment.objects.create(user=r.user, role="resident")
    services.register_owner(world.users["admin"], d, resident=r)
    return r


@pytest.fixture
def owners(world: World) -> list[Any]:
    """Six owners of 100 m² each in 富丰新城 12栋2单元 (the first two with accounts)."""
    return [
        add_owner(world, "b1", f"{600 + i}", f"业主{i}", 100 + i, account=f"owner_{i}" if i < 2 else "")
        for i in range(6)
    ]


def coordinating_matter(world: World, **kw: Any) -> Any:
    staff = world.users["staff_b"]
    m = services.raise_matter(
        staff, title="更换防火门", description="12栋防火门老化", place=kw.pop("place", world.estate_b), **kw
    )
    services.advance(staff, m, "coordination", "意见征集结束")
    m.refresh_from_db()
    return m


def later(days: int = 7) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)
