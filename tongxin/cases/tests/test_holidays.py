"""The holiday calendar (国务院节假日安排 + 调休) behind working-day deadlines, and the worker's Beijing-time schedules."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tongxin.cases import holidays_cn, sla
from tongxin.cases.choices import HolidayKind, HolidaySource
from tongxin.cases.models import Holiday
from tongxin.cases.tests.core_fixtures import category


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def calendar_for(start: dt.date, days: int = 40) -> sla.Calendar:
    return sla.Calendar.load(start, days)


@pytest.mark.django_db
def test_national_day_and_spring_festival_2026_are_not_working_days_and_a_make_up_saturday_is():
    # given the holiday table synced from the State Council notices
    call_command("sync_holidays", stdout=StringIO())
    cal = calendar_for(dt.date(2026, 1, 1), 300)
    # then every day of 国庆 2026 (Oct 1–7) and 春节 2026 (Feb 15–23) is off, weekdays included
    for day in range(1, 8):
        assert not cal.is_working_day(dt.date(2026, 10, day)), day
    for day in range(15, 24):
        assert not cal.is_working_day(dt.date(2026, 2, day)), day
    # and the 调休 Saturdays Oct 10 and Feb 14, Feb 28 and Sunday Sep 20 are working days
    for day in (dt.date(2026, 10, 10), dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 9, 20)):
        assert day.weekday() >= 5 and cal.is_working_day(day), day
    # and an ordinary Saturday is not
    assert not cal.is_working_day(dt.date(2026, 10, 17))


@pytest.mark.django_db
def test_seven_working_days_across_national_day_2026():
    # given the synced calendar and the general (7 working days) policy
    holidays_cn.sync()
    policy = category("environment").policy
    # when a case arrives on Wednesday 2026-09-30 at 10:00, the eve of 国庆
    d = sla.compute(policy, local(2026, 9, 30, 10, 0))
    # then Oct 1–7 count for nothing; working days: Thu 8, Fri 9, Sat 10 (调休), Mon 12, Tue 13, Wed 14, Thu 15
    assert timezone.localtime(d.resolve_by) == local(2026, 10, 15, 10, 0)
    # and the response (1 working day) falls on Thursday Oct 8 — the first working day after the holiday
    assert timezone.localtime(d.respond_by) == local(2026, 10, 8, 10, 0)


@pytest.mark.django_db
def test_a_case_arriving_during_spring_festival_starts_its_clock_on_the_first_working_morning():
    # given the synced calendar
    holidays_cn.sync()
    policy = category("environment").policy
    # when a case arrives on 2026-02-18 (正月初二, a Wednesday)
    d = sla.compute(policy, local(2026, 2, 18, 15, 30))
    # then the clock starts Tue Feb 24 00:00 and 1 working day later is Wed Feb 25 00:00
    assert timezone.localtime(d.respond_by) == local(2026, 2, 25, 0, 0)
    # and 7 working days: Feb 25, 26, 27, Sat 28 (调休), Mar 2, 3, 4
    assert timezone.localtime(d.resolve_by) == local(2026, 3, 4, 0, 0)


@pytest.mark.django_db
def test_2025_national_day_includes_mid_autumn_and_two_make_up_days():
    holidays_cn.sync((2025,))
    cal = calendar_for(dt.date(2025, 9, 25))
    assert [d for d in range(1, 9) if cal.is_working_day(dt.date(2025, 10, d))] == []
    assert cal.is_working_day(dt.date(2025, 9, 28)) and cal.is_working_day(dt.date(2025, 10, 11))


@pytest.mark.django_db
def test_sync_is_idempotent_and_keeps_the_admins_override():
    # given a synced table
    first = holidays_cn.sync()
    assert first["created"] == Holiday.objects.count() > 60
    # when an administrator turns a notice holiday into a working day (source becomes admin)
    row = Holiday.objects.get(date=dt.date(2026, 10, 7))
    row.kind, row.source = HolidayKind.WORKDAY, HolidaySource.ADMIN
    row.save()
    # and the sync runs again
    again = holidays_cn.sync()
    # then nothing new is created and the admin's row stands
    assert again == {"created": 0, "updated": 0, "removed": 0, "kept": 1}
    assert Holiday.objects.get(date=dt.date(2026, 10, 7)).kind == HolidayKind.WORKDAY
    # unless forced
    holidays_cn.sync(force=True)
    assert Holiday.objects.get(date=dt.date(2026, 10, 7)).kind == HolidayKind.HOLIDAY


@pytest.mark.django_db
def test_sync_removes_a_notice_row_the_table_no_longer_lists():
    # given a notice row that is not (any more) in the table
    Holiday.objects.create(date=dt.date(2026, 3, 3), kind=HolidayKind.HOLIDAY, source=HolidaySource.NOTICE)
    # when the year is synced
    counts = holidays_cn.sync((2026,))
    # then the stale row is gone
    assert counts["removed"] == 1 and not Holiday.objects.filter(date=dt.date(2026, 3, 3)).exists()


@pytest.mark.django_db
def test_command_refuses_a_year_it_has_no_data_for():
    with pytest.raises(CommandError, match="2031"):
        call_command("sync_holidays", "--year", "2031", stdout=StringIO())
    assert not Holiday.objects.exists()


@pytest.mark.django_db
def test_command_says_2027_is_statutory_only():
    out = StringIO()
    call_command("sync_holidays", "--year", "2027", stdout=out)
    assert "2027" in out.getvalue()
    assert Holiday.objects.filter(date=dt.date(2027, 2, 6), kind=HolidayKind.HOLIDAY).exists()


def test_the_table_never_marks_a_day_both_ways():
    dates = [d for d, _k, _n in holidays_cn.DAYS]
    assert len(dates) == len(set(dates))
    # make-up working days fall on weekends, holidays we list on weekdays or weekends alike
    assert all(d.weekday() >= 5 for d, k, _n in holidays_cn.DAYS if k == holidays_cn.WORKDAY)


# --- the worker's schedules ------------------------------------------------------------------------------------


def _periodic(name: str):
    from huey.contrib.djhuey import HUEY

    tasks = {t.name: t for t in HUEY._registry.periodic_tasks}
    return HUEY, tasks[name]


def test_worker_clock_is_beijing_time():
    # given the configured huey instance
    from tongxin.cases import tasks  # noqa: F401  (registers the periodic tasks)

    huey, _task = _periodic("periodic_verify_rollups")
    # then it does not read its schedules in UTC: its clock is the wall clock in Asia/Shanghai
    assert huey.utc is False
    beijing = timezone.localtime().replace(tzinfo=None)
    assert abs((huey._get_timestamp() - beijing).total_seconds()) < 5


def test_nightly_jobs_fire_at_night_beijing_time():
    from tongxin.cases import ml_tasks, tasks  # noqa: F401

    huey, verify = _periodic("periodic_verify_rollups")
    _h, sync = _periodic("periodic_sync_holidays")
    # when the worker's clock (Beijing wall time) reads 03:20 then the rollup check is due, at 04:10 the holiday
    # sync; neither fires at 11:20 (03:20 UTC), the hour they used to run at
    assert verify.validate_datetime(dt.datetime(2026, 11, 28, 3, 20))
    assert not verify.validate_datetime(dt.datetime(2026, 11, 28, 11, 20))
    assert sync.validate_datetime(dt.datetime(2026, 11, 28, 4, 10))
    # and every nightly job of the project is scheduled between 00:00 and 05:59 Beijing time
    for task in huey._registry.periodic_tasks:
        hours = [h for h in range(24) if task.validate_datetime(dt.datetime(2026, 11, 28, h, 20))] or [
            h for h in range(24) for m in range(60) if task.validate_datetime(dt.datetime(2026, 11, 28, h, m))
        ]
        if len(set(hours)) == 1:
            assert hours[0] < 6, (task.name, hours)
