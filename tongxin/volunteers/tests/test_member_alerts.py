"""Member alerts as 鑫港 uses them (seed 004, "5+X+1"): thresholds per member type, configurable per community,
with the reason shown on each alert — elderly-frail members are visited, not warned; mobile members are judged on
their own scale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tongxin.conftest import make_resident
from tongxin.volunteers import alerts, services
from tongxin.volunteers.choices import AlertLevel, AlertMode
from tongxin.volunteers.models import MemberAlertRule
from tongxin.volunteers.tests.conftest import make_member

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 5, 20)


def _member(world, name: str, seq: int, member_type: str, hours: tuple[str, ...] = (), key: str = "a1"):
    """A member of the given type living in ``world.dwellings[key]`` with hours credited on successive days."""
    m = make_member(make_resident(world.dwellings[key], name, seq), member_type=member_type)
    for i, h in enumerate(hours):
        services.credit_hours(
            m.resident, Decimal(h), idempotency_key=f"{name}-{i}", value_date=DAY - dt.timedelta(days=i)
        )
    return m


def _row(member):
    from tongxin.party.models import PartyMember

    return alerts.participation(PartyMember.objects.filter(pk=member.pk), DAY)[0]


def test_elderly_frail_members_are_visited_not_warned(world):
    """Given an elderly-frail member with no hours this quarter, when the alerts are computed, then he is on the
    visit list as 上门关怀 with that reason — not red."""
    row = _row(_member(world, "老党员", 60, "elderly_frail"))
    assert row.level == AlertLevel.CARE and row.needs_visit
    assert row.reason == "年老体弱党员：上门关怀，不作预警"


def test_mobile_members_are_judged_on_their_own_scale(world):
    """Given a resident member and a mobile member with 1.5 hours each, and a mobile member with none, when the
    alerts are computed, then the resident member is orange, the mobile member only yellow (his line is 2 hours),
    and a mobile member with no hours is yellow too (a reminder, not a visit); each row says which line was
    missed."""
    resident = _row(_member(world, "居民党员", 61, "resident", ("1.5",)))
    mobile = _row(_member(world, "流动党员", 62, "mobile", ("1.5",)))
    away = _row(_member(world, "外出党员", 63, "mobile"))
    assert (resident.level, mobile.level, away.level) == (
        AlertLevel.ORANGE,
        AlertLevel.YELLOW,
        AlertLevel.YELLOW,
    )
    assert resident.reason == "本季度服务 1.5 小时，低于橙色线 2 小时"
    assert mobile.reason == "本季度服务 1.5 小时，低于黄色线 2 小时"
    assert away.reason == "本季度服务 0 小时，低于黄色线 2 小时"
    assert not mobile.needs_visit and not away.needs_visit and resident.needs_visit


def test_a_community_sets_its_own_rule_for_a_member_type(world):
    """Given community A's rule for mobile members (yellow 6, orange 3, red 1) and a warning rule for its
    elderly-frail members, when the alerts are computed, then A's mobile member with 2 hours is orange against
    A's line, A's elderly-frail member is warned, and community B's mobile member keeps the default scale."""
    MemberAlertRule.objects.create(
        community=world.community_a,
        member_type="mobile",
        yellow_below=Decimal("6"),
        orange_below=Decimal("3"),
        red_below=Decimal("1"),
        min_activities=0,
    )
    MemberAlertRule.objects.create(
        community=world.community_a, member_type="elderly_frail", mode=AlertMode.WARN
    )
    a = _row(_member(world, "甲流动", 64, "mobile", ("2",)))
    frail = _row(_member(world, "甲老党员", 65, "elderly_frail"))
    b = _row(_member(world, "乙流动", 66, "mobile", ("2",), key="b1"))
    assert a.level == AlertLevel.ORANGE and a.reason == "本季度服务 2 小时，低于橙色线 3 小时"
    assert frail.level == AlertLevel.RED
    assert b.level == AlertLevel.GREEN and b.reason == ""


def test_service_days_count_as_occasions_and_report_in_is_named(world):
    """Given a resident member with 4 hours over two duty days and no activity, and a dual-registered member with
    the same hours who has not reported in, when the alerts are computed, then the first is green (two service
    occasions) and the second yellow with the reason 未报到."""
    served = _row(_member(world, "值守党员", 67, "resident", ("2", "2")))
    cadre = _row(_member(world, "在职党员", 68, "dual_registered", ("2", "2")))
    assert served.level == AlertLevel.GREEN
    assert cadre.level == AlertLevel.YELLOW and cadre.reason == "在职党员未向社区报到"


def test_thresholds_out_of_order_are_refused(world):
    """Given a rule whose red line is above its orange line, when it is saved, then the database refuses it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberAlertRule.objects.create(
            community=world.community_a,
            member_type="resident",
            red_below=Decimal("5"),
            orange_below=Decimal("2"),
        )


def test_the_visit_list_shows_the_reason_and_stays_within_its_queries(world, django_assert_max_num_queries):
    """Given a warned member and an elderly-frail member in community A, when A's staff open the visit list, then
    both are on it with their reasons, in a bounded number of queries; community B's staff do not see them."""
    _member(world, "红色党员", 69, "resident")
    _member(world, "关怀党员", 70, "elderly_frail")
    for i in range(5):
        _member(world, f"正常党员{i}", 71 + i, "resident", ("2", "2"))
    c = world.client("staff_a")
    with django_assert_max_num_queries(16):
        page = c.get(f"/volunteers/alerts/visits/?day={DAY}").content.decode()
    assert "红色党员" in page and "本季度服务 0 小时，低于红色线 0.5 小时" in page
    assert "关怀党员" in page and "上门关怀" in page
    assert "正常党员0" not in page
    assert "红色党员" not in world.client("staff_b").get("/volunteers/alerts/visits/").content.decode()
