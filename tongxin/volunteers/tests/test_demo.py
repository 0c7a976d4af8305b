"""The demo's member alerts single out the few members who need a visit (issue 13: 572 of 满庭春's 605 members were
orange or red when every member type shared one scale and few members had hours)."""

from __future__ import annotations

import io
from collections import Counter

from django.core.management import call_command
from django.utils import timezone

from tongxin.party.models import PartyMember
from tongxin.volunteers import alerts
from tongxin.volunteers.choices import AlertLevel


def test_the_demo_alerts_single_out_a_few_members_and_visit_the_elderly(default_categories):
    """Given the demo, when 满庭春's alerts for this quarter are computed, then most members are normal, fewer than a
    fifth are on the visit list, every elderly-frail member is to be visited (not warned) and every warning says
    why."""
    call_command("load_demo", "--scale", "0.02", "--strict", stdout=io.StringIO(), stderr=io.StringIO())
    members = PartyMember.objects.filter(active=True, resident__dwelling__community__name="满庭春社区")
    rows = alerts.participation(members, timezone.localdate())
    levels = Counter(r.level for r in rows)
    assert len(rows) >= 10
    assert levels[AlertLevel.GREEN] > len(rows) / 2
    assert sum(r.needs_visit for r in rows) < len(rows) / 5 + levels[AlertLevel.CARE]
    assert all(r.level == AlertLevel.CARE for r in rows if r.member.member_type == "elderly_frail")
    assert all(r.reason for r in rows if r.level != AlertLevel.GREEN)
