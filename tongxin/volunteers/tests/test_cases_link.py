"""Hours for handling a case, through the real cases app: claim, resolve, the on-commit signal, the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.volunteers import alerts
from tongxin.volunteers.models import CaseHourRule

pytestmark = pytest.mark.django_db

core = pytest.importorskip("tongxin.cases.tests.core_fixtures")


def test_member_who_claims_and_resolves_a_case_earns_hours(world, django_capture_on_commit_callbacks):
    from tongxin.cases import services as cases
    from tongxin.party.models import PartyMember

    # given a rule of 1.5 hours for leak repairs and a member of the patrol post in grid 1
    case = core.new_case(world)
    CaseHourRule.objects.create(
        community=world.community_a, category_code=case.category.service_code, hours=Decimal("1.5")
    )
    member_user = core.make_member(world, "jiedan", post="patrol")
    # when the case is opened for claiming, the member claims it and resolves it (the signal fires on commit)
    with django_capture_on_commit_callbacks(execute=True):
        cases.open_for_claiming(case, world.users["staff_a"], now=core.T0)
        cases.claim(case, member_user, now=core.T0)
        cases.resolve(case, member_user, "已修好", now=core.T0)
    # then the member is credited by the category's rule, once, and the claim counts in their participation
    member = PartyMember.objects.get(resident__user=member_user)
    assert ledger.person_account(member.resident, Unit.HOURS).balance == Decimal("1.5")
    row = alerts.participation(PartyMember.objects.filter(pk=member.pk), core.T0.date())[0]
    assert (row.hours, row.claims) == (Decimal("1.5"), 1)
