"""Acceptance 4 (participation pages): staff and resident pages, scoping (404 outside), query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.conftest import make_resident
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.people.models import Tag
from tongxin.volunteers import services
from tongxin.volunteers.models import Activity, SignUp

from .conftest import make_activity, make_member

pytestmark = pytest.mark.django_db


def test_staff_pages_render_for_community_staff(participants):
    w = participants.world
    act = make_activity(w)
    services.assign_post(participants.post, participants.member)
    services.credit_hours(participants.member.resident, Decimal("1"), idempotency_key="v")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    c = w.client("staff_a")
    for name, args in [
        ("volunteers:home", []),
        ("volunteers:posts", []),
        ("volunteers:post_detail", [participants.post.pk]),
        ("volunteers:activities", []),
        ("volunteers:activity_create", []),
        ("volunteers:activity_detail", [act.pk]),
        ("volunteers:accounts", []),
        ("volunteers:account_detail", [account.pk]),
        ("volunteers:alerts", []),
        ("volunteers:visits", []),
        ("volunteers:appraisal", []),
        ("volunteers:talent", []),
    ]:
        response = c.get(reverse(name, args=args))
        assert response.status_code == 200, name
    detail = c.get(reverse("volunteers:activity_detail", args=[act.pk])).content.decode()
    assert act.code in detail and "<svg" in detail  # the check-in code and its QR code


def test_out_of_scope_staff_get_404(participants):
    w = participants.world
    act = make_activity(w)
    services.credit_hours(participants.member.resident, Decimal("1"), idempotency_key="v")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    # staff of community B and a grid worker of community B see none of community A's objects
    for role in ("staff_b", "grid_3"):
        c = w.client(role)
        for url in (
            reverse("volunteers:post_detail", args=[participants.post.pk]),
            reverse("volunteers:activity_detail", args=[act.pk]),
            reverse("volunteers:account_detail", args=[account.pk]),
        ):
            assert c.get(url).status_code == 404, (role, url)
        assert participants.member.resident.name not in c.get(reverse("volunteers:alerts")).content.decode()
    # a grid worker of A sees the activity but may not verify it
    r = w.client("grid_1").post(reverse("volunteers:activity_detail", args=[act.pk]), {"action": "verify"})
    assert r.status_code == 404
    # residents and department liaisons have no staff pages
    assert w.client("department").get(reverse("volunteers:posts")).status_code == 404
    assert w.client("resident").get(reverse("volunteers:accounts")).status_code == 404
    # anonymous users are sent to sign in
    from django.test import Client

    assert Client().get(reverse("volunteers:activities")).status_code == 302


def test_staff_create_and_verify_activity_through_the_pages(participants):
    w = participants.world
    c = w.client("staff_a")
    start = timezone.localtime() + dt.timedelta(days=3)
    r = c.post(
        reverse("volunteers:activity_create"),
        {
            "community": w.community_a.pk,
            "title": "红色星期天：义诊",
            "kind": "red_sunday",
            "place": "社区广场",
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "capacity": 5,
            "eligibility": "anyone",
            "hours": "1.5",
            "points": "10",
        },
    )
    act = Activity.objects.get(title="红色星期天：义诊")
    assert r.status_code == 302 and r.url == reverse("volunteers:activity_detail", args=[act.pk])
    su = services.sign_up(act, participants.member.resident)
    r = c.post(
        reverse("volunteers:activity_detail", args=[act.pk]), {"action": "verify", "attended": [su.pk]}
    )
    assert r.status_code == 302
    su.refresh_from_db()
    assert su.status == "attended" and su.hours_credited == Decimal("1.5")
    # the activity's points went to the member's household on the same ledger
    assert ledger.household_account(participants.member.resident.household, Unit.POINTS).balance == 10


def test_reversal_from_the_account_page(participants):
    w = participants.world
    services.credit_hours(participants.member.resident, Decimal("2"), idempotency_key="v")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    tx = account.entries.get().transaction
    c = w.client("staff_a")
    assert (
        c.post(reverse("volunteers:account_detail", args=[account.pk]), {"transaction": tx.pk}).status_code
        == 302
    )
    account.refresh_from_db()
    assert account.balance == 0
    # a grid worker may read but not reverse
    assert (
        w.client("grid_1")
        .post(reverse("volunteers:account_detail", args=[account.pk]), {"transaction": tx.pk})
        .status_code
        == 404
    )


def _more_activities(w, n):  # type: ignore[no-untyped-def]
    for i in range(n):
        make_activity(w, title=f"活动{i}", starts_in=dt.timedelta(days=1 + i))


def _more_members(w, n, start):  # type: ignore[no-untyped-def]
    tag, _ = Tag.objects.get_or_create(code="senior_talent", defaults={"name": "五老人员"})
    for i in range(n):
        r = make_resident(w.dwellings["a2"], f"党员{start + i}", start + i)
        r.tags.add(tag)
        m = make_member(r)
        services.credit_hours(r, Decimal("1"), idempotency_key=f"m{start + i}")
        ledger.household_account(r.household, Unit.POINTS)
        del m


@pytest.mark.parametrize(
    "name",
    [
        "volunteers:activities",
        "volunteers:accounts",
        "volunteers:alerts",
        "volunteers:talent",
        "volunteers:posts",
    ],
)
def test_list_pages_have_a_fixed_number_of_queries(participants, django_assert_max_num_queries, name):
    w = participants.world
    c = w.client("staff_a")
    _more_activities(w, 2)
    _more_members(w, 2, 200)
    c.get(reverse(name))  # warm up: session, scope
    with django_assert_max_num_queries(14) as few:
        assert c.get(reverse(name)).status_code == 200
    _more_activities(w, 6)
    _more_members(w, 6, 300)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert c.get(reverse(name)).status_code == 200


def test_resident_pages_join_check_in_and_hours(participants):
    w = participants.world
    me = participants.member.resident  # user "resident"
    c = w.client("resident")
    act = make_activity(w, capacity=1)
    other = make_activity(w, title="其他社区活动")
    Activity.objects.filter(pk=other.pk).update(community=w.community_b)
    page = c.get(reverse("volunteers:my_activities")).content.decode()
    assert act.title in page and "其他社区活动" not in page
    assert c.post(reverse("volunteers:join", args=[act.pk])).status_code == 302
    su = SignUp.objects.get(activity=act, resident=me)
    assert su.status == "confirmed"
    # someone else's sign-up cannot be cancelled by me; another community's activity cannot be joined
    theirs = services.sign_up(act, participants.extra[0])
    assert c.post(reverse("volunteers:leave", args=[theirs.pk])).status_code == 404
    assert c.post(reverse("volunteers:join", args=[other.pk])).status_code == 404
    # the QR code opens the check-in page with the code; checking in outside the window is refused
    r = c.get(reverse("volunteers:checkin") + f"?code={act.code}")
    assert r.status_code == 200 and act.code in r.content.decode()
    r = c.post(reverse("volunteers:checkin"), {"code": act.code, "action": "in"}, follow=True)
    assert "不在签到时间内" in r.content.decode()
    Activity.objects.filter(pk=act.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=5))
    c.post(reverse("volunteers:checkin"), {"code": act.code, "action": "in"})
    su.refresh_from_db()
    assert su.checked_in_at is not None
    services.verify_attendance(act, actor=w.users["staff_a"])
    page = c.get(reverse("volunteers:my_hours")).content.decode()
    assert act.title in page and 'class="balance">2<' in page


def test_an_account_without_a_resident_record_is_told_so(world):
    # given a volunteer account not linked to any resident, when it opens its own pages, then it is told why
    c = world.client("volunteer")
    for name in ("volunteers:my_hours", "volunteers:my_activities", "volunteers:checkin", "points:mine"):
        r = c.get(reverse(name))
        assert r.status_code == 200 and "还没有关联居民信息" in r.content.decode(), name
    # and the API says the same: no account yet, and checking in is refused with the reason
    assert c.get("/api/v1/volunteers/me/hours").json()["account_id"] is None
    r = c.post("/api/v1/volunteers/checkin", {"code": "123456"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "no_resident"


def test_a_co_building_unit_organises_an_activity_for_its_members(participants):
    from tongxin.party.models import CoBuildingUnit

    w = participants.world
    unit = CoBuildingUnit.objects.create(name="市卫健委")
    unit.communities.add(w.community_a)
    elsewhere = CoBuildingUnit.objects.create(name="别处单位")
    participants.member.employer = unit
    participants.member.save(update_fields=["employer"])
    start = timezone.localtime() + dt.timedelta(days=3)
    data = {
        "community": w.community_a.pk,
        "title": "健康义诊",
        "kind": "volunteer",
        "place": "社区广场",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": 5,
        "eligibility": "unit",
        "eligible_unit": unit.pk,
        "organiser_unit": unit.pk,
        "hours": "2",
        "points": "0",
    }
    c = w.client("staff_a")
    # a unit that does not work with this community cannot be named
    assert (
        c.post(reverse("volunteers:activity_create"), {**data, "eligible_unit": elsewhere.pk}).status_code
        == 404
    )
    assert c.post(reverse("volunteers:activity_create"), data).status_code == 302
    act = Activity.objects.get(title="健康义诊")
    assert act.organiser_unit == unit and act.eligible_unit == unit
    # members employed by the unit may join; other members may not
    services.sign_up(act, participants.member.resident)
    other = make_member(participants.extra[0])
    with pytest.raises(services.ParticipationError, match="市卫健委"):
        services.sign_up(act, other.resident)
