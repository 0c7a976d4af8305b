"""The cases demo keeps every community's cases inside it, and shows the work between intake and rating."""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import call_command
from django.db.models import Q

from tongxin.cases import demo
from tongxin.cases.choices import OPEN_STATES, CaseState, EventType
from tongxin.cases.models import Case, CaseEvent, WhistleCall
from tongxin.core.models import User
from tongxin.people.models import Resident
from tongxin.regions.scoping import scope_for


@pytest.fixture
def demo_cases(db: None) -> str:
    call_command(
        "load_demo", "--scale", "0.02", "--foundation-only", stdout=io.StringIO(), stderr=io.StringIO()
    )
    out = io.StringIO()
    demo.load(random.Random(1), out)
    return out.getvalue()


def test_no_case_is_handled_or_queued_by_another_communitys_staff(demo_cases):
    # given the demo's cases of 满庭春社区 and 大新社区
    assert Case.objects.filter(community__name="大新社区").exists()
    # then every case handled by a person is handled by someone who works where the case is
    people = Case.objects.filter(assignee__isnull=False).select_related("assignee")
    for case in people.iterator():
        scope = scope_for(case.assignee)
        lives_there = Resident.objects.filter(
            user=case.assignee, dwelling__community_id=case.community_id
        ).exists()
        assert scope.covers(case) or lives_there, (case.number, case.assignee.username, case.community_id)
    # and 满庭春's mtc neither handles nor registers any 大新社区 case
    mtc = User.objects.get(username="mtc")
    daxin_cases = Case.objects.filter(community__name="大新社区")
    assert not daxin_cases.filter(Q(assignee=mtc) | Q(submitted_by=mtc)).exists()
    # and her queue (visible, open) holds only 满庭春 cases
    queue = Case.objects.visible_to(mtc).filter(state__in=OPEN_STATES)
    assert queue.exists() and not queue.exclude(community__name="满庭春社区").exists()
    # and the same for 大新社区's daxin the other way round
    daxin = User.objects.get(username="daxin")
    assert (
        not Case.objects.filter(community__name="满庭春社区")
        .filter(Q(assignee=daxin) | Q(submitted_by=daxin))
        .exists()
    )


def test_demo_shows_each_step_once(demo_cases):
    # 改类 to 大修 after 到场 and 形成方案, on a repair routed to the property company at intake
    reclassified = Case.objects.get(events__type=EventType.RECLASSIFIED, events__payload__direction="in")
    assert reclassified.category.service_code == "repairs-large" and reclassified.property_company_id
    assert reclassified.on_site_at and reclassified.plan
    assert reclassified.events.filter(type=EventType.DISPATCHED, payload__note="auto_route").exists()
    # a department that reported in with a note, and one that never did (marked late by the sweep)
    assert WhistleCall.objects.exclude(report_note="").filter(reported_at__isnull=False).exists()
    late = WhistleCall.objects.get(reported_at__isnull=True, late=True)
    assert late.case.events.filter(type=EventType.REPORT_IN_LATE).exists()
    # every staff intake channel
    channels = set(Case.objects.values_list("channel", flat=True))
    assert {"hotline", "grid_patrol", "front_desk", "resident_app", "suggestion_box"} <= channels
    assert CaseEvent.objects.filter(type=EventType.COMMENT).exists()
    assert Case.objects.filter(state=CaseState.IN_PROGRESS).exists()
    assert "改类" in demo_cases and "吹哨报到" in demo_cases
