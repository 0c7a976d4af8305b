from __future__ import annotations

import pytest

from tongxin.cases import services
from tongxin.cases.choices import CaseState
from tongxin.cases.tests.core_fixtures import T0, new_case


@pytest.mark.django_db
def test_smoke_full_flow(world):
    # given a hotline case in 锦绣江山
    case = new_case(world, reporter=world.residents["a1"])
    assert case.number.startswith("20261118")
    assert case.grid_id == world.grid_1.pk and case.community_id == world.community_a.pk
    # when it is dispatched to the property company, resolved and rated
    staff = world.users["staff_a"]
    services.dispatch(case, staff, property_company=world.property_company, now=T0)
    services.start(case, world.users["property"], now=T0)
    services.resolve(case, world.users["property"], "已修好", now=T0)
    services.confirm_and_rate(case, world.users["resident"], "satisfied", "好", now=T0)
    case.refresh_from_db()
    # then it is closed and rated
    assert case.state == CaseState.CLOSED
    assert case.rating == "satisfied"
