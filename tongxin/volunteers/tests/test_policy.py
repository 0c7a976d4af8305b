"""Participation on the policy layer: who reaches which page and object, and buttons that appear exactly when
the action they trigger would succeed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from tongxin.core import policy
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import LedgerTransaction
from tongxin.volunteers import services
from tongxin.volunteers.models import Activity, PostAssignment, ServiceOffer, SignUp

from .conftest import make_activity

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "volunteers:posts",
    "volunteers:activities",
    "volunteers:accounts",
    "volunteers:alerts",
    "volunteers:visits",
    "volunteers:appraisal",
    "volunteers:talent",
]


def test_staff_pages_by_role(participants):
    w = participants.world
    # given every role of the world, when each opens the staff pages of participation
    expected = {
        "admin": 200,
        "staff_a": 200,
        "staff_b": 200,
        "grid_1": 200,
        "grid_3": 200,
        "property": 404,  # property staff serve estates, not the party members' red bank
        "department": 404,
        "volunteer": 404,  # members and residents have their own pages
        "resident": 404,
    }
    for role, status in expected.items():
        c = w.client(role)
        for name in STAFF_PAGES:
            assert c.get(reverse(name)).status_code == status, (role, name)
    # then anonymous visitors are sent to sign in, and the entry page sends participants to their own hours
    assert Client().get(reverse("volunteers:posts"))["Location"].startswith("/login/")
    assert w.client("resident").get(reverse("volunteers:home"))["Location"] == reverse("volunteers:my_hours")
    assert w.client("property").get(reverse("volunteers:home")).status_code == 404


def test_activity_buttons_match_what_verifying_does(participants):
    w = participants.world
    for role, visible in (("admin", True), ("staff_a", True), ("grid_1", True), ("staff_b", False)):
        # given an open activity of community A with one member signed up
        act = make_activity(w, title=f"活动{role}")
        su = services.sign_up(act, participants.member.resident)
        c = w.client(role)
        page = c.get(reverse("volunteers:activity_detail", args=[act.pk]))
        if not visible:
            assert page.status_code == 404, role  # another community's activity does not exist for them
            continue
        shown = "核验出勤并入账" in page.content.decode()
        # when the role verifies attendance
        r = c.post(
            reverse("volunteers:activity_detail", args=[act.pk]), {"action": "verify", "attended": [su.pk]}
        )
        act.refresh_from_db()
        # then the button was shown exactly when verifying works, as the policy says
        assert (
            shown
            == (act.status == "verified")
            == policy.can(w.users[role], "volunteers.manage_activity", act)
        )
        assert r.status_code == (302 if shown else 404), role


def test_post_and_account_buttons_match_what_the_actions_do(participants):
    w = participants.world
    post = participants.post
    services.credit_hours(participants.member.resident, Decimal("1"), idempotency_key="p")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    for role in ("grid_1", "staff_a"):
        c = w.client(role)
        # assigning a post
        page = c.get(reverse("volunteers:post_detail", args=[post.pk])).content.decode()
        c.post(
            reverse("volunteers:post_detail", args=[post.pk]),
            {"action": "assign", "member_id": participants.member.pk},
        )
        assigned = PostAssignment.objects.filter(post=post, member=participants.member).exists()
        assert ("分配党员" in page) == assigned == (role == "staff_a"), role
        # reversing a posting
        page = c.get(reverse("volunteers:account_detail", args=[account.pk])).content.decode()
        tx = LedgerTransaction.objects.filter(entries__account=account, reverses__isnull=True).first()
        c.post(reverse("volunteers:account_detail", args=[account.pk]), {"transaction": tx.pk})
        reversed_ = LedgerTransaction.objects.filter(reverses=tx).exists()
        assert ('class="link">冲正' in page) == reversed_ == (role == "staff_a"), role


def test_create_and_check_links_match_the_pages_behind_them(participants):
    w = participants.world
    for role in ("admin", "staff_a", "grid_1"):
        c = w.client(role)
        activities = c.get(reverse("volunteers:activities")).content.decode()
        accounts = c.get(reverse("volunteers:accounts")).content.decode()
        create = c.get(reverse("volunteers:activity_create")).status_code
        check = c.post(reverse("volunteers:check_balances")).status_code
        assert ("发布活动" in activities) == (create == 200), role
        assert ("核对全部余额" in accounts) == (check == 302), role
        assert (create == 200) == (role != "grid_1") and (check == 302) == (role == "admin"), role


def test_members_act_only_in_their_home_community_and_on_their_own_rows(participants):
    w = participants.world
    # given an activity and an offer in community A, and a member of community B
    act = make_activity(w)
    Activity.objects.filter(pk=act.pk).update(community=w.community_b)
    offer = ServiceOffer.objects.create(
        provider=participants.extra[0], community=w.community_a, title="代买药品", hours=Decimal("1")
    )
    mine = services.sign_up(make_activity(w, title="本社区活动"), participants.extra[1])
    c = w.client("resident")  # member a1, community A
    # when the member joins another community's activity, then it does not exist for them
    assert c.post(reverse("volunteers:join", args=[act.pk])).status_code == 404
    # when they cancel someone else's sign-up, then it does not exist either, and it stays
    assert c.post(reverse("volunteers:leave", args=[mine.pk])).status_code == 404
    assert SignUp.objects.get(pk=mine.pk).status == "confirmed"
    # and the offer of their own community is theirs to use (refused for want of hours, with the reason)
    r = c.post(reverse("volunteers:use_offer", args=[offer.pk]), follow=True)
    assert r.status_code == 200 and "余额不足" in r.content.decode()
    # staff get 404 on the members' own actions
    assert w.client("staff_a").post(reverse("volunteers:join", args=[act.pk])).status_code == 404


def test_api_operations_by_role(participants):
    w = participants.world
    services.credit_hours(participants.member.resident, Decimal("1"), idempotency_key="api")
    account = ledger.person_account(participants.member.resident, Unit.HOURS)
    balance = f"/api/v1/volunteers/accounts/{account.pk}/balance"
    on_duty = f"/api/v1/volunteers/on-duty?grid={w.grid_1.pk}"
    # given roles outside the staff of community A, then they are told the account and the grid do not exist
    for role in ("property", "department", "resident", "staff_b", "grid_3"):
        c = w.client(role)
        for url in (balance, on_duty):
            r = c.get(url)
            assert r.status_code == 404 and r.json()["code"] == "not_found", (role, url)
    # and staff of A get them, lists in the one envelope
    assert w.client("grid_1").get(balance).json()["balance"] == "1.00"
    body = w.client("grid_1").get(on_duty).json()
    assert set(body) >= {"count", "page", "page_size", "items"}
    # and anonymous callers are asked to authenticate
    assert Client().get(balance).status_code == 401
