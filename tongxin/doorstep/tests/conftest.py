"""Doorstep fixtures: a service hall in community A (a 社保 window with a back office, a 民政 window whose
function needs the resident in person), slots tomorrow, a volunteer living in A, a piecework order and a room."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tongxin.conftest import World, make_resident, make_user
from tongxin.doorstep import services
from tongxin.doorstep.models import PieceworkOrder, ServiceFunction, ServiceWindow, Slot, Venue
from tongxin.regions.models import RoleAssignment


@dataclass
class Hall:
    world: World
    window: ServiceWindow
    pension: ServiceFunction  # 社保: back office, appointable, errand allowed
    in_person: ServiceFunction  # 民政: must attend in person
    slot: Slot
    order: PieceworkOrder
    room: Venue
    volunteer: Any  # a user whose resident lives in community A


def tomorrow_at(hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def resident_user(world: World, username: str, name: str, seq: int, dwelling: str = "a1") -> Any:
    """A resident living in ``dwelling`` with a phone account (the resident role the phone sign-in gives)."""
    user = make_user(username)
    RoleAssignment.objects.create(user=user, role="resident")
    r = make_resident(world.dwellings[dwelling], name, seq)
    r.user = user
    r.save(update_fields=["user"])
    return user


def build_hall(world: World) -> Hall:
    staff = world.users["staff_a"]
    window = services.create_window(staff, community=world.community_a, number=5, name="社保医保")
    pension = services.create_function(
        staff,
        window=window,
        name="城乡居民养老保险参保登记",
        category="社保",
        materials="身份证\n户口簿",
        promised_days=3,
        back_office="社保服务站",
    )
    in_person = services.create_function(
        staff, window=window, name="高龄津贴认证", category="民政", in_person=True, back_office="民政办"
    )
    slot = services.open_slots(
        staff,
        pension,
        day=timezone.localdate() + dt.timedelta(days=1),
        times=[(dt.time(9), dt.time(9, 30)), (dt.time(9, 30), dt.time(10))],
        capacity=3,
    )[0]
    order = services.create_order(
        staff,
        community=world.community_a,
        factory="宏达电子厂",
        item="耳机线缠绕包装",
        quantity=100,
        unit_price=Decimal("0.35"),
        deadline=timezone.localdate() + dt.timedelta(days=10),
    )
    room = services.create_venue(
        staff,
        community=world.community_a,
        name="舞蹈室",
        capacity=20,
        opens_at=dt.time(8),
        closes_at=dt.time(21),
    )
    user = make_user("volunteer_a")
    RoleAssignment.objects.create(user=user, role="volunteer")
    r = make_resident(world.dwellings["a2"], "赵六", 40, phone="13900000040")
    r.user = user
    r.save(update_fields=["user"])
    return Hall(world, window, pension, in_person, slot, order, room, user)


@pytest.fixture
def hall(world: World) -> Hall:
    return build_hall(world)
