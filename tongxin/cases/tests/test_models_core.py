"""The transition table, append-only events, and who sees which case."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from tongxin.cases import services
from tongxin.cases.choices import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    CaseState,
    Channel,
    TransitionError,
    check_transition,
)
from tongxin.cases.models import Case, CaseEvent
from tongxin.cases.tests.core_fixtures import T0, make_member, new_case


def test_transition_table_covers_every_state_and_terminal_states_are_final():
    assert set(TRANSITIONS) == set(CaseState.values)
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] == frozenset()
    assert not set(OPEN_STATES) & set(TERMINAL_STATES)
    with pytest.raises(TransitionError, match="已结案"):
        check_transition(CaseState.CLOSED, CaseState.REOPENED)
    check_transition(CaseState.RESOLVED, CaseState.REOPENED)


@pytest.mark.django_db
def test_events_are_append_only(world):
    case = new_case(world)
    event = case.events.get()
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        CaseEvent.objects.filter(case=case).update(type="x")
    with pytest.raises(PermissionDenied):
        CaseEvent.objects.filter(case=case).delete()


def visible(user) -> set[str]:
    return set(Case.objects.visible_to(user).values_list("description", flat=True))


@pytest.mark.django_db
def test_visible_to_each_role(world):
    # given cases in grid 1 (community A), grid 2 (community A) and grid 3 (community B)
    u = world.users
    a1 = new_case(world, key="a1", description="a1", reporter=world.residents["a1"])
    new_case(world, key="a2", description="a2")
    b1 = new_case(world, key="b1", description="b1")
    box = services.submit(channel=Channel.SUGGESTION_BOX, category="environment", description="box", now=T0)
    # staff see their region, grid workers their grid, the subdistrict everything located under it
    assert visible(u["admin"]) == {"a1", "a2", "b1"}
    assert visible(u["staff_a"]) == {"a1", "a2"}
    assert visible(u["staff_b"]) == {"b1"}
    assert visible(u["grid_1"]) == {"a1"}
    # property staff and department liaisons only see what is assigned to them, not the whole estate
    assert visible(u["property"]) == set()
    assert visible(u["department"]) == set()
    services.dispatch(a1, u["staff_a"], property_company=world.property_company)
    services.dispatch(b1, u["staff_b"], department=world.department)
    assert visible(u["property"]) == {"a1"}
    assert visible(u["department"]) == {"b1"}
    # the resident sees their own case only; a volunteer without a case nothing; anonymous nothing
    assert visible(u["resident"]) == {"a1"}
    assert visible(u["volunteer"]) == set()
    assert visible(None) == set()
    # an unlocated suggestion is seen by superusers only
    assert box.description not in visible(u["admin"])


@pytest.mark.django_db
def test_volunteers_see_claimable_cases_of_their_grid_only(world):
    near = make_member(world, "near", key="a1", seq=91)
    far = make_member(world, "far", key="b1", seq=92)
    case = new_case(world, code="public-order", description="claimable")
    assert visible(near) == set()
    services.open_for_claiming(case, world.users["staff_a"])
    assert visible(near) == {"claimable"}
    assert visible(far) == set()
    services.claim(case, near)
    # once claimed it stays visible to the claimer
    assert visible(near) == {"claimable"}


@pytest.mark.django_db
def test_handler_queue_is_ordered_by_deadline(world, django_assert_max_num_queries):
    grid1 = world.users["grid_1"]
    late = new_case(world, code="environment", description="7 days")
    soon = new_case(world, code="repairs-leak", description="1 day")
    for c in (late, soon):
        services.dispatch(c, world.users["staff_a"], assignee=grid1)
    with django_assert_max_num_queries(1):
        assert [c.pk for c in Case.objects.queue_for(grid1)] == [soon.pk, late.pk]


@pytest.mark.django_db
def test_party_members_see_claimable_cases_without_a_volunteer_role(world):
    # given a party member of grid 1 who holds no volunteer role (党员接单 needs no extra registration)
    from tongxin.regions.models import RoleAssignment

    member = make_member(world, "member_only", key="a1", seq=93)
    RoleAssignment.objects.filter(user=member).delete()
    member = type(member).objects.get(pk=member.pk)  # a fresh user object: no cached scope
    case = new_case(world, code="public-order", description="claimable")
    # when staff open the case for claiming
    services.open_for_claiming(case, world.users["staff_a"])
    # then the member sees it, and a resident of the same grid who is not a member does not
    assert visible(member) == {"claimable"}
    assert visible(world.users["resident"]) == set()
