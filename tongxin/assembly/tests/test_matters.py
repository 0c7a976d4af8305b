"""Matters through their stages, votes with online and paper ballots, meetings and the policy around them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tongxin.assembly import services
from tongxin.assembly.choices import Choice, Electorate, MeetingKind, OwnersItem, PaperState, Stage
from tongxin.assembly.models import Ballot, Matter, PaperEntry
from tongxin.assembly.tests.conftest import add_flat, coordinating_matter, later
from tongxin.core import policy
from tongxin.core.models import Notification

pytestmark = pytest.mark.django_db


def test_a_resident_raises_a_matter_for_his_estate_and_neighbours_support_it(world, owners):
    """Given an owner living in 富丰新城, when he raises a matter for his building, then it is in 议事; a neighbour
    supports it once; a resident of another community gets 404 (not affected)."""
    me, neighbour = owners[0].user, owners[1].user
    m = services.raise_matter(
        me, title="电动车充电桩扩建", description="充电桩不够用", place=world.dwellings["b1"].building
    )
    assert (
        m.stage == Stage.DELIBERATION
        and m.source == "resident"
        and m.building_id == world.dwellings["b1"].building_id
    )
    assert services.support(neighbour, m) is True
    assert services.support(neighbour, m) is False
    m.refresh_from_db()
    assert m.supports == 1
    outsider = world.users["resident"]  # lives in community A
    with pytest.raises(policy.PolicyDenied) as exc:
        services.support(outsider, m)
    assert exc.value.decision is policy.Decision.NOT_FOUND


def test_a_resident_cannot_raise_a_matter_for_a_place_he_does_not_live_in(world, owners):
    with pytest.raises(ValidationError) as exc:
        services.raise_matter(owners[0].user, title="x", description="y", place=world.estate_a)
    assert "place" in exc.value.message_dict


def test_staff_raise_matters_anywhere_in_their_communities_and_nowhere_else(world, owners):
    """Given staff and a grid worker of community A (who live nowhere in it), when they raise matters, then a
    place of community A is theirs as staff (source staff / grid worker), a place of community B is refused as
    for any resident who does not live there, and the policy's rule says the same as the service."""
    staff_a, grid_1 = world.users["staff_a"], world.users["grid_1"]
    m = services.raise_matter(staff_a, title="楼道堆物", description="消防通道堵塞", place=world.estate_a)
    assert m.source == "staff" and m.community_id == world.community_a.pk
    g = services.raise_matter(
        grid_1, title="路灯不亮", description="小区东门", place=world.dwellings["a1"].building
    )
    assert g.source == "grid_worker"
    for user in (staff_a, grid_1):
        assert policy.can(user, "assembly.propose_for_community", m)
        with pytest.raises(ValidationError) as exc:
            services.raise_matter(user, title="x", description="y", place=world.estate_b)
        assert "place" in exc.value.message_dict
    assert not policy.can(
        owners[0].user, "assembly.propose_for_community", m
    )  # a resident: only where he lives


def test_each_stage_is_published_to_the_affected_residents(world, owners, django_capture_on_commit_callbacks):
    """Given a matter of 富丰新城, when staff move it to 协调, then each owner with an account gets a message and
    the resident of community A does not."""
    m = services.raise_matter(
        world.users["staff_b"], title="清洗人工湖", description="湖水发臭", place=world.estate_b
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.advance(world.users["staff_b"], m, Stage.COORDINATION, "征集到意见20条")
    notes = Notification.objects.filter(kind="assembly_outcome")
    assert {n.user_id for n in notes} == {owners[0].user_id, owners[1].user_id}
    assert reverse("assembly:mine_detail", args=[m.pk]) in notes.first().link


def test_transitions_outside_the_table_are_refused(world, owners):
    staff = world.users["staff_b"]
    m = services.raise_matter(staff, title="t", description="d", place=world.estate_b)
    with pytest.raises(ValidationError):
        services.advance(staff, m, Stage.DONE)
    with pytest.raises(ValidationError):
        services.advance(staff, m, Stage.VOTING)  # votes move matters into 表决
    with pytest.raises(policy.PolicyDenied):
        services.advance(world.users["staff_a"], m, Stage.COORDINATION)  # another community: 404


def test_owners_vote_one_owner_three_flats_and_the_developer(world, owners):
    """Given six owners, one buyer with three more flats and the developer's two unsold flats, when the owners'
    vote opens, then the electorate has 11 parts and 7 owners; the buyer votes once online for his three flats."""
    staff = world.users["staff_b"]
    buyer = owners[0]
    for n in ("701", "702", "703"):
        services.register_owner(world.users["admin"], add_flat(world, "b1", n), resident=buyer)
    for n in ("801", "802"):
        services.register_owner(world.users["admin"], add_flat(world, "b1", n), developer=True)
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff,
        m,
        title="维修资金使用",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.USE_FUND,
        closes_at=later(),
    )
    t = services.tally(vote)
    assert (t.units, t.total_heads, t.total_area) == (11, 7, Decimal("1100.00"))
    services.cast(buyer.user, vote, Choice.AGREE)
    t = services.tally(vote)
    assert t.ballots == 4 and t.participating_heads == 1 and t.area[Choice.AGREE] == Decimal("400.00")
    # he changes his mind before the deadline: still one person, the change is kept in the event log
    services.cast(buyer.user, vote, Choice.AGAINST)
    assert set(Ballot.objects.filter(vote=vote).values_list("choice", flat=True)) == {Choice.AGAINST}
    assert vote.events.filter(type="changed").count() == 4
    rc = services.recount(vote)
    t = services.tally(vote)
    assert rc["total_area"] == t.total_area and rc["total_heads"] == t.total_heads
    assert (
        rc["area"][Choice.AGAINST] == t.area[Choice.AGAINST]
        and rc["participating_heads"] == t.participating_heads
    )


def test_a_paper_ballot_for_an_owner_who_voted_online_is_refused_and_both_are_kept(world, owners):
    staff = world.users["staff_b"]
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff,
        m,
        title="选举业委会",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.COMMITTEE,
        closes_at=later(),
    )
    services.cast(owners[0].user, vote, Choice.AGREE)
    elector = vote.electors.get(resident=owners[0])
    entry = services.enter_paper(world.users["grid_3"], vote, elector, Choice.AGAINST)
    assert entry.state == PaperState.CONFLICT
    assert Ballot.objects.get(elector=elector).choice == Choice.AGREE  # the online ballot counts
    assert PaperEntry.objects.filter(elector=elector).count() == 1  # the paper is kept for review
    assert services.tally(vote).ballots == 1


def test_paper_ballots_are_entered_twice_by_two_people(world, owners):
    """Given a paper ballot, when one clerk enters it, it does not count yet; the same clerk cannot enter it again;
    a second clerk with the same choice counts it; a different choice flags both entries."""
    staff, clerk = world.users["staff_b"], world.users["grid_3"]
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff, m, title="t", electorate=Electorate.OWNERS, owners_item=OwnersItem.CHARTER, closes_at=later()
    )
    e2, e3 = vote.electors.get(resident=owners[2]), vote.electors.get(resident=owners[3])
    assert services.enter_paper(clerk, vote, e2, Choice.AGREE).state == PaperState.PENDING
    assert services.tally(vote).ballots == 0
    with pytest.raises(ValidationError):
        services.enter_paper(clerk, vote, e2, Choice.AGREE)
    assert services.enter_paper(staff, vote, e2, Choice.AGREE).state == PaperState.MATCHED
    assert Ballot.objects.get(elector=e2).channel == "paper"
    services.enter_paper(clerk, vote, e3, Choice.AGREE)
    assert services.enter_paper(staff, vote, e3, Choice.AGAINST).state == PaperState.DISCREPANCY
    assert not Ballot.objects.filter(elector=e3).exists()
    # the owner whose paper ballot counted cannot vote online as well
    owners[2].user = owners[0].user.__class__.objects.create_user("owner_2x", password="x")
    owners[2].save(update_fields=["user"])
    with pytest.raises(ValidationError) as exc:
        services.cast(owners[2].user, vote, Choice.AGAINST)
    assert exc.value.code == "already_voted"


def test_closing_a_vote_moves_the_matter_and_a_building_vote_counts_households(world, owners):
    """Given a building vote of the 6 households, when 4 agree and the vote closes, then it passes and the matter
    goes to 实施; residents can no longer vote after the deadline."""
    staff = world.users["staff_b"]
    m = coordinating_matter(world, place=world.dwellings["b1"].building)
    services.set_plan(
        staff,
        m,
        where="七点半议事厅",
        what="防火门",
        who="四方",
        how="协商",
        carry_out="物业施工",
        responsible="物业",
    )
    vote = services.open_vote(
        staff, m, title="更换防火门", electorate=Electorate.HOUSEHOLDS, closes_at=later()
    )
    assert services.tally(vote).total_heads == 7  # 6 owners' flats + 王五's 501
    services.cast(owners[0].user, vote, Choice.AGREE)
    for o in owners[2:5]:
        services.enter_paper(
            world.users["grid_3"], vote, vote.electors.get(dwelling=o.dwelling), Choice.AGREE
        )
        services.enter_paper(staff, vote, vote.electors.get(dwelling=o.dwelling), Choice.AGREE)
    services.close_vote(staff, vote)
    vote.refresh_from_db()
    m.refresh_from_db()
    assert vote.passed is True and vote.result["participating_heads"] == 4
    assert m.stage == Stage.IMPLEMENTATION
    with pytest.raises(policy.PolicyDenied):
        services.cast(owners[1].user, vote, Choice.AGREE)


def test_a_failed_owners_vote_rejects_the_matter(world, owners):
    staff = world.users["staff_b"]
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff, m, title="t", electorate=Electorate.OWNERS, owners_item=OwnersItem.REBUILD, closes_at=later()
    )
    services.cast(owners[0].user, vote, Choice.AGREE)
    services.close_vote(staff, vote)
    m.refresh_from_db()
    vote.refresh_from_db()
    assert m.stage == Stage.REJECTED and vote.result["quorum_met"] is False


def test_owners_matters_are_voted_by_owners_only(world, owners):
    m = coordinating_matter(world, owners_matter=True)
    with pytest.raises(ValidationError):
        services.open_vote(
            world.users["staff_b"], m, title="t", electorate=Electorate.HOUSEHOLDS, closes_at=later()
        )


def test_implementation_milestones_and_the_published_result(world, owners):
    staff = world.users["staff_b"]
    m = coordinating_matter(world)
    with pytest.raises(ValidationError):
        services.advance(staff, m, Stage.IMPLEMENTATION)  # no responsible unit yet
    services.set_plan(staff, m, where="a", what="b", who="c", how="d", carry_out="e", responsible="红色物业")
    services.advance(staff, m, Stage.IMPLEMENTATION)
    services.add_milestone(staff, m, title="采购", progress=40, cost=Decimal("12000"))
    with pytest.raises(ValidationError):
        services.add_milestone(staff, m, title="倒退", progress=30)
    services.finish(staff, m, "20樘防火门已更换")
    m.refresh_from_db()
    assert (m.stage, m.progress, m.cost) == (Stage.DONE, 100, Decimal("12000.00"))
    assert m.events.filter(type="published").count() >= 3


def test_meeting_with_qr_sign_in_minutes_and_decisions(world, owners):
    staff = world.users["staff_b"]
    m = coordinating_matter(world)
    meeting = services.convene(
        staff,
        kind=MeetingKind.FOUR_PARTY,
        title="四方联席会议",
        community=world.community_b,
        starts_at=timezone.now() + dt.timedelta(hours=2),
        location="党群服务中心",
        agenda=[m],
    )
    a = services.check_in(owners[0].user, meeting.checkin_code)
    assert services.check_in(owners[0].user, meeting.checkin_code).pk == a.pk
    services.record_attendance(staff, meeting, name="物业经理", party="property")
    services.record_minutes(staff, meeting, minutes="议定更换防火门", decisions=[(m, "由物业实施")])
    meeting.refresh_from_db()
    assert meeting.state == "held" and m.decisions.count() == 1
    assert services.attendance_by_party(meeting) == {"resident": 1, "property": 1}
    with pytest.raises(policy.PolicyDenied):
        services.check_in(owners[1].user, meeting.checkin_code)  # the meeting is over


def test_a_recurring_case_pattern_becomes_a_matter(world, owners, default_categories):
    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    cat = Category.objects.filter(parent__isnull=False).first()
    for i in range(3):
        cases.submit(
            channel="hotline",
            category=cat,
            description=f"充电桩坏了{i}",
            dwelling=world.dwellings["b1"],
            actor=world.users["staff_b"],
        )
    patterns = services.recurring_patterns(world.users["staff_b"])
    assert patterns and patterns[0]["n"] == 3
    m = services.matter_from_cases(
        world.users["staff_b"], estate=world.estate_b, category_id=patterns[0]["category_id"]
    )
    assert m.source == "cases" and m.cases.count() == 3
    page = world.client("staff_b").get(f"/assembly/{m.pk}/")
    assert page.status_code == 200 and "关联诉求" in page.content.decode()
    assert services.recurring_patterns(world.users["staff_b"]) == []
    assert Matter.objects.count() == 1


def test_only_the_communitys_managers_turn_cases_into_a_matter(world, default_categories):
    """Given recurring cases in 富丰新城 (community B), when community A's staff or B's grid worker (who follows
    matters but does not manage them) turns them into a matter, then both are refused and nothing is written."""
    from tongxin.cases import services as cases
    from tongxin.cases.models import Category

    cat = Category.objects.filter(parent__isnull=False).first()
    for i in range(3):
        cases.submit(
            channel="hotline",
            category=cat,
            description=f"路灯不亮{i}",
            dwelling=world.dwellings["b1"],
            actor=world.users["staff_b"],
        )
    for who in ("staff_a", "grid_3"):
        with pytest.raises(services.AssemblyError):
            services.matter_from_cases(world.users[who], estate=world.estate_b, category_id=cat.pk)
    assert not Matter.objects.exists()


def test_a_discrepancy_is_settled_by_review_and_electors_are_invited(
    world, owners, django_capture_on_commit_callbacks
):
    staff, clerk = world.users["staff_b"], world.users["grid_3"]
    m = coordinating_matter(world, owners_matter=True)
    with django_capture_on_commit_callbacks(execute=True):
        vote = services.open_vote(
            staff,
            m,
            title="t",
            electorate=Electorate.OWNERS,
            owners_item=OwnersItem.USE_FUND,
            closes_at=later(),
        )
    from tongxin.core.models import Notification

    assert set(Notification.objects.filter(kind="assembly_vote").values_list("user_id", flat=True)) == {
        owners[0].user_id,
        owners[1].user_id,
    }
    e = vote.electors.get(resident=owners[3])
    services.enter_paper(clerk, vote, e, Choice.AGREE)
    services.enter_paper(staff, vote, e, Choice.AGAINST)
    with pytest.raises(policy.PolicyDenied):
        services.resolve_paper(clerk, vote, e, Choice.AGREE)  # grid workers do not review
    ballot = services.resolve_paper(staff, vote, e, Choice.AGREE)
    assert ballot is not None and ballot.choice == Choice.AGREE
    assert PaperEntry.objects.filter(elector=e).count() == 2


def test_a_charter_draft_is_adopted_by_the_owners_vote(world, owners):
    staff = world.users["staff_b"]
    v1 = services.draft_charter(staff, world.estate_b, title="小区自治公约", text="一、爱护公共设施")
    v1.state, v1.adopted_on = "adopted", timezone.localdate()
    v1.save()
    v2 = services.draft_charter(staff, world.estate_b, title="小区自治公约（修订）", text="一、二、三")
    assert v2.version == 2
    m = coordinating_matter(world, owners_matter=True)
    vote = services.open_vote(
        staff,
        m,
        title="修订公约",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.CHARTER,
        closes_at=later(),
        charter=v2,
    )
    for o in owners[:2]:
        services.cast(o.user, vote, Choice.AGREE)
    for o in owners[2:5]:
        e = vote.electors.get(resident=o)
        services.enter_paper(world.users["grid_3"], vote, e, Choice.AGREE)
        services.enter_paper(staff, vote, e, Choice.AGREE)
    services.close_vote(staff, vote)
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.state, v2.state) == ("superseded", "adopted")
