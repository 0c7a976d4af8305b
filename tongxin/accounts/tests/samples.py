"""Rows for the route walker (tongxin/tests/test_routes.py): an API token and a notification for a user of each
community, so the token and notification routes are tried on objects their owner may reach and others may not."""

from __future__ import annotations

from typing import Any

from tongxin.core import notifications
from tongxin.core.models import ApiToken


def make(world: Any) -> None:
    for role in ("grid_1", "staff_b"):
        user = world.users[role]
        ApiToken.issue(user, "sample")
        notifications.notify([user], "样例消息", "", "/", kind="sample", on_commit=False)
