"""Rooms of the service hall (no double booking, opening hours, capacity) and the merchants' team (vetted,
booked, rated; a complaint opens a case)."""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import ensure_default_categories
from tongxin.core.policy import PolicyDenied
from tongxin.doorstep import services
from tongxin.doorstep.services import DoorstepError
from tongxin.doorstep.tests.conftest import tomorrow_at
from tongxin.party.models import CoBuildingUnit


def test_a_room_is_never_booked_twice_and_keeps_its_hours_and_size(hall):
    """Given the dance room 08:00–21:00 for 20; when a resident books 19:00–20:00, then a unit's booking of
    19:30–20:30 is refused naming the clash; bookings outside hours or over capacity are refused; back to back
    is fine."""
    w = hall.world
    services.book_venue(
        w.users["resident"],
        hall.room,
        starts_at=tomorrow_at(19),
        ends_at=tomorrow_at(20),
        purpose="广场舞排练",
        attendees=12,
    )
    unit = CoBuildingUnit.objects.create(name="市税务局")
    unit.communities.add(w.community_a)
    with pytest.raises(DoorstepError) as err:
        services.book_venue(
            w.users["staff_a"],
            hall.room,
            starts_at=tomorrow_at(19, 30),
            ends_at=tomorrow_at(20, 30),
            purpose="党课",
            attendees=10,
            co_building_unit=unit,
        )
    assert "冲突" in str(err.value) and "张三" in str(err.value)
    with pytest.raises(DoorstepError):
        services.book_venue(
            w.users["resident"],
            hall.room,
            starts_at=tomorrow_at(20, 30),
            ends_at=tomorrow_at(21, 30),
            purpose="x",
            attendees=2,
        )
    with pytest.raises(DoorstepError):
        services.book_venue(
            w.users["resident"],
            hall.room,
            starts_at=tomorrow_at(10),
            ends_at=tomorrow_at(11),
            purpose="x",
            attendees=30,
        )
    b = services.book_venue(
        w.users["staff_a"],
        hall.room,
        starts_at=tomorrow_at(20),
        ends_at=tomorrow_at(21),
        purpose="党课",
        attendees=10,
        co_building_unit=unit,
    )
    assert b.organiser == "市税务局"
    with pytest.raises(PolicyDenied):  # staff of B manage no room of A
        services.cancel_venue_booking(w.users["staff_b"], b)
    services.cancel_venue_booking(w.users["staff_a"], b)


def test_merchants_are_booked_rated_and_a_complaint_opens_a_case(hall):
    ensure_default_categories()  # a transactional test before may have flushed the data migration's rows
    w = hall.world
    m = services.add_merchant(
        w.users["staff_a"],
        community=w.community_a,
        name="好帮手家政",
        category="housekeeping",
        services="日常保洁 35元/小时\n擦玻璃 5元/平方米",
        discount="60岁以上九折",
    )
    assert m.vetted_on is not None and m.service_list[0].startswith("日常保洁")
    with pytest.raises(PolicyDenied):
        services.add_merchant(
            w.users["grid_1"], community=w.community_a, name="x", category="repair", services="y"
        )
    booking = services.book_merchant(
        w.users["resident"], m, wanted_on=dt.date.today() + dt.timedelta(days=1), note="打扫厨房"
    )
    with pytest.raises(PolicyDenied):  # not done yet
        services.rate(w.users["resident"], booking, rating=5)
    services.complete_booking(w.users["staff_a"], booking)
    with pytest.raises(DoorstepError):  # a complaint says what happened
        services.rate(w.users["resident"], booking, rating=1, complaint=True)
    services.rate(w.users["resident"], booking, rating=1, comment="迟到两小时，态度差", complaint=True)
    booking.refresh_from_db()
    case = Case.objects.get(pk=booking.case_id)
    assert "好帮手家政" in case.description and case.category.service_code == "convenience"
