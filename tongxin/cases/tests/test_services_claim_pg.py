"""Acceptance 3: two members claim one case at the same moment, with real threads on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from tongxin.cases import services
from tongxin.cases.choices import CaseError, CaseState
from tongxin.cases.models import Case, CaseEvent
from tongxin.cases.tests.core_fixtures import ensure_default_categories, make_member, new_case
from tongxin.conftest import build_world

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks with real threads need PostgreSQL"),
]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_exactly_one_wins():
    # given a public-order case open for claiming and two patrol members of the grid
    ensure_default_categories()
    world = build_world()
    members = [make_member(world, f"racer_{i}", seq=100 + i) for i in range(2)]
    case = new_case(world, code="public-order", description="楼下有人打架")
    services.open_for_claiming(case, world.users["staff_a"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(user):
        try:
            barrier.wait(timeout=10)
            services.claim(case.pk, user)
            outcomes.append("won")
        except CaseError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    # when both claim at the same moment from two threads (two connections)
    threads = [threading.Thread(target=attempt, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # then exactly one wins, the other is told it was already claimed, and one claim event exists
    assert sorted(outcomes) == ["already_claimed", "won"]
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.assignee_id in {m.pk for m in members}
    assert CaseEvent.objects.filter(case=case, type="claimed").count() == 1
    assert Case.objects.filter(pk=case.pk, assignee__isnull=False).count() == 1
