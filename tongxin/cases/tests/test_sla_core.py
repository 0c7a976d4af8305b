"""Deadlines from policies: the 1715 rule on the calendar, general tiers on working days over holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.cases import sla
from tongxin.cases.choices import HolidayKind
from tongxin.cases.models import Holiday
from tongxin.cases.tests.core_fixtures import T0, category, new_case


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


@pytest.mark.django_db
def test_leaking_roof_gets_1715_deadlines(world):
    # given the 房屋漏水 category (small repair under the 1715 rule)
    # when a case is submitted at T0
    case = new_case(world)
    # then on site within 10 minutes, resolved within 1 day, due soon at 80 %, red after twice the window
    assert case.on_site_by == T0 + dt.timedelta(minutes=10)
    assert case.resolve_by == T0 + dt.timedelta(days=1)
    assert case.due_soon_at == T0 + dt.timedelta(hours=19, minutes=12)
    assert case.red_at == T0 + dt.timedelta(days=2)


@pytest.mark.django_db
def test_1715_routine_and_complex_policies():
    routine = category("property").policy
    d = sla.compute(routine, T0)
    assert (d.on_site_by - T0, d.resolve_by - T0) == (dt.timedelta(minutes=10), dt.timedelta(hours=1))
    large = category("repairs-large").policy
    d = sla.compute(large, T0)
    assert d.plan_by == T0 + dt.timedelta(days=1)
    assert d.resolve_by == T0 + dt.timedelta(days=15)


@pytest.mark.django_db
def test_working_days_skip_weekend_and_holiday_and_count_make_up_day():
    # given a general (7 working days) policy and a calendar: Fri 2026-10-02 and Mon 10-05 off, Sat 10-10 worked
    policy = category("environment").policy
    Holiday.objects.create(date=dt.date(2026, 10, 2), kind=HolidayKind.HOLIDAY, name="国庆")
    Holiday.objects.create(date=dt.date(2026, 10, 5), kind=HolidayKind.HOLIDAY, name="国庆")
    Holiday.objects.create(date=dt.date(2026, 10, 10), kind=HolidayKind.WORKDAY, name="调休")
    start = local(2026, 9, 30, 10, 0)  # Wednesday
    # when the deadlines are computed
    d = sla.compute(policy, start)
    # then working days are Thu 1, Tue 6, Wed 7, Thu 8, Fri 9, Sat 10 (make-up), Mon 12 → resolve Mon 12 10:00
    assert timezone.localtime(d.resolve_by) == local(2026, 10, 12, 10, 0)
    # and the response (1 working day) is due on Thursday 10:00
    assert timezone.localtime(d.respond_by) == local(2026, 10, 1, 10, 0)


@pytest.mark.django_db
def test_working_days_from_a_weekend_start_at_next_working_morning():
    policy = category("environment").policy
    d = sla.compute(policy, local(2026, 11, 21, 15, 30))  # Saturday afternoon
    # clock starts Monday 00:00; 7 working days later is Wednesday of the next week 00:00
    assert timezone.localtime(d.resolve_by) == local(2026, 12, 2, 0, 0)


def test_calendar_object_without_database():
    cal = sla.Calendar({dt.date(2026, 11, 23): HolidayKind.HOLIDAY})
    assert not cal.is_working_day(dt.date(2026, 11, 23))
    assert cal.next_working_day(dt.date(2026, 11, 20)) == dt.date(2026, 11, 24)
    end = sla.add_duration(local(2026, 11, 20, 9, 0), dt.timedelta(days=1, hours=2), "working_days", cal)
    assert timezone.localtime(end) == local(2026, 11, 24, 11, 0)
