"""Mediation: a dispute on the grid's register through sessions, agreement, follow-up and closing; a case handed
over and back; parties' phones masked and the reveal audited; mediators see only their disputes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tongxin.core import policy
from tongxin.core.models import AuditLog
from tongxin.mediation import services
from tongxin.mediation.choices import DisputeKind, DisputeSource, DisputeState, MediatorKind
from tongxin.mediation.models import Dispute

pytestmark = pytest.mark.django_db


def _dispute(world, grid=None, staff="staff_a"):
    return services.register(
        world.users[staff],
        title="楼上漏水",
        description="卫生间漏水",
        kind=DisputeKind.NEIGHBOURS,
        source=DisputeSource.PATROL,
        grid=grid or world.grid_1,
        parties=[
            {"role": "applicant", "name": "张三", "phone": "13912345678"},
            {"role": "respondent", "name": "李四"},
        ],
    )


def test_a_dispute_goes_from_the_register_to_a_kept_agreement(world):
    staff = world.users["staff_a"]
    mediator = services.add_mediator(
        staff,
        community=world.community_a,
        kind=MediatorKind.LEGAL_ADVISER,
        name="刘律师",
        user=world.users["volunteer"],
    )
    d = _dispute(world)
    assert d.number.startswith("TJ") and d.parties.get(role="applicant").phone_masked.startswith("139")
    assert "13912345678" not in d.parties.get(role="applicant").phone_masked
    services.assign(staff, d, mediator)
    d.refresh_from_db()
    lawyer = world.users["volunteer"]
    policy.forget(lawyer)
    assert policy.can(lawyer, "mediation.view", d)
    with pytest.raises(ValidationError):
        services.record_agreement(lawyer, d, text="x")  # no session yet
    services.record_session(lawyer, d, notes="双方到场，物业查明漏点")
    services.record_agreement(lawyer, d, text="李四负责维修并赔偿500元")
    pdf = services.agreement_pdf(Dispute.objects.get(pk=d.pk))
    assert pdf.startswith(b"%PDF")
    services.follow_up(lawyer, d, kept=True, notes="已修好")
    d.refresh_from_db()
    assert d.state == DisputeState.CLOSED
    with pytest.raises(policy.PolicyDenied):
        services.record_session(lawyer, d, notes="again")


def test_out_of_scope_and_property_staff_do_not_see_disputes(world):
    d = _dispute(world)
    assert not policy.can(world.users["staff_b"], "mediation.view", d)
    assert not policy.can(world.users["property"], "mediation.view", d)
    assert policy.can(world.users["grid_1"], "mediation.view", d)
    with pytest.raises(ValidationError):
        _dispute(world, grid=world.grid_3, staff="staff_a")


def test_revealing_a_partys_phone_is_audited(world):
    d = _dispute(world)
    party = d.parties.get(role="applicant")
    assert services.reveal_phone(world.users["staff_a"], party) == "13912345678"
    assert AuditLog.objects.filter(action="reveal", field="phone", object_id=str(party.pk)).exists()
    with pytest.raises(policy.PolicyDenied):
        services.reveal_phone(world.users["staff_b"], party)


def test_a_case_is_handed_to_mediation_and_back(world, default_categories):
    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    cat = Category.objects.filter(parent__isnull=False).first()
    case = cases.submit(
        channel="hotline",
        category=cat,
        description="邻居噪音扰民",
        dwelling=world.dwellings["a1"],
        actor=world.users["staff_a"],
    )
    d = services.hand_over_case(world.users["staff_a"], case, kind=DisputeKind.NEIGHBOURS)
    assert d.case_id == case.pk and d.source == DisputeSource.CASE and d.grid_id == world.grid_1.pk
    page = world.client("staff_a").get(f"/mediation/{d.pk}/")
    assert page.status_code == 200 and case.number in page.content.decode()
    with pytest.raises(ValidationError):
        services.hand_over_case(world.users["staff_a"], case, kind=DisputeKind.NEIGHBOURS)
    services.return_to_case(world.users["staff_a"], d, note="涉及房屋质量，转住建部门")
    d.refresh_from_db()
    assert d.state == DisputeState.RETURNED
    assert case.events.filter(type="comment").count() >= 1


def test_dispute_list_page_and_api_stay_within_a_query_budget(world, django_assert_max_num_queries):
    for _ in range(5):
        _dispute(world)
    c = world.client("staff_a")
    with django_assert_max_num_queries(20):
        assert c.get("/mediation/").status_code == 200
    with django_assert_max_num_queries(12):
        body = c.get("/api/v1/mediation/disputes").json()
    assert body["count"] == 5


def test_the_case_panel_renders_by_name_for_the_case_page(world, default_categories, rf):
    """Given a case, the panel the case page includes by name offers the hand-over to its grid's staff, lists the
    dispute once handed over, and shows nothing to out-of-scope staff."""
    from django.template.loader import render_to_string

    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    case = cases.submit(
        channel="hotline",
        category=Category.objects.filter(parent__isnull=False).first(),
        description="邻里纠纷",
        dwelling=world.dwellings["a1"],
        actor=world.users["staff_a"],
    )

    def panel(user):
        request = rf.get("/")
        request.user = user
        return render_to_string("mediation/_case_panel.html", {"case": case}, request=request)

    assert "转入矛盾调解" in panel(world.users["staff_a"])
    assert panel(world.users["staff_b"]).strip() == ""
    d = services.hand_over_case(world.users["staff_a"], case, kind=DisputeKind.NEIGHBOURS)
    html = panel(world.users["staff_a"])
    assert d.number in html and "转入矛盾调解" not in html


def test_the_case_page_carries_the_mediation_panel(world, default_categories):
    """Given a case in community A, when its staff open the case page, then the mediation panel offers the
    hand-over (registered by mediation with the case page; cases imports nothing of mediation)."""
    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    case = cases.submit(
        channel="hotline",
        category=Category.objects.filter(parent__isnull=False).first(),
        description="楼上漏水引发邻里争执",
        dwelling=world.dwellings["a1"],
        actor=world.users["staff_a"],
    )
    page = world.client("staff_a").get(f"/cases/{case.pk}/").content.decode()
    assert "转入矛盾调解" in page
