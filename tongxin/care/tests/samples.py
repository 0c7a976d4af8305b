"""Rows for the route walker (tongxin/tests/test_routes.py): a weekly plan with due visits and a health service in
community A (first), the same in community B (last)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongxin.care import services
from tongxin.care.choices import PlanKind
from tongxin.people.models import Tag


def make(world: Any) -> None:
    tag, _ = Tag.objects.get_or_create(
        code="elderly_alone", defaults={"name": "独居老人", "sensitivity": "sensitive"}
    )
    for key, community, staff in (("a1", world.community_a, "staff_a"), ("b1", world.community_b, "staff_b")):
        world.residents[key].tags.add(tag)
        plan = services.create_plan(
            world.users[staff],
            name="独居老人每周走访",
            community=community,
            kind=PlanKind.TAGGED,
            tag=tag,
            interval_days=7,
        )
        services.schedule(plan)
        services.create_health_service(
            world.users[staff],
            community=community,
            kind="free_clinic",
            title="义诊",
            starts_at=timezone.now() + dt.timedelta(days=3),
            capacity=5,
            tags=[tag],
        )
