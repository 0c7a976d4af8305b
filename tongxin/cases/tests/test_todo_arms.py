"""我的待办 is written out as alternatives (each visible arm AND each waiting arm) so PostgreSQL can answer every
alternative from its own index. These tests hold it to the plain definition: visible AND waiting AND open."""

from __future__ import annotations

import pytest

from tongxin.cases import services
from tongxin.cases.choices import OPEN_STATES
from tongxin.cases.models import Case
from tongxin.cases.querysets import _any, case_visibility_q, todo_arms
from tongxin.cases.tests.core_fixtures import new_case


def plain_todo(user) -> set[int]:
    """The definition without the rewriting: what the user sees, that waits for them, still open."""
    return set(
        Case.objects.filter(case_visibility_q(user))
        .filter(_any(todo_arms(user)), state__in=OPEN_STATES)
        .values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_written_out_queue_is_the_plain_definition_for_every_role(world):
    # given cases of both communities in many states: waiting at the desk, dispatched to a person, to the
    # property company, to the department, whistled, open for claiming, resolved and closed
    staff_a, staff_b, admin = world.users["staff_a"], world.users["staff_b"], world.users["admin"]
    submitted = [new_case(world, key=k) for k in ("a1", "a2", "b1")]
    to_grid_worker = services.dispatch(new_case(world, key="a1"), staff_a, assignee=world.users["grid_1"])
    to_other_grid = services.dispatch(new_case(world, key="b1"), staff_b, assignee=world.users["grid_3"])
    to_company = services.dispatch(
        new_case(world, key="a2"), staff_a, property_company=world.property_company
    )
    to_department = services.dispatch(new_case(world, key="b1"), staff_b, department=world.department)
    whistled = new_case(world, key="a1")
    services.whistle(whistled, admin, [world.department])
    claimable = services.open_for_claiming(new_case(world, key="a1"), staff_a)
    resolved = services.resolve(new_case(world, key="a2"), staff_a, "已处理")
    reported_by_resident = new_case(world, key="a1", reporter=world.residents["a1"])
    cases = [
        *submitted,
        to_grid_worker,
        to_other_grid,
        to_company,
        to_department,
        whistled,
        claimable,
        resolved,
    ]
    cases.append(reported_by_resident)
    assert len(set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("state", flat=True))) >= 5
    # when each role asks for its queue
    for role, user in world.users.items():
        got = set(Case.objects.todo_for(user).values_list("pk", flat=True))
        # then it is exactly the plain definition, and never a case the user cannot see
        assert got == plain_todo(user), role
        assert got <= set(Case.objects.visible_to(user).values_list("pk", flat=True)), role
        assert resolved.pk not in got
    # and the rows themselves are the expected ones for the people who work them
    assert to_grid_worker.pk in set(Case.objects.todo_for(world.users["grid_1"]).values_list("pk", flat=True))
    assert to_other_grid.pk not in set(
        Case.objects.todo_for(world.users["grid_1"]).values_list("pk", flat=True)
    )
    assert to_company.pk in set(Case.objects.todo_for(world.users["property"]).values_list("pk", flat=True))
    dept_queue = set(Case.objects.todo_for(world.users["department"]).values_list("pk", flat=True))
    assert {to_department.pk, whistled.pk} <= dept_queue
    assert submitted[2].pk not in set(Case.objects.todo_for(staff_a).values_list("pk", flat=True))
    assert submitted[2].pk in set(Case.objects.todo_for(staff_b).values_list("pk", flat=True))


@pytest.mark.django_db
def test_anonymous_has_no_queue(world):
    # given a waiting case; when nobody signed in asks; then nothing
    from django.contrib.auth.models import AnonymousUser

    new_case(world)
    assert not Case.objects.todo_for(AnonymousUser()).exists()
