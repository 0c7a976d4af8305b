"""Rows for the route walker (tongxin/tests/test_routes.py): a leader and a sent notice in community A (first),
a draft notice and a leader in community B (last)."""

from __future__ import annotations

from typing import Any

from tongxin.notices import leaders, services
from tongxin.notices.choices import Action, LeaderRole


def make(world: Any) -> None:
    staff_a, staff_b = world.users["staff_a"], world.users["staff_b"]
    leaders.assign(
        staff_a,
        role=LeaderRole.ENTRANCE_LEADER,
        resident=world.residents["a1"],
        place=world.dwellings["a1"].entrance,
    )
    sent = services.create(
        staff_a, title="安心码使用说明", body="请扫码登记", target=world.estate_a, action=Action.CONFIRM
    )
    services.send(staff_a, sent)
    services.create(
        staff_b,
        title="楼道会议",
        body="周六开会",
        target=world.estate_b,
        action=Action.SIGN_UP,
        reply_fields=services.parse_reply_fields("参会人数"),
    )
    leaders.assign(
        staff_b,
        role=LeaderRole.BUILDING_LEADER,
        resident=world.residents["b1"],
        place=world.dwellings["b1"].building,
    )
