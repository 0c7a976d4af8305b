"""Acceptance 2: a red-Sunday activity end to end; sign-up rules, waiting list, check-in, caps, rosters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.utils import timezone

from tongxin.core.testing import assert_append_only
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit
from tongxin.ledger.models import LedgerTransaction
from tongxin.ledger.signals import service_rewarded
from tongxin.volunteers import alerts, services
from tongxin.volunteers.choices import AlertLevel, SignUpStatus
from tongxin.volunteers.duty import on_duty_users
from tongxin.volunteers.models import Activity, CaseHourRule, SignUp, TimeBankPolicy

from .conftest import make_activity

pytestmark = pytest.mark.django_db


def test_red_sunday_end_to_end(participants):
    w = participants.world
    member = participants.member
    staff = w.users["staff_a"]
    today = timezone.localdate()
    # given a member with no hours this quarter: red alert
    assert alerts.level_of(member, today) == AlertLevel.RED
    # and a red-Sunday activity with two places
    act = make_activity(w, capacity=2, starts_in=dt.timedelta(days=2))
    # when three people sign up, then the third goes to the waiting list
    s1 = services.sign_up(act, member.resident, actor=member.resident.user)
    s2 = services.sign_up(act, participants.extra[0], actor=participants.extra[0].user)
    s3 = services.sign_up(act, participants.extra[1], actor=participants.extra[1].user)
    assert [s1.status, s2.status, s3.status] == ["confirmed", "confirmed", "waitlisted"]
    # when the second cancels, then the waiting list moves up
    promoted = services.cancel_signup(s2, actor=participants.extra[0].user)
    assert promoted is not None and promoted.pk == s3.pk
    s3.refresh_from_db()
    assert s3.status == SignUpStatus.CONFIRMED
    # when the member checks in with the short code on the day (twice: a retry), then one check-in
    on_the_day = act.starts_at + dt.timedelta(minutes=5)
    with pytest.raises(services.ParticipationError):
        services.check_in(member.resident, "000000" if act.code != "000000" else "111111", now=on_the_day)
    services.check_in(member.resident, act.code, now=on_the_day)
    first = SignUp.objects.get(pk=s1.pk).checked_in_at
    services.check_in(member.resident, act.code, now=on_the_day + dt.timedelta(minutes=3))
    assert SignUp.objects.get(pk=s1.pk).checked_in_at == first
    services.check_out(member.resident, act.code, now=on_the_day + dt.timedelta(hours=2))
    # when the organiser verifies attendance (defaults to those who checked in)
    services.set_activity_status(act, "verified", actor=staff)
    # then the member is credited 2 hours, the one who did not check in is absent
    s1.refresh_from_db()
    s3.refresh_from_db()
    assert (s1.status, s1.hours_credited) == ("attended", Decimal("2"))
    assert s3.status == "absent"
    # and the hours are in the member's statement for the quarter
    account = ledger.person_account(member.resident, Unit.HOURS)
    start, end = ledger.quarter_bounds(timezone.localdate(act.starts_at))
    st = ledger.statement(account, start, end)
    assert st.closing == Decimal("2") and [e.transaction.memo for e in st.entries] == [act.title]
    # and the member's alert level drops from red
    assert alerts.level_of(member, timezone.localdate(act.starts_at)) == AlertLevel.YELLOW
    # and verifying again is refused: nothing credited twice
    with pytest.raises(services.ParticipationError):
        services.verify_attendance(act, actor=staff)
    assert LedgerTransaction.objects.filter(kind="earn").count() == 1


def test_daily_cap_limits_hours_and_retries_credit_once(participants):
    w = participants.world
    r = participants.member.resident
    TimeBankPolicy.objects.create(community=w.community_a, daily_cap=Decimal("2"), lifetime_cap=Decimal("3"))
    day = dt.date(2026, 5, 10)
    assert services.credit_hours(r, Decimal("1.5"), idempotency_key="a", value_date=day) == Decimal("1.5")
    # a retry of the same credit reports the same and posts nothing
    assert services.credit_hours(r, Decimal("1.5"), idempotency_key="a", value_date=day) == Decimal("1.5")
    # the daily cap leaves 0.5 for the rest of the day
    assert services.credit_hours(r, Decimal("2"), idempotency_key="b", value_date=day) == Decimal("0.5")
    assert services.credit_hours(r, Decimal("1"), idempotency_key="c", value_date=day) == 0
    # the next day, the lifetime cap (3) leaves 1
    assert services.credit_hours(r, Decimal("2"), idempotency_key="d", value_date=day.replace(day=11)) == 1
    assert ledger.person_account(r, Unit.HOURS).balance == Decimal("3")


def test_eligibility_and_sign_up_rules(participants):
    w = participants.world
    act = make_activity(w, eligibility="party")
    # a resident who is not a party member is refused with the reason
    with pytest.raises(services.ParticipationError, match="仅限党员"):
        services.sign_up(act, participants.extra[0])
    # a member of another community is refused
    with pytest.raises(services.ParticipationError, match="本社区"):
        services.sign_up(act, participants.member_b.resident)
    services.sign_up(act, participants.member.resident)
    with pytest.raises(services.ParticipationError, match="已报名"):
        services.sign_up(act, participants.member.resident)
    # an activity that has started takes no sign-ups
    Activity.objects.filter(pk=act.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(services.ParticipationError):
        services.sign_up(act, participants.extra[1])


def test_check_in_outside_the_window_is_refused(participants):
    w = participants.world
    act = make_activity(w)
    services.sign_up(act, participants.member.resident)
    with pytest.raises(services.ParticipationError, match="签到时间"):
        services.check_in(participants.member.resident, act.code, now=act.starts_at - dt.timedelta(hours=3))


def test_spending_and_transferring_hours(participants):
    from tongxin.volunteers.models import ServiceOffer

    w = participants.world
    r = participants.member.resident
    other = participants.extra[0]
    services.credit_hours(r, Decimal("2"), idempotency_key="x")
    offer = ServiceOffer.objects.create(
        provider=other, community=w.community_a, title="理发", hours=Decimal("1.5")
    )
    services.spend_hours(r, offer, actor=r.user)
    with pytest.raises(services.ParticipationError, match="余额不足"):
        services.spend_hours(r, offer, actor=r.user)
    services.transfer_hours(other, participants.extra[1], Decimal("1"), actor=other.user)
    balances = [ledger.person_account(x, Unit.HOURS).balance for x in (r, other, participants.extra[1])]
    assert balances == [Decimal("0.5"), Decimal("0.5"), Decimal("1")]
    assert ledger.check_balances() == []


def test_rosters_say_who_is_on_duty_now(participants):
    w = participants.world
    member = participants.member
    member.resident.user = w.users["volunteer"]
    member.resident.save(update_fields=["user"])
    services.assign_post(participants.post, member, actor=w.users["staff_a"])
    now = timezone.now()
    services.add_shift(participants.post, member, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
    assert on_duty_users(None, w.grid_1) == [w.users["volunteer"]]
    assert on_duty_users(None, w.grid_3) == []  # another community
    assert on_duty_users(None, w.grid_1, at=now + dt.timedelta(hours=2)) == []
    # overlapping shifts for the same member are refused; members not on the post are refused
    with pytest.raises(services.ParticipationError):
        services.add_shift(participants.post, member, now, now + dt.timedelta(hours=3))
    with pytest.raises(services.ParticipationError):
        services.assign_post(participants.post, participants.member_b)


def test_resolved_case_credits_hours_by_category_rule(participants):
    w = participants.world
    member = participants.member
    CaseHourRule.objects.create(community=w.community_a, category_code="repair", hours=Decimal("1"))
    CaseHourRule.objects.create(community=w.community_a, category_code="", hours=Decimal("0.5"))

    class Category:
        code = "repair"

    class Case:
        pk = 41
        number = "C-41"
        community_id = w.community_a.pk
        category = Category()

    services.on_case_resolved(case=Case(), handler=member.resident.user)
    services.on_case_resolved(case=Case(), handler=member.resident.user)  # the signal sent twice
    assert ledger.person_account(member.resident, Unit.HOURS).balance == Decimal("1")


def test_alert_thresholds_and_report_in(participants):
    from tongxin.party.models import PartyMember

    member = participants.member
    day = dt.date(2026, 5, 10)
    PartyMember.objects.filter(pk=member.pk).update(reported_in_on=None)
    services.credit_hours(member.resident, Decimal("2"), idempotency_key="1", value_date=day)
    services.credit_hours(member.resident, Decimal("2"), idempotency_key="2", value_date=day.replace(day=11))
    # 4 hours but not reported in (双报到) and no activity: yellow
    assert alerts.level_of(member, day) == AlertLevel.YELLOW
    # with a stricter policy, 4 hours is orange
    TimeBankPolicy.objects.create(
        community=participants.world.community_a, yellow_below=10, orange_below=5, red_below=1
    )
    assert alerts.level_of(member, day) == AlertLevel.ORANGE
    # another quarter has no hours: red
    assert alerts.level_of(member, dt.date(2026, 8, 1)) == AlertLevel.RED


def test_on_duty_follows_the_categorys_posts(participants):
    w = participants.world
    member = participants.member
    member.resident.user = w.users["volunteer"]
    member.resident.save(update_fields=["user"])
    services.assign_post(participants.post, member)
    now = timezone.now()
    services.add_shift(participants.post, member, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))

    class Category:  # the fields of cases.Category the provider reads
        code = "noise"

        def __init__(self, posts: list[str]) -> None:
            self.claim_post_codes = posts

    # a category answered by the patrol post finds the member on patrol; one answered by mediation does not
    assert on_duty_users(Category(["patrol"]), w.grid_1) == [w.users["volunteer"]]
    assert on_duty_users(Category(["mediation"]), w.grid_1) == []
    # a category tied to no post is not for the roster (its own handler list answers)
    assert on_duty_users(Category([]), w.grid_1) == []
    # mapping the category's code to the post puts it on the roster
    from tongxin.volunteers.models import PostCategory

    PostCategory.objects.create(post=participants.post, category_code="noise")
    assert on_duty_users(Category([]), w.grid_1) == [w.users["volunteer"]]


def test_activity_events_are_append_only_and_keep_their_activity(participants):
    # given an activity with its timeline
    act = make_activity(participants.world)
    event = act.events.get(type="created")
    # then the database refuses to change or delete the event through raw SQL
    assert_append_only(event)
    # and the activity cannot be deleted from under its history: it is cancelled instead
    with pytest.raises(ProtectedError):
        act.delete()
    services.set_activity_status(act, "cancelled", actor=participants.world.users["staff_a"])
    assert list(act.events.values_list("type", flat=True)) == ["created", "cancelled"]


def test_verified_service_with_points_is_announced_once_through_the_ledger(participants):
    # given an activity that rewards 5 points as well as hours, and a listener on the ledger's hook
    heard: list[dict] = []

    def listen(sender, **kwargs):
        heard.append(kwargs)

    service_rewarded.connect(listen)
    try:
        act = make_activity(participants.world, points=Decimal("5"))
        su = services.sign_up(act, participants.member.resident)
        # when the organiser verifies the member's attendance
        services.verify_attendance(act, {su.pk}, actor=participants.world.users["staff_a"])
    finally:
        service_rewarded.disconnect(listen)
    # then the hook said so once, for this resident, with a reference unique to the sign-up
    assert [(h["resident"].pk, h["points"], h["reference"]) for h in heard] == [
        (participants.member.resident.pk, Decimal("5"), f"activity-points:{su.pk}")
    ]
    # and the points app (listening too) credited the household on the ledger
    household = participants.member.resident.household
    assert ledger.household_account(household, Unit.POINTS).balance == Decimal("5")
