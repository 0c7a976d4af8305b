"""Demo rows for participation: post assignments, duty rosters (someone on duty now), red-Sunday activities
(one verified last month with hours credited, one open for sign-up), service offers and a few months of hours.

Deterministic for a given ``rng``; writes through the services (so the ledger is balanced) but keeps the
number of postings small enough to load in a few seconds on SQLite.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongxin.core.models import User
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import TransactionKind, Unit
from tongxin.party.choices import MemberType
from tongxin.party.models import CoBuildingUnit, PartyMember, ServicePost
from tongxin.regions.models import Region
from tongxin.volunteers import services
from tongxin.volunteers.choices import Eligibility, SignUpStatus
from tongxin.volunteers.models import (
    Activity,
    CaseHourRule,
    DutyShift,
    PostAssignment,
    PostCategory,
    ServiceOffer,
    SignUp,
    TimeBankPolicy,
)

# Case category codes → hours for the member who handled the case (per-category rule).
CASE_HOURS = {
    "": Decimal("0.5"),
    "convenience": Decimal("1"),
    "public-order": Decimal("1"),
    "neighbour-dispute": Decimal("1.5"),
    "policy-question": Decimal("0.5"),
}


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def load(rng: random.Random, out: Any) -> None:
    if Activity.objects.exists():
        out.write("volunteers demo already loaded")
        return
    staff = User.objects.filter(username="mtc").first()
    today = timezone.localdate()
    communities = list(Region.objects.filter(kind="community").order_by("pk"))
    for community in communities:
        TimeBankPolicy.objects.get_or_create(community=community)
        for code, hours in CASE_HOURS.items():
            CaseHourRule.objects.get_or_create(
                community=community, category_code=code, defaults={"hours": hours}
            )
    # 定岗定责: every member holding a post gets an assignment row
    members = list(
        PartyMember.objects.filter(service_post__isnull=False, active=True)
        .select_related("resident__dwelling", "resident__household__dwelling", "service_post")
        .order_by("pk")
    )
    PostAssignment.objects.bulk_create(
        [
            PostAssignment(post=m.service_post, member=m, started_on=m.reported_in_on or dt.date(2024, 1, 1))
            for m in members
        ]
    )
    # Case categories name their posts (claim_post_codes); PostCategory adds what the cases app does not map.
    for post in ServicePost.objects.filter(code="care"):
        PostCategory.objects.get_or_create(post=post, category_code="convenience")
    # Rosters: for each post, three members a day for the next week, 08–14 and 14–20 (dangyuan on patrol now)
    by_post: dict[int, list[PartyMember]] = {}
    for m in members:
        by_post.setdefault(m.service_post_id, []).append(m)  # type: ignore[arg-type]
    shifts = []
    dangyuan = (
        PartyMember.objects.filter(resident__user__username="dangyuan").select_related("resident").first()
    )
    for post_id, holders in by_post.items():
        pool = [m for m in holders if dangyuan is None or m.pk != dangyuan.pk]
        for d in range(7):
            day = today + dt.timedelta(days=d)
            for start, end in ((8, 14), (14, 20)):
                for m in rng.sample(pool, min(2, len(pool))):
                    shifts.append(
                        DutyShift(post_id=post_id, member=m, starts_at=_at(day, start), ends_at=_at(day, end))
                    )
    if dangyuan is not None and dangyuan.service_post_id:
        now = timezone.localtime()
        shifts.append(
            DutyShift(
                post_id=dangyuan.service_post_id,
                member=dangyuan,
                starts_at=now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2),
                ends_at=now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=6),
            )
        )
    DutyShift.objects.bulk_create(shifts)
    duty = _credit_duty_days(rng, today)
    # Activities in 满庭春社区: last month's red Sunday (verified) and next Sunday's (open)
    mtc = Region.objects.filter(kind="community", name="满庭春社区").first()
    if mtc is None or staff is None:
        out.write(
            f"volunteers: {len(members)} post assignments, {len(shifts)} shifts, {duty} with duty hours"
        )
        return
    local = [m for m in members if m.resident.dwelling and m.resident.dwelling.community_id == mtc.pk]
    last_sunday = today - dt.timedelta(days=(today.weekday() + 1) % 7 or 7)
    past = Activity.objects.create(
        community=mtc,
        kind="red_sunday",
        title="红色星期天：锦绣江山环境整治",
        place="锦绣江山小区",
        starts_at=_at(last_sunday, 8),
        ends_at=_at(last_sunday, 11),
        capacity=30,
        hours=Decimal("2"),
        points=Decimal("5"),
        created_by=staff,
        code=services._unique_code(),
    )
    attendees = rng.sample(local, min(24, len(local)))
    SignUp.objects.bulk_create(
        [
            SignUp(
                activity=past,
                resident=m.resident,
                status=SignUpStatus.CONFIRMED,
                signed_up_at=past.starts_at - dt.timedelta(days=3),
                checked_in_at=past.starts_at + dt.timedelta(minutes=rng.randint(-20, 15)),
            )
            for m in attendees
        ]
    )
    services.verify_attendance(past, actor=staff)
    next_sunday = today + dt.timedelta(days=6 - today.weekday() or 7)
    upcoming = services.create_activity(
        actor=staff,
        community=mtc,
        kind="red_sunday",
        title="红色星期天：政策宣传进楼栋",
        place="满庭春社区党群服务中心",
        starts_at=_at(next_sunday, 9),
        ends_at=_at(next_sunday, 11),
        capacity=20,
        hours=Decimal("2"),
        description="入户宣传垃圾分类和反诈知识，结束后集中签退。",
    )
    for m in rng.sample(local, min(12, len(local))):
        if m.resident.dwelling_id:
            services.sign_up(upcoming, m.resident)
    unit = CoBuildingUnit.objects.filter(name="市卫健委").first()
    if unit is not None:
        services.create_activity(
            actor=staff,
            community=mtc,
            organiser_unit=unit,
            kind="volunteer",
            title="健康义诊进社区",
            place="满庭春广场",
            starts_at=_at(today + dt.timedelta(days=10), 9),
            ends_at=_at(today + dt.timedelta(days=10), 12),
            capacity=10,
            eligibility=Eligibility.UNIT,
            eligible_unit=unit,
            hours=Decimal("3"),
        )
    offers = [("理发", "1"), ("家电维修", "1.5"), ("陪诊", "2")]
    for m, (title, price) in zip(rng.sample(local, min(3, len(local))), offers, strict=False):
        ServiceOffer.objects.create(provider=m.resident, community=mtc, title=title, hours=Decimal(price))
    out.write(
        f"volunteers: {len(members)} post assignments, {len(shifts)} shifts, 3 activities, {duty} members with"
        " duty hours"
    )


def _credit_duty_days(rng: random.Random, today: dt.date) -> int:
    """This quarter's duty days (治安巡逻、交通值守 …): most members served on three of them, some once or twice,
    a few not at all — so the alert lists single out the few who need a visit, as a community that runs its
    members this way would see. Elderly-frail members are visited, not counted. One ledger transaction per
    community and day (the community's hours account to every member on duty that day)."""
    start, _end = ledger.quarter_bounds(today)
    span = max((today - start).days, 1)
    days = sorted({min(start + dt.timedelta(days=rng.randrange(span)), today) for _ in range(8)})[-3:]
    members = (
        PartyMember.objects.filter(active=True)
        .exclude(member_type=MemberType.ELDERLY_FRAIL)
        .select_related("resident__dwelling")
        .order_by("pk")
    )
    legs: dict[tuple[int, dt.date], list[tuple[Any, Decimal]]] = {}
    communities: dict[int, Any] = {}
    served = 0
    for m in members:
        draw = rng.random()
        if draw < 0.04:
            continue  # not at all: red (mobile members: yellow on their own scale)
        shifts = [(days[-1], Decimal("1"))] if draw < 0.08 else None
        if shifts is None:
            n = 2 if draw < 0.16 else 3
            shifts = [(d, Decimal(rng.choice(["1.5", "2"]))) for d in days[-n:]]
        try:
            account = ledger.person_account(m.resident, Unit.HOURS)
        except ledger.LedgerError:
            continue
        communities[account.community_id] = account.community_id
        for day, hours in shifts:
            legs.setdefault((account.community_id, day), []).append((account, hours))
        served += 1
    regions = Region.objects.in_bulk(list(communities))
    for (community_id, day), rows in sorted(legs.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        community = regions[community_id]
        source = ledger.community_account(community, Unit.HOURS)
        ledger.post(
            [(source, -sum((h for _a, h in rows), Decimal("0"))), *rows],
            kind=TransactionKind.EARN,
            memo=rng.choice(["治安巡逻", "交通值守", "政策宣传入户", "楼道清理"]),
            idempotency_key=f"demo-duty:{community_id}:{day.isoformat()}",
            value_date=day,
            community=community,
        )
    return served
