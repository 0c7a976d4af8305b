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


def make_member(world: World, username: str, key: str = "a1", post: str = "patrol", seq: int = 50) -> Any:
    """A party member living in dwelling ``key`` (grid of that dwelling) holding service post ``post``."""
    from tongxin.conftest import make_resident, make_user
    from tongxin.party.models import PartyMember, ServicePost
    from tongxin.regions.models import RoleAssignment

    user = make_user(username)
    RoleAssignment.objects.create(user=user, role="volunteer")
    resident = make_resident(world.dwellings[key], username, seq)
    resident.user = user
    resident.save(update_fields=["user"])
    community = world.dwellings[key].community
    sp, _ = ServicePost.objects.get_or_create(community=community, code=post, defaults={"name": post})
    PartyMember.objects.create(resident=resident, member_type="resident", service_post=sp)
    return user


def ensure_default_categories() -> None:
    """Transactional tests start from a flushed database: re-create the data migration's categories."""
    import importlib

    from django.apps import apps

    importlib.import_module("tongxin.cases.migrations.0002_default_categories").forwards(apps, None)
