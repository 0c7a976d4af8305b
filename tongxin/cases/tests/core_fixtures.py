"""Helpers shared by the cases core tests (imported explicitly, not a conftest, to stay out of others' way)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tongxin.cases import services
from tongxin.cases.choices import Channel
from tongxin.cases.models import Case, Category
from tongxin.conftest import World

T0 = timezone.make_aware(dt.datetime(2026, 11, 18, 9, 0))  # a Wednesday morning, Asia/Shanghai


def category(code: str) -> Category:
    return Category.objects.select_related("policy").get(service_code=code)


def new_case(
    world: World, *, code: str = "repairs-leak", key: str = "a1", now: dt.datetime = T0, **kw: Any
) -> Case:
    kw.setdefault("channel", Channel.HOTLINE)
    kw.setdefault("description", "楼顶漏水，天花板一直滴水")
    return services.submit(
        category=code,
        dwelling=world.dwellings[key],
        actor=world.users["staff_a"] if key != "b1" else world.users["staff_b"],
        now=now,
        **kw,
    )
