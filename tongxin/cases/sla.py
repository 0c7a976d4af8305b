"""Deadlines: a category's :class:`~tongxin.cases.models.DeadlinePolicy` applied from a start time.

Calendar basis: ``start + duration``.

Working-day basis (工作日): the whole days of a duration count as working days, the remainder as clock time.
A working day is Monday–Friday unless the :class:`~tongxin.cases.models.Holiday` calendar marks it a holiday,
and Saturday/Sunday when the calendar marks it a make-up working day (调休上班). A start on a non-working day
starts the clock at 00:00 of the next working day. ``7 days`` from Friday 10:00 before a three-day holiday
ends on the 7th working day after that Friday, at 10:00.

``due_soon_at`` is when 80 % of the wall-clock time between start and ``resolve_by`` is used;
``on_site_warn_at`` / ``plan_warn_at`` remind of the 1715 steps (:func:`step_warning`);
``red_at`` is ``resolve_by + red_factor × (resolve_by − start)`` with ``red_factor`` from the policy, multiplied
by ``settings.CASES_RED_FACTOR`` (default 1): overdue by more than the resolve window again → red card.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongxin.cases.choices import DeadlineBasis, HolidayKind
from tongxin.core.memo import Memo

# (first day, last day) -> {date: holiday kind}: forgotten when a holiday row is saved or deleted (cases/apps.py);
# ``sync_holidays`` writes through the ORM
HOLIDAYS = Memo("cases-holidays", ttl=300.0)

DUE_SOON_FRACTION = 0.8


@dataclass(frozen=True)
class Deadlines:
    start: dt.datetime
    respond_by: dt.datetime | None
    on_site_by: dt.datetime | None
    plan_by: dt.datetime | None
    resolve_by: dt.datetime
    due_soon_at: dt.datetime
    red_at: dt.datetime
    on_site_warn_at: dt.datetime | None = None
    plan_warn_at: dt.datetime | None = None

    def as_fields(self) -> dict[str, Any]:
        return {
            "on_site_warn_at": self.on_site_warn_at,
            "plan_warn_at": self.plan_warn_at,
            "deadline_start": self.start,
            "respond_by": self.respond_by,
            "on_site_by": self.on_site_by,
            "plan_by": self.plan_by,
            "resolve_by": self.resolve_by,
            "due_soon_at": self.due_soon_at,
            "red_at": self.red_at,
        }


class Calendar:
    """Working days between two dates, from the holiday table (one query per range)."""

    def __init__(self, overrides: dict[dt.date, str] | None = None) -> None:
        self.overrides = overrides or {}

    @classmethod
    def load(cls, start: dt.date, days: int) -> Calendar:
        from tongxin.cases.models import Holiday

        # Enough room for long holidays (Spring Festival, National Day) inside the window.
        end = start + dt.timedelta(days=days * 2 + 30)

        def read() -> dict[dt.date, str]:
            return dict(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "kind"))

        return cls(HOLIDAYS.get((start, end), read))

    def is_working_day(self, day: dt.date) -> bool:
        kind = self.overrides.get(day)
        if kind == HolidayKind.HOLIDAY:
            return False
        if kind == HolidayKind.WORKDAY:
            return True
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day


def add_duration(
    start: dt.datetime, duration: dt.timedelta, basis: str, calendar: Calendar | None = None
) -> dt.datetime:
    """``start`` plus ``duration`` on the calendar or working-day basis (see module docstring)."""
    if basis != DeadlineBasis.WORKING_DAYS:
        return start + duration
    local = timezone.localtime(start)
    cal = calendar or Calendar.load(local.date(), duration.days)
    if not cal.is_working_day(local.date()):
        day = cal.next_working_day(local.date())
        local = local.replace(
            year=day.year, month=day.month, day=day.day, hour=0, minute=0, second=0, microsecond=0
        )
    day = local.date()
    for _ in range(duration.days):
        day = cal.next_working_day(day)
    end = timezone.make_aware(dt.datetime.combine(day, local.time()), local.tzinfo)  # type: ignore[arg-type]
    return end + (duration - dt.timedelta(days=duration.days))


def red_factor(policy: Any) -> float:
    return float(policy.red_factor) * float(getattr(settings, "CASES_RED_FACTOR", 1.0))


def compute(policy: Any, start: dt.datetime) -> Deadlines:
    """All deadlines of ``policy`` counted from ``start`` (one holiday query for working-day policies)."""
    cal = None
    if policy.basis == DeadlineBasis.WORKING_DAYS:
        longest = max(
            (
                d.days
                for d in (
                    policy.respond_within,
                    policy.on_site_within,
                    policy.plan_within,
                    policy.resolve_within,
                )
                if d
            ),
            default=0,
        )
        cal = Calendar.load(timezone.localtime(start).date(), longest)

    def at(d: dt.timedelta | None) -> dt.datetime | None:
        return add_duration(start, d, policy.basis, cal) if d else None

    resolve_by = at(policy.resolve_within) or start
    window = resolve_by - start
    on_site_by, plan_by = at(policy.on_site_within), at(policy.plan_within)
    return Deadlines(
        start=start,
        respond_by=at(policy.respond_within),
        on_site_by=on_site_by,
        plan_by=plan_by,
        resolve_by=resolve_by,
        due_soon_at=start + window * DUE_SOON_FRACTION,
        red_at=resolve_by + window * red_factor(policy),
        on_site_warn_at=step_warning(start, on_site_by),
        plan_warn_at=step_warning(start, plan_by),
    )


def step_warning(start: dt.datetime, deadline: dt.datetime | None) -> dt.datetime | None:
    """When to remind the handler of an on-site or plan deadline: ``CASES_STEP_WARN_MINUTES`` (10) before it,
    but not before half its window has passed (a 10-minute on-site window is reminded at +5 min)."""
    if deadline is None:
        return None
    lead = dt.timedelta(minutes=int(getattr(settings, "CASES_STEP_WARN_MINUTES", 10)))
    return max(deadline - lead, start + (deadline - start) / 2)
