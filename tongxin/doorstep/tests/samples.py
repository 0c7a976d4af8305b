"""Rows for the route walker (tongxin/tests/test_routes.py): in community A (first rows) and community B (last
rows) a window with a function and a slot, a walk-in number, a window request at the back office, a piecework
order, a room with a booking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongxin.doorstep import services


def make(world: Any) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    tz = timezone.get_current_timezone()
    for community, staff in ((world.community_a, "staff_a"), (world.community_b, "staff_b")):
        user = world.users[staff]
        window = services.create_window(user, community=community, number=1, name="社保医保")
        function = services.create_function(
            user,
            window=window,
            name="养老保险参保登记",
            category="社保",
            materials="身份证",
            back_office="社保服务站",
        )
        services.open_slots(user, function, day=tomorrow, times=[(dt.time(9), dt.time(9, 30))], capacity=3)
        services.take_ticket(user, function, name="现场居民")
        services.receive(user, function, name="现场居民")
        services.create_order(
            user,
            community=community,
            factory="宏达电子厂",
            item="耳机线包装",
            quantity=100,
            unit_price=Decimal("0.3"),
            deadline=tomorrow + dt.timedelta(days=7),
        )
        room = services.create_venue(
            user, community=community, name="舞蹈室", capacity=20, opens_at=dt.time(8), closes_at=dt.time(21)
        )
        services.book_venue(
            user,
            room,
            starts_at=dt.datetime.combine(tomorrow, dt.time(19), tzinfo=tz),
            ends_at=dt.datetime.combine(tomorrow, dt.time(20), tzinfo=tz),
            purpose="排练",
            attendees=10,
            organiser="舞蹈队",
        )
