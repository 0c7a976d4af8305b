"""Self-governance demo rows, per community, after the seeds:

* 大新社区 / 富丰新城 (seed 001): the first 业委会 registered in February 2021, 7 members of whom 4 are party members
  (红色业委会); the owners' roll of every flat (the developer's unsold flats count as one owner; a few buyers own
  two flats); a finished owners' vote under 民法典 第二百七十八条 (using the maintenance fund for the elevators of
  1—5栋) whose matter is now being implemented; a matter at each other stage — the e-bike chargers in 议事, the
  artificial lake in 协调 after a 四方联席会议, 12栋's fire doors in a building vote, the park road done and
  published; the estate charter, version 1 adopted and version 2 in draft.
* 满庭春社区: the five councils of 玉龙湖 (seed 002: 红白、文体娱乐、和谐、文明倡导、青少年理事会), a 居民议事会 and a
  居民监督委员会; the "七点半议事厅" of 鑫港 (seed 004) held last week on parking in 锦绣江山 and the next one on
  Tuesday evening with its QR sign-in.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongxin.assembly import services
from tongxin.assembly.choices import (
    BodyKind,
    Channel,
    CharterState,
    Choice,
    Electorate,
    MeetingKind,
    MemberRole,
    OwnersItem,
    Source,
    Stage,
)
from tongxin.assembly.models import Ballot, Body, Charter, Elector, Ownership
from tongxin.core.models import User
from tongxin.party.models import PartyMember
from tongxin.people.models import Resident
from tongxin.regions.models import Dwelling, Region

COUNCILS = (
    ("红白理事会", "婚丧事宜简办、移风易俗"),
    ("文体娱乐理事会", "组织文体活动、管理活动场地"),
    ("和谐理事会", "邻里矛盾排查、调解"),
    ("文明倡导理事会", "垃圾分类、文明养犬、楼道整洁"),
    ("青少年理事会", "假期托管、青少年活动"),
)


def load(rng: random.Random, out: Any) -> None:
    if Body.objects.exists():
        out.write("assembly demo already loaded")
        return
    daxin = Region.objects.filter(kind="community", name="大新社区").first()
    fufeng = Region.objects.filter(kind="estate", name="富丰新城").first()
    mtc = Region.objects.filter(kind="community", name="满庭春社区").first()
    staff_daxin = User.objects.filter(username="daxin").first()
    staff_mtc = User.objects.filter(username="mtc").first()
    if daxin is not None and fufeng is not None and staff_daxin is not None:
        n = _owners_roll(rng, fufeng)
        _committee(rng, staff_daxin, daxin, fufeng)
        _fufeng_matters(rng, staff_daxin, daxin, fufeng)
        out.write(f"assembly demo: 富丰新城 owners' roll of {n} flats, 红色业委会, matters at every stage")
    if mtc is not None and staff_mtc is not None:
        _councils(rng, staff_mtc, mtc)
        out.write("assembly demo: 满庭春 five councils, 居民议事会, 七点半议事厅")


def _residents(
    community: Region, rng: random.Random, n: int, *, estate: Region | None = None
) -> list[Resident]:
    qs = Resident.objects.filter(status="active", dwelling__community=community, relation="head")
    if estate is not None:
        qs = qs.filter(dwelling__estate=estate)
    pks = list(qs.order_by("pk").values_list("pk", flat=True)[:3000])
    return list(Resident.objects.filter(pk__in=rng.sample(pks, min(n, len(pks)))).select_related("dwelling"))


def _owners_roll(rng: random.Random, estate: Region) -> int:
    """Every flat of the estate on the roll: its household head owns it; flats without a household are the
    developer's unsold flats; one in fifty owners owns a second flat (his own head-of-household record)."""
    heads = dict(
        Resident.objects.filter(dwelling__estate=estate, status="active", relation="head").values_list(
            "dwelling_id", "pk"
        )
    )
    names = dict(Resident.objects.filter(pk__in=heads.values()).values_list("pk", "name"))
    rows = []
    dwellings = list(Dwelling.objects.filter(estate=estate).order_by("pk").values_list("pk", "floor_area"))
    owners = list(heads.values())
    for pk, area in dwellings:
        area = area or Decimal(rng.choice(["89.50", "96.30", "112.80", "128.60"]))
        head = heads.get(pk)
        if head is not None and rng.random() < 0.02 and owners:
            head = rng.choice(owners)  # a buyer with a second flat (let to the household living there)
        if head is None:
            rows.append(
                Ownership(dwelling_id=pk, estate=estate, owner_name="开发商", developer=True, area=area)
            )
        else:
            rows.append(
                Ownership(dwelling_id=pk, estate=estate, resident_id=head, owner_name=names[head], area=area)
            )
    Ownership.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _committee(rng: random.Random, staff: User, community: Region, estate: Region) -> Body:
    body = services.create_body(
        staff,
        kind=BodyKind.OWNERS_COMMITTEE,
        name="富丰新城第一届业主委员会",
        community=community,
        estate=estate,
        remit="代表全体业主监督物业服务（电梯维保、电动车充电桩、人工湖清洗），定期向业主报告工作。",
        term_start=dt.date(2021, 2, 20),
        term_end=dt.date(2026, 2, 19),
        registered_on=dt.date(2021, 2, 20),
    )
    party = list(
        PartyMember.objects.filter(active=True, resident__dwelling__estate=estate, resident__status="active")
        .order_by("pk")
        .values_list("resident_id", flat=True)[:200]
    )
    chosen = rng.sample(party, min(4, len(party)))
    if (
        len(chosen) < 4
    ):  # a scaled-down demo: the seed says 4 of the 7 are party members, so some join as 居民党员
        from tongxin.party.choices import MemberType

        for r in _residents(community, rng, 12, estate=estate):
            if len(chosen) >= 4:
                break
            if r.pk not in chosen and not PartyMember.objects.filter(resident=r).exists():
                PartyMember.objects.create(
                    resident=r, member_type=MemberType.RESIDENT, joined_on=dt.date(2015, 7, 1)
                )
                chosen.append(r.pk)
    others = [r.pk for r in _residents(community, rng, 20, estate=estate) if r.pk not in party]
    chosen += others[: 7 - len(chosen)]
    roles = [MemberRole.CHAIR, MemberRole.VICE_CHAIR] + [MemberRole.MEMBER] * 5
    for pk, role in zip(chosen, roles, strict=False):
        services.add_member(staff, body, Resident.objects.get(pk=pk), role)
    services.create_body(
        staff,
        kind=BodyKind.COUNCIL,
        name="富丰新城街坊会",
        community=community,
        estate=estate,
        remit="党员楼长带动街坊参与小区治理，化解邻里小纠纷",
    )
    return body


def _fufeng_matters(rng: random.Random, staff: User, community: Region, estate: Region) -> None:
    now = timezone.now()
    body = Body.objects.get(kind=BodyKind.OWNERS_COMMITTEE, estate=estate)
    buildings = list(Region.objects.filter(kind="building", parent=estate).order_by("path"))
    # 议事: e-bike chargers, raised by the committee
    services.raise_matter(
        staff,
        title="改造扩建电动车充电桩",
        description="小区充电桩只有40个，晚上排队、飞线充电屡禁不止，业委会提请增建充电车棚。",
        place=estate,
        source=Source.COMMITTEE,
        body=body,
    )
    # 协调: the lake, after a four-party meeting
    lake = services.raise_matter(
        staff,
        title="清洗人工湖",
        description="人工湖水体发绿发臭，夏季蚊虫多。",
        place=estate,
        source=Source.RESIDENT,
    )
    services.advance(staff, lake, Stage.COORDINATION, "征集意见63条，多数赞成清淤换水")
    meeting = services.convene(
        staff,
        kind=MeetingKind.FOUR_PARTY,
        title="富丰新城小区综合治理四方联席会议",
        community=community,
        estate=estate,
        body=body,
        starts_at=now - dt.timedelta(days=5),
        location="大新社区党群服务中心",
        agenda=[lake],
    )
    for name, party in (
        ("社区党委书记", "party_org"),
        ("居委会主任", "residents_committee"),
        ("业委会主任", "owners_committee"),
        ("物业项目经理", "property"),
    ):
        services.record_attendance(staff, meeting, name=name, party=party)
    services.record_minutes(
        staff,
        meeting,
        minutes="四方议定：人工湖由物业组织清淤换水，业委会监督，费用从公共收益列支并公示。",
        decisions=[(lake, "物业公司于下月完成清淤换水，业委会全程监督")],
    )
    services.set_plan(
        staff,
        lake,
        where="四方联席会议",
        what="人工湖清淤、换水、投放水生植物",
        who="社区党委、居委会、业委会、物业公司",
        how="联席会议协商，方案在小区公示栏公示7天",
        carry_out="物业组织施工，业委会验收",
        responsible="富丰物业",
        meeting=meeting,
    )
    # 表决: 12栋's fire doors, a building vote
    occupied = [
        b for b in buildings if Resident.objects.filter(dwelling__building=b, status="active").exists()
    ]
    if occupied:
        b = occupied[min(11, len(occupied) - 1)]  # 12栋 (the last building in a scaled-down demo)
        owner = _demo_owner(b)
        doors = services.raise_matter(
            staff,
            title=f"{b.name}更换防火门",
            description=f"{b.name}防火门老化关不严。",
            place=b,
            source=Source.RESIDENT,
        )
        services.advance(staff, doors, Stage.COORDINATION)
        services.set_plan(
            staff,
            doors,
            where="七点半议事厅",
            what="更换防火门",
            who=f"{b.name}住户",
            how="本楼住户表决",
            carry_out="物业采购安装",
            responsible="富丰物业",
        )
        vote = services.open_vote(
            staff,
            doors,
            title=f"是否同意更换{b.name}防火门",
            electorate=Electorate.HOUSEHOLDS,
            closes_at=now + dt.timedelta(days=5),
        )
        _ballots(rng, vote, 0.45, (0.9, 0.07))
        if owner is not None:  # the demo login votes himself
            Ballot.objects.filter(vote=vote, elector__dwelling_id=owner.dwelling_id or 0).delete()
    # 表决 finished → 实施: the elevators of 1—5栋 from the maintenance fund (owners' vote, item 五)
    lifts = services.raise_matter(
        staff,
        title="使用维修资金更换1—5栋电梯",
        description="1—5栋电梯运行超过15年，故障频发，业委会提请动用专项维修资金更换。",
        place=estate,
        source=Source.COMMITTEE,
        body=body,
        owners_matter=True,
    )
    services.advance(staff, lifts, Stage.COORDINATION)
    services.set_plan(
        staff,
        lifts,
        where="业主大会",
        what="动用维修资金更换电梯",
        who="全体业主",
        how="业主共同决定（线上+纸质）",
        carry_out="招标采购，业委会监督",
        responsible="富丰物业",
    )
    vote = services.open_vote(
        staff,
        lifts,
        title="使用专项维修资金更换1—5栋电梯",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.USE_FUND,
        closes_at=now + dt.timedelta(hours=1),
    )
    _ballots(rng, vote, 0.78, (0.86, 0.09))
    services.close_vote(staff, vote)
    lifts.refresh_from_db()
    if lifts.stage == Stage.IMPLEMENTATION:
        services.add_milestone(
            staff, lifts, title="完成招标，确定电梯供应商", progress=30, cost=Decimal("20000")
        )
    # 已办结: the park road
    road = services.raise_matter(
        staff,
        title="恢复开通小区公园路双向行驶",
        description="公园路改单行后绕行远。",
        place=estate,
        source=Source.RESIDENT,
    )
    services.advance(staff, road, Stage.COORDINATION)
    services.set_plan(
        staff,
        road,
        where="四方联席会议",
        what="恢复双向行驶",
        who="四方",
        how="协商",
        carry_out="物业调整标线",
        responsible="富丰物业",
    )
    services.advance(staff, road, Stage.IMPLEMENTATION)
    services.finish(staff, road, "公园路已恢复双向行驶，增设减速带两处。")
    Charter.objects.create(
        estate=estate,
        community=community,
        version=1,
        title="富丰新城小区自治公约",
        text="一、爱护公共设施……\n二、电动车入棚充电……",
        state=CharterState.ADOPTED,
        adopted_on=dt.date(2021, 6, 1),
    )
    services.draft_charter(
        staff,
        estate,
        title="富丰新城小区自治公约（修订稿）",
        text="一、爱护公共设施……\n二、电动车入棚充电，禁止飞线……\n三、文明养犬……",
    )


def _demo_owner(building: Region) -> Resident | None:
    """The demo login ``yezhu``: an owner living in ``building`` (on the owners' roll), with a phone account."""
    from django.contrib.auth.hashers import make_password

    from tongxin.core import demo
    from tongxin.regions.models import RoleAssignment

    r = (
        Resident.objects.filter(
            dwelling__building=building, status="active", relation="head", ownerships__ended_on__isnull=True
        )
        .order_by("pk")
        .first()
    )
    if r is None or User.objects.filter(username="yezhu").exists():
        return None
    user = r.user
    if user is not None:
        user.username, user.password = "yezhu", make_password(demo.PASSWORD)
        user.save(update_fields=["username", "password"])
    else:
        user = User.objects.create(
            username="yezhu", display_name=r.name, password=make_password(demo.PASSWORD)
        )
        r.user = user
        r.save(update_fields=["user"])
    if not RoleAssignment.objects.filter(user=user, role="resident").exists():
        RoleAssignment.objects.create(user=user, role="resident")
    return r


def _ballots(rng: random.Random, vote: Any, turnout: float, split: tuple[float, float]) -> None:
    """Ballots of ``turnout`` of the persons (all units of a person voted alike), online or on paper."""
    units: dict[str, list[int]] = defaultdict(list)
    for pk, person in Elector.objects.filter(vote=vote).values_list("pk", "person"):
        units[person].append(pk)
    rows = []
    for _person, pks in sorted(units.items()):
        if rng.random() >= turnout:
            continue
        r = rng.random()
        choice = (
            Choice.AGREE if r < split[0] else Choice.AGAINST if r < split[0] + split[1] else Choice.ABSTAIN
        )
        channel = Channel.ONLINE if rng.random() < 0.6 else Channel.PAPER
        rows += [Ballot(vote=vote, elector_id=pk, choice=choice, channel=channel) for pk in pks]
    Ballot.objects.bulk_create(rows, batch_size=2000)


def _councils(rng: random.Random, staff: User, community: Region) -> None:
    members = _residents(community, rng, 60)
    i = 0
    for name, remit in (
        *COUNCILS,
        ("满庭春社区居民议事会", "小区车位停放、公共设施维护、物业管理等事项的议事协商"),
        ("满庭春社区居民监督委员会", "监督居务公开、议题实施和经费使用"),
    ):
        kind = (
            BodyKind.RESIDENTS_COUNCIL
            if "议事会" in name
            else BodyKind.SUPERVISION
            if "监督" in name
            else BodyKind.COUNCIL
        )
        body = services.create_body(staff, kind=kind, name=name, community=community, remit=remit)
        for j in range(5):
            if i < len(members):
                services.add_member(
                    staff, body, members[i], MemberRole.CHAIR if j == 0 else MemberRole.MEMBER
                )
                i += 1
    council = Body.objects.get(name="满庭春社区居民议事会")
    jinxiu = Region.objects.filter(kind="estate", name="锦绣江山", parent=community).first()
    if jinxiu is None:
        return
    parking = services.raise_matter(
        staff,
        title="锦绣江山车位停放",
        description="晚上车辆占用消防通道，业主与外来车辆争车位。",
        place=jinxiu,
        source=Source.COUNCIL,
        body=council,
    )
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    last_week = dt.datetime.combine(today - dt.timedelta(days=7), dt.time(19, 30), tzinfo=tz)
    held = services.convene(
        staff,
        kind=MeetingKind.EVENING,
        title="七点半议事厅：锦绣江山车位停放",
        community=community,
        estate=jinxiu,
        body=council,
        starts_at=last_week,
        location="锦绣江山党群驿站",
        agenda=[parking],
    )
    for m in members[:8]:
        services.record_attendance(staff, held, name=m.name, party="resident")
    services.record_minutes(
        staff,
        held,
        minutes="晚饭后一小时议事：居民提出划线、错峰停车、外来车辆登记三条建议。",
        decisions=[(parking, "先征集一周意见，再交居民议事会协调")],
    )
    days = (1 - today.weekday()) % 7 or 7  # next Tuesday
    services.convene(
        staff,
        kind=MeetingKind.EVENING,
        title="七点半议事厅：楼道堆物清理",
        community=community,
        starts_at=dt.datetime.combine(today + dt.timedelta(days=days), dt.time(19, 30), tzinfo=tz),
        location="满庭春社区三楼居民议事厅",
        body=council,
    )
