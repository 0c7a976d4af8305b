"""Acceptance 2: a leaking roof left alone turns due soon, overdue, yellow and red; the sweep is idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.cases import services
from tongxin.cases.choices import EventType, Supervision
from tongxin.cases.models import Case, CaseEvent
from tongxin.cases.tasks import sweep_deadlines
from tongxin.cases.tests.core_fixtures import T0, new_case
from tongxin.core.models import Notification

H = dt.timedelta(hours=1)


def inbox(user) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("kind", flat=True))


@pytest.mark.django_db
def test_leaking_roof_left_alone_escalates(world, django_capture_on_commit_callbacks):
    # given a leaking roof dispatched to the property company under the 1715 rule (resolve within 1 day)
    case = new_case(world, reporter=world.residents["a1"])
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch(case, world.users["staff_a"], property_company=world.property_company, now=T0)
    prop, staff, admin = world.users["property"], world.users["staff_a"], world.users["admin"]
    Notification.objects.all().delete()

    def sweep(at):
        with django_capture_on_commit_callbacks(execute=True):
            result = sweep_deadlines(now=at)
        case.refresh_from_db()
        return result

    # when nobody touches it, an hour later nothing happens
    assert sweep(T0 + H) == {"due_soon": 0, "yellow": 0, "red": 0}
    assert not case.due_soon and case.supervision == Supervision.NORMAL
    # after 80 % of the day (19.2 h) it is due soon and the company's staff are told
    assert sweep(T0 + 20 * H)["due_soon"] == 1
    assert case.due_soon and not case.overdue
    assert inbox(prop) == ["case_due_soon"]
    # past the deadline it is overdue with a yellow card; the community staff hear of it too
    assert sweep(T0 + 25 * H)["yellow"] == 1
    assert case.overdue and case.supervision == Supervision.YELLOW
    assert sorted(inbox(prop)) == ["case_due_soon", "case_yellow"]
    assert inbox(staff) == ["case_yellow"]
    assert inbox(admin) == []
    # overdue by more than the resolve window again (2 days after submission) → red card, subdistrict told
    assert sweep(T0 + 49 * H)["red"] == 1
    assert case.supervision == Supervision.RED
    assert inbox(admin) == ["case_red"]
    types = list(CaseEvent.objects.filter(case=case, at__gt=T0).values_list("type", "payload"))
    assert [t for t, _ in types] == [
        EventType.DUE_SOON,
        EventType.OVERDUE,
        EventType.SUPERVISION_RAISED,
        EventType.SUPERVISION_RAISED,
    ]
    assert [p.get("to") for t, p in types if t == EventType.SUPERVISION_RAISED] == ["yellow", "red"]


@pytest.mark.django_db
def test_sweep_is_idempotent_and_notifies_once(world, django_capture_on_commit_callbacks):
    # given two overdue cases and one resolved one
    open_1 = new_case(world)
    open_2 = new_case(world, key="a2")
    done = new_case(world)
    services.resolve(done, world.users["staff_a"], "已处理", now=T0 + H)
    later = T0 + 30 * H
    # when the sweep runs twice at the same moment
    with django_capture_on_commit_callbacks(execute=True):
        first = sweep_deadlines(now=later)
    events_after_first = CaseEvent.objects.count()
    notes_after_first = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        second = sweep_deadlines(now=later)
    # then the first changes the two open cases, the second changes and notifies nothing
    assert first["yellow"] == 2 and second == {"due_soon": 0, "yellow": 0, "red": 0}
    assert CaseEvent.objects.count() == events_after_first
    assert Notification.objects.count() == notes_after_first > 0
    assert set(Case.objects.filter(overdue=True).values_list("pk", flat=True)) == {open_1.pk, open_2.pk}
    done.refresh_from_db()
    assert not done.overdue and done.supervision == Supervision.NORMAL


@pytest.mark.django_db
def test_sweep_uses_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    # given ten overdue cases
    for i in range(10):
        new_case(world, key="a1" if i % 2 else "a2")
    # when the sweep runs, then the query count does not grow with the number of cases
    with django_assert_max_num_queries(12):
        assert sweep_deadlines(now=T0 + 30 * H)["yellow"] == 10


@pytest.mark.django_db
def test_sweep_notifications_cost_the_same_for_two_cases_or_twelve(world, django_capture_on_commit_callbacks):
    # given two overdue cases at one sweep, and twelve at a later one
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def sweep_counting(n: int, at: dt.datetime) -> tuple[int, int]:
        before = Notification.objects.count()
        for i in range(n):
            new_case(world, key="a1" if i % 2 else "a2", now=at - 30 * H)
        # when the sweep runs and its notifications are delivered after the commit
        with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
            assert sweep_deadlines(now=at)["yellow"] == n
        return len(ctx.captured_queries), Notification.objects.count() - before

    few, few_notes = sweep_counting(2, T0 + 30 * H)
    for case in Case.objects.filter(overdue=True):
        services.resolve(case, world.users["staff_a"], "已处理", now=T0 + 31 * H)
    many, many_notes = sweep_counting(12, T0 + 100 * H)
    # then every case's handlers and supervisors are told, and the statements do not grow with the cases
    assert many_notes == 6 * few_notes > 0
    assert many == few, (few, many)


@pytest.mark.django_db
def test_reopened_case_restarts_its_deadlines(world):
    # given a case that went overdue, then was resolved and reported "not fixed"
    case = new_case(world, reporter=world.residents["a1"])
    sweep_deadlines(now=T0 + 30 * H)
    services.resolve(case, world.users["staff_a"], "已修", now=T0 + 31 * H)
    services.not_fixed(case, world.users["resident"], "还在漏", now=T0 + 32 * H)
    case.refresh_from_db()
    # then the supervision is reset and the new window starts at the reopening
    assert case.supervision == Supervision.NORMAL and not case.overdue
    assert case.resolve_by == T0 + 32 * H + dt.timedelta(days=1)
    assert sweep_deadlines(now=T0 + 33 * H) == {"due_soon": 0, "yellow": 0, "red": 0}


@pytest.mark.django_db
def test_verify_rollups_repairs_a_tampered_day(world):
    from tongxin.cases.models import CaseRollup
    from tongxin.cases.rates import Filters, counters, recount
    from tongxin.cases.tasks import verify_rollups

    # given a day of cases whose rollup row was changed behind the services' back
    new_case(world)
    new_case(world, key="b1")
    day = T0.date()
    assert verify_rollups(days=1, today=day) == []  # (also folds the deltas into the rollup rows)
    assert CaseRollup.objects.filter(day=day).update(received=99) > 0
    # when the nightly check runs, then the day is rebuilt from events and agrees again
    assert verify_rollups(days=1, today=day) == [day]
    assert counters(Filters(start=day, end=day)) == recount(Filters(start=day, end=day))
    assert counters(Filters(start=day, end=day))["received"] == 2
    # and a tampered monthly row is repaired too
    from tongxin.cases.models import CaseRollupMonthCommunity

    assert CaseRollupMonthCommunity.objects.update(received=7) > 0
    assert verify_rollups(days=1, today=day) == [day]
    assert sum(CaseRollupMonthCommunity.objects.values_list("received", flat=True)) == 2
