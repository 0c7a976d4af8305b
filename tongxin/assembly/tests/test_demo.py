"""Acceptance 4: the demo has a 业委会 for 富丰新城 (7 members, 4 of them party members, as seed 001 says), a matter
at each stage, one finished owners' vote, and open mediation cases."""

from __future__ import annotations

import io

from django.core.management import call_command

from tongxin.assembly import services
from tongxin.assembly.models import Body, Matter, Vote
from tongxin.mediation.choices import OPEN_STATES
from tongxin.mediation.models import Dispute


def test_the_demo_shows_every_part_of_self_governance(default_categories):
    call_command("load_demo", "--scale", "0.02", "--strict", stdout=io.StringIO(), stderr=io.StringIO())
    committee = Body.objects.get(kind="owners_committee", estate__name="富丰新城")
    members = list(committee.members.filter(ended_on__isnull=True).values_list("resident_id", flat=True))
    assert len(members) == 7 and len(services.party_member_ids(members)) == 4
    stages = set(Matter.objects.values_list("stage", flat=True))
    assert {"deliberation", "coordination", "voting", "implementation", "done"} <= stages
    finished = Vote.objects.get(electorate="owners", state="closed")
    assert finished.passed is True and finished.result["quorum_met"]
    assert Body.objects.filter(kind="council", community__name="满庭春社区").count() == 5
    assert Dispute.objects.filter(state__in=OPEN_STATES).count() >= 4
