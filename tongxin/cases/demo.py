"""Demo cases: a few hundred requests over the last four months across channels, categories and states, plus
the 209 suggestion-box items of 满庭春社区 (seed 000: "收到意见209条，整改率100%").

For speed the rows are written in bulk (cases, events, whistle calls), following the same life cycle as the
services; the rollups are then rebuilt from the events (:func:`tongxin.cases.tasks.rebuild_rollups`), so the
dashboards and a recount agree. Deterministic for a given ``rng``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongxin.cases import sla
from tongxin.cases.choices import CaseState, Channel, EventType, HandlerKind, Rating
from tongxin.cases.models import Case, CaseCounter, CaseEvent, Category, WhistleCall, local_day
from tongxin.cases.services import RECEIPT_ALPHABET
from tongxin.cases.tasks import mark_late_report_ins, rebuild_rollups, sweep_deadlines, sweep_steps
from tongxin.core.models import User
from tongxin.people.models import Resident
from tongxin.regions.models import Department, Dwelling, PropertyCompany, Region

S = CaseState
GENERAL_CASES = 320
SUGGESTIONS = 209
DAYS_BACK = 120

TEXTS = {
    "repairs-leak": ["楼顶漏水，卧室天花板一直滴水", "卫生间往楼下渗水", "下雨后阳台墙面渗水"],
    "repairs-small": ["楼道灯不亮了", "单元门禁坏了，刷卡打不开", "水龙头关不紧一直滴水"],
    "repairs-medium": ["下水道堵塞，污水返上来", "防火门关不上", "楼道墙皮大面积脱落"],
    "repairs-large": ["电梯经常困人，需要大修", "外墙瓷砖脱落有安全隐患"],
    "property": ["保洁不及时，楼道有垃圾", "小区绿化带没人修剪", "保安夜间不巡逻"],
    "parking": ["消防通道被私家车占用", "充电桩不够用，电动车飞线充电", "道闸经常抬不起来"],
    "environment": ["垃圾桶满了没人清运", "人工湖有异味需要清洗", "楼道堆放杂物"],
    "waste-sorting": ["分类垃圾桶标识不清", "厨余垃圾桶破损"],
    "public-order": ["夜间广场舞噪音扰民", "有人高空抛物", "小区里有大型犬不拴绳"],
    "neighbour-dispute": ["楼上装修噪音和邻居起了矛盾", "邻居占用公共楼道", "停车位纠纷"],
    "policy-question": ["咨询孩子入学需要哪些证明", "咨询医保异地报销", "咨询独居老人补贴政策"],
    "convenience": ["独居老人需要代买药品", "行动不便老人需要理发上门", "帮忙代办社保认证"],
    "utilities": ["整栋楼停水没有通知", "家里经常跳闸", "暖气不热"],
    "city-management": ["小区门口占道经营", "路边违章搭建", "道路井盖破损"],
}
SUGGESTION_TEXTS = [
    "房屋漏水，希望物业尽快处理",
    "下水道井盖破损，晚上容易踩空",
    "希望增加分类垃圾桶",
    "建议小区增设健身器材",
    "楼道灯经常坏，建议换声控灯",
    "建议规范小区停车",
    "希望在小区门口设置快递柜",
]
CHANNEL_WEIGHTS = [
    (Channel.HOTLINE, 30),
    (Channel.GRID_PATROL, 20),
    (Channel.FRONT_DESK, 10),
    (Channel.RESIDENT_APP, 25),
    (Channel.API, 5),
    (Channel.OPEN311, 10),
]


def load(rng: random.Random, out: Any) -> None:
    if Case.objects.exists():
        out.write("cases demo already loaded")
        return
    builder = _Builder(rng)
    if not builder.ready:
        out.write("cases demo skipped: the foundation demo (communities, users) is missing")
        return
    with transaction.atomic():
        builder.build()
    rebuild_rollups(builder.first_day, timezone.localdate())
    shown = _showcase(builder)
    swept = sweep_deadlines()
    swept.update(sweep_steps())
    late = mark_late_report_ins()
    out.write(
        f"cases demo: {builder.count} cases ({SUGGESTIONS} suggestion-box items), "
        f"{len(builder.events)} events, {len(builder.calls)} whistle calls; sweep {swept}; "
        f"late report-ins {late}; showcase {shown}"
    )


def _showcase(b: _Builder) -> list[str]:
    """A few cases worked through the real services, so the demo shows each step once: a repair routed to the
    estate's 红色物业 at intake, 到场, 形成方案, 改类 to 大修 (the 15-day clock), a 进展 note; a whistle the
    department answered with a 报到说明 and a progress note, and one nobody answered (marked late by the sweep);
    a 网格巡查 finding and a 服务窗口 walk-in."""
    from tongxin.cases import services
    from tongxin.cases.choices import CaseError

    done: list[str] = []
    repairs = ["repairs", "repairs-small", "repairs-leak", "repairs-medium", "repairs-large"]
    Category.objects.filter(service_code__in=repairs).update(auto_route=True)
    if "城管" in b.departments:
        Category.objects.filter(service_code="city-management").update(
            auto_route=True, default_department=b.departments["城管"]
        )
    jumin = Resident.objects.filter(user__username="jumin").select_related("dwelling").first()
    u = b.users
    now = timezone.now()
    try:
        home = jumin.dwelling if jumin is not None else None
        if home is None or home.estate_id not in b.company_estates:  # a flat the red property company serves
            home = Dwelling.objects.filter(estate_id__in=sorted(b.company_estates)).order_by("pk").first()
        if home is not None and b.company is not None:
            staff = b.staff_by_community.get(home.community_id)
            mine = jumin is not None and jumin.dwelling_id == home.pk
            case = services.submit(
                channel=Channel.RESIDENT_APP if mine else Channel.HOTLINE,
                category="repairs",
                description="厨房顶上的外墙裂缝一直渗水，墙皮一片片往下掉",
                actor=jumin.user if mine and jumin is not None else staff,
                reporter=jumin if mine else None,
                dwelling=home,
                now=now - dt.timedelta(hours=3),
            )
            if case.state != S.DISPATCHED:  # the estate has several companies: the community staff choose
                services.dispatch(case, staff, property_company=b.company, now=now - dt.timedelta(hours=3))
            handler = u.get("wuye")
            if handler is not None:
                services.mark_on_site(
                    case, handler, now=now - dt.timedelta(hours=3) + dt.timedelta(minutes=8)
                )
                services.record_plan(
                    case, handler, "外墙整体空鼓，需搭架子铲除重做防水", now=now - dt.timedelta(hours=2)
                )
                services.reclassify(
                    case, staff, "repairs-large", reason="现场查看属外墙大修", now=now - dt.timedelta(hours=1)
                )
                services.comment(
                    case, handler, "已报维修基金，周三搭架施工", now=now - dt.timedelta(minutes=30)
                )
                done.append(f"改类 {case.number}")
        admin, cg = u.get("jiedao"), u.get("chengguan")
        dwellings = Dwelling.objects.filter(community=b.communities["满庭春社区"]).order_by("pk")
        first = dwellings.first()
        if admin is not None and cg is not None and "城管" in b.departments and first is not None:
            staff = b.staff_by_community.get(first.community_id)
            answered = services.submit(
                channel=Channel.HOTLINE,
                category="public-order",
                description="小区门口夜市占道，消防车进不来",
                actor=staff,
                dwelling=first,
                now=now - dt.timedelta(hours=2),
            )
            [call] = services.whistle(
                answered,
                admin,
                [b.departments["城管"]],
                note="占道影响消防通道",
                now=now - dt.timedelta(hours=2),
            )
            services.report_in(
                call, cg, note="城管中队张队长带4人20分钟内到场", now=now - dt.timedelta(hours=2, minutes=-12)
            )
            services.comment(answered, cg, "已劝离摊贩12处，明晚继续巡查", now=now - dt.timedelta(hours=1))
            silent = services.submit(
                channel=Channel.GRID_PATROL,
                category="public-order",
                description="巡查发现广场东侧违规搭建彩钢棚",
                actor=staff,
                dwelling=dwellings.last(),
                now=now - dt.timedelta(minutes=50),
            )
            services.whistle(
                silent, admin, [b.departments["城管"]], note="请到场核查", now=now - dt.timedelta(minutes=45)
            )
            services.submit(
                channel=Channel.FRONT_DESK,
                category="policy-question",
                description="来窗口咨询独居老人补贴申请材料",
                actor=staff,
                dwelling=first,
                now=now - dt.timedelta(minutes=20),
            )
            done.append("吹哨报到")
    except CaseError as exc:  # a foundation without these people: the rest of the demo stands
        done.append(f"skipped: {exc.message}")
    return done


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = timezone.now()
        self.first_day = local_day(self.now - dt.timedelta(days=DAYS_BACK + 1))
        self.users = {u.username: u for u in User.objects.filter(is_active=True)}
        self.communities = {r.name: r for r in Region.objects.filter(kind="community")}
        self.ready = "满庭春社区" in self.communities and "mtc" in self.users
        # each community's own staff: they register its hotline/window cases and handle what no grid worker does
        self.staff_by_community: dict[int | None, User] = {
            self.communities[name].pk: self.users[login]
            for name, login in (("满庭春社区", "mtc"), ("大新社区", "daxin"))
            if name in self.communities and login in self.users
        }
        self.categories = {c.service_code: c for c in Category.objects.select_related("policy")}
        self.departments = {d.short_name: d for d in Department.objects.all()}
        self.company = PropertyCompany.objects.filter(has_party_branch=True).order_by("pk").first()
        self.company_estates = (
            set(self.company.estates.values_list("pk", flat=True)) if self.company else set()
        )
        self.cases: list[Case] = []
        self.events: list[tuple[int, CaseEvent]] = []
        self.calls: list[tuple[int, WhistleCall]] = []
        self.counters: Counter[dt.date] = Counter()
        self.receipts: set[str] = set()
        self.count = 0

    # ----- places and people
    def _dwellings(self, community: Region) -> list[Dwelling]:
        ids = list(Dwelling.objects.filter(community=community).order_by("pk").values_list("pk", flat=True))
        picked = sorted(self.rng.sample(ids, min(len(ids), 400))) if ids else []
        return list(Dwelling.objects.filter(pk__in=picked).order_by("pk"))

    def build(self) -> None:
        rng = self.rng
        dwellings = {name: self._dwellings(c) for name, c in self.communities.items()}
        residents = dict(
            Resident.objects.filter(dwelling__in=[d for ds in dwellings.values() for d in ds])
            .order_by("pk")
            .values_list("dwelling_id", "pk")
        )
        jumin = Resident.objects.filter(user__username="jumin").select_related("dwelling").first()
        from tongxin.regions.models import Grid

        grid_workers: dict[int, User] = {}
        self.grid_worker_ids: dict[int | None, set[int]] = {}
        for grid_id, user_id in Grid.workers.through.objects.order_by("pk").values_list("grid_id", "user_id"):
            grid_workers.setdefault(grid_id, User.objects.get(pk=user_id))
            self.grid_worker_ids.setdefault(grid_id, set()).add(user_id)
        # round-robin lists for two categories so the workbench can show 轮派 (each case goes only to the people
        # of its own community on the list: 满庭春's grid workers, 大新社区's staff)
        if "environment" in self.categories:
            self.categories["environment"].handlers.add(*self.staff_by_community.values())
        if "public-order" in self.categories:
            self.categories["public-order"].handlers.add(
                *[self.users[n] for n in ("wangge1", "wangge2", "wangge3", "daxin") if n in self.users]
            )
        codes = list(TEXTS)
        names = [n for n in ("满庭春社区", "大新社区") if dwellings.get(n)]
        for i in range(GENERAL_CASES):
            community = self.communities[names[i % len(names)]]
            dwelling = rng.choice(dwellings[community.name])
            code = codes[rng.randrange(len(codes))]
            channel = rng.choices([c for c, _ in CHANNEL_WEIGHTS], [w for _, w in CHANNEL_WEIGHTS])[0]
            age = rng.random() ** 1.6 * DAYS_BACK  # more recent cases than old ones
            submitted = self._working_hour(self.now - dt.timedelta(days=age))
            reporter_id = residents.get(dwelling.pk) if channel != Channel.GRID_PATROL else None
            self._case(
                code,
                channel,
                rng.choice(TEXTS[code]),
                submitted,
                dwelling=dwelling,
                reporter_id=reporter_id,
                grid_worker=grid_workers.get(dwelling.grid_id),
            )
        if jumin is not None and jumin.dwelling is not None:
            for k, code in enumerate(("repairs-leak", "parking")):
                self._case(
                    code,
                    Channel.RESIDENT_APP,
                    TEXTS[code][0],
                    self.now - dt.timedelta(hours=30 + 20 * k),
                    dwelling=jumin.dwelling,
                    reporter_id=jumin.pk,
                    grid_worker=grid_workers.get(jumin.dwelling.grid_id),
                    final=S.RESOLVED if k == 0 else S.IN_PROGRESS,
                )
        mtc = self.communities["满庭春社区"]
        for i in range(SUGGESTIONS):
            submitted = self._working_hour(
                self.now - dt.timedelta(days=DAYS_BACK * (SUGGESTIONS - i) / SUGGESTIONS)
            )
            self._case(
                "environment" if i % 3 else "repairs-small",
                Channel.SUGGESTION_BOX,
                SUGGESTION_TEXTS[i % len(SUGGESTION_TEXTS)],
                submitted,
                community=mtc,
                anonymous=i % 2 == 0,
                final=S.CLOSED,
            )
        self._flush()

    def _working_hour(self, at: dt.datetime) -> dt.datetime:
        local = timezone.localtime(at)
        return local.replace(
            hour=self.rng.randrange(8, 20), minute=self.rng.randrange(60), second=0, microsecond=0
        )

    # ----- one case and its life
    def _case(
        self,
        code: str,
        channel: str,
        text: str,
        submitted: dt.datetime,
        *,
        dwelling: Dwelling | None = None,
        community: Region | None = None,
        reporter_id: int | None = None,
        anonymous: bool = False,
        grid_worker: User | None = None,
        final: str | None = None,
    ) -> None:
        rng = self.rng
        cat = self.categories[code]
        day = local_day(submitted)
        self.counters[day] += 1
        case = Case(
            number=f"{day:%Y%m%d}{self.counters[day]:05d}",
            channel=channel,
            category=cat,
            title=text[:30],
            description=text,
            reporter_id=None if anonymous else reporter_id,
            anonymous=anonymous,
            submitted_at=submitted,
            receipt_code=self._receipt(),
        )
        if dwelling is not None:
            for f in ("entrance_id", "building_id", "estate_id", "community_id", "subdistrict_id", "grid_id"):
                setattr(case, f, getattr(dwelling, f))
            case.dwelling = dwelling
            case.address = ""
        elif community is not None:
            case.community_id, case.subdistrict_id = community.pk, community.parent_id
        if channel in (Channel.HOTLINE, Channel.FRONT_DESK):
            case.submitted_by = self.staff_by_community.get(case.community_id)
        elif channel == Channel.GRID_PATROL:
            case.submitted_by = grid_worker or self.staff_by_community.get(case.community_id)
        for f, v in sla.compute(cat.policy, submitted).as_fields().items():
            setattr(case, f, v)
        idx = len(self.cases)
        self.cases.append(case)
        life = _Life(self, idx, case)
        life.event(EventType.SUBMITTED, None, "", S.SUBMITTED, {"channel": channel}, submitted)

        age_days = (self.now - submitted).total_seconds() / 86400
        if final is None:
            roll = rng.random()
            if age_days > 10:
                final = (
                    S.CLOSED
                    if roll < 0.85
                    else S.RESOLVED
                    if roll < 0.9
                    else S.REJECTED
                    if roll < 0.95
                    else S.IN_PROGRESS
                )
            else:
                final = rng.choice(
                    [S.SUBMITTED, S.DISPATCHED, S.IN_PROGRESS, S.OPEN_FOR_CLAIMING, S.RESOLVED, S.CLOSED]
                )
        if final == S.SUBMITTED:
            return
        staff = self.staff_by_community.get(case.community_id)
        # first response within (usually) the response window
        window = cat.policy.respond_within or dt.timedelta(hours=1)
        t = submitted + window * (rng.random() * (1.6 if rng.random() < 0.15 else 0.9))
        if final == S.REJECTED:
            case.state_reason = "不属于社区受理范围，已告知反映人咨询渠道"
            case.closed_at = t
            life.transition(S.REJECTED, EventType.REJECTED, staff, t, {"reason": case.state_reason})
            return
        if final == S.OPEN_FOR_CLAIMING and case.grid_id:
            case.team_kind = HandlerKind.VOLUNTEERS
            case.accepted_at = t
            life.transition(S.OPEN_FOR_CLAIMING, EventType.OPENED_FOR_CLAIMING, staff, t, {})
            return
        handler = self._handler(cat, case, grid_worker)
        case.accepted_at = case.dispatched_at = t
        life.transition(S.DISPATCHED, EventType.DISPATCHED, staff, t, life.target())
        if final == S.DISPATCHED:
            return
        if cat.service_code == "city-management" and "城管" in self.departments and rng.random() < 0.6:
            self._whistle(life, t + dt.timedelta(minutes=20))
        t2 = t + dt.timedelta(minutes=rng.randrange(5, 40))
        case.on_site_at = t2
        life.transition(S.IN_PROGRESS, EventType.STARTED, handler, t2, {})
        if final == S.IN_PROGRESS:
            return
        span = (case.resolve_by - submitted) if case.resolve_by else dt.timedelta(days=1)
        t3 = submitted + span * (0.2 + rng.random() * (1.3 if rng.random() < 0.2 else 0.7))
        t3 = min(t3, self.now - dt.timedelta(minutes=5))
        t3 = max(t3, t2 + dt.timedelta(minutes=5))
        case.resolved_at = t3
        case.result = (
            "已联系红色物业当天处理完毕" if channel == Channel.SUGGESTION_BOX else "已处理完毕，请反映人确认"
        )
        in_time = case.resolve_by is None or t3 <= case.resolve_by
        life.transition(
            S.RESOLVED, EventType.RESOLVED, handler, t3, {"resolve_in_time": in_time, "result": case.result}
        )
        for call in life.calls:
            call.active, call.released_at = False, t3
        if final == S.RESOLVED:
            return
        t4 = min(t3 + dt.timedelta(hours=rng.randrange(2, 48)), self.now - dt.timedelta(minutes=1))
        if channel == Channel.SUGGESTION_BOX or rng.random() < 0.75:
            rating = rng.choices(list(Rating.values), [70, 22, 8])[0]
            online = case.reporter_id is not None and rng.random() < 0.7
            case.rating, case.rated_at = rating, t4
            case.rating_source = "online" if online else "follow_up_call"
            etype = EventType.RATED if online else EventType.FOLLOW_UP_CALL
            life.event(etype, None if online else staff, "", "", {"rating": rating, "comment": ""}, t4)
        case.closed_at = t4
        life.transition(S.CLOSED, EventType.CLOSED, staff, t4, {"note": ""})

    def _handler(self, cat: Category, case: Case, grid_worker: User | None) -> User | None:
        kind = cat.handler_kind
        if (
            kind == HandlerKind.PROPERTY_COMPANY
            and self.company is not None
            and case.estate_id in self.company_estates
        ):
            case.property_company = self.company
            case.team_kind = kind
            return self.users.get("wuye")
        if kind == HandlerKind.DEPARTMENT and "城管" in self.departments:
            case.department = self.departments["城管"]
            case.team_kind = kind
            return self.users.get("chengguan")
        if (
            kind == HandlerKind.VOLUNTEERS
            and "dangyuan" in self.users
            and case.community_id == self.communities["满庭春社区"].pk
        ):
            case.assignee = self.users["dangyuan"]
            case.team_kind = kind
            return case.assignee
        # never someone of another community: the grid's worker, else the case's own community staff
        if grid_worker is not None and grid_worker.pk not in self.grid_worker_ids.get(case.grid_id, ()):
            grid_worker = None
        case.assignee = grid_worker or self.staff_by_community.get(case.community_id)
        case.team_kind = HandlerKind.GRID_WORKER if grid_worker else HandlerKind.COMMUNITY_STAFF
        return case.assignee

    def _whistle(self, life: _Life, at: dt.datetime) -> None:
        admin = self.users.get("jiedao")
        depts = [self.departments[n] for n in ("城管", "住建") if n in self.departments]
        for d in depts:
            late = self.rng.random() < 0.25
            reported = at + dt.timedelta(
                minutes=self.rng.randrange(35, 80) if late else self.rng.randrange(5, 28)
            )
            call = WhistleCall(
                department=d,
                whistled_by=admin,
                whistled_at=at,
                note="街道吹哨，联合处置",
                report_by=at + dt.timedelta(minutes=30),
                reported_at=reported,
                reported_by=self.users.get("chengguan" if d.short_name == "城管" else "zhujian"),
                late=late,
                rating=self.rng.choice([3, 4, 5]) if not late else self.rng.choice([2, 3]),
                rated_by=admin,
                rated_at=reported + dt.timedelta(hours=2),
            )
            life.calls.append(call)
            self.calls.append((life.idx, call))
        life.event(EventType.WHISTLED, admin, "", "", {"departments": [d.pk for d in depts]}, at)

    def _receipt(self) -> str:
        while True:
            code = "".join(self.rng.choice(RECEIPT_ALPHABET) for _ in range(10))
            if code not in self.receipts:
                self.receipts.add(code)
                return code

    # ----- bulk write
    def _flush(self) -> None:
        Case.objects.bulk_create(self.cases, batch_size=500)
        self.count = len(self.cases)
        events = []
        for idx, ev in self.events:
            ev.case_id = self.cases[idx].pk
            events.append(ev)
        CaseEvent.objects.bulk_create(events, batch_size=1000)
        calls = []
        for idx, call in self.calls:
            call.case_id = self.cases[idx].pk
            calls.append(call)
        WhistleCall.objects.bulk_create(calls, batch_size=500)
        CaseCounter.objects.bulk_create(
            [CaseCounter(day=d, last=n) for d, n in sorted(self.counters.items())]
        )


class _Life:
    """Keeps a demo case's state and appends its events with the dimensions of the moment."""

    def __init__(self, builder: _Builder, idx: int, case: Case) -> None:
        self.b, self.idx, self.case = builder, idx, case
        self.calls: list[WhistleCall] = []

    def target(self) -> dict[str, Any]:
        c = self.case
        return {
            "assignee": c.assignee_id,
            "property_company": c.property_company_id,
            "department": c.department_id,
            "team_kind": c.team_kind,
        }

    def event(
        self, etype: str, actor: Any, frm: str, to: str, payload: dict[str, Any], at: dt.datetime
    ) -> None:
        c = self.case
        self.b.events.append(
            (
                self.idx,
                CaseEvent(
                    type=etype,
                    actor=actor,
                    at=at,
                    from_state=frm,
                    to_state=to,
                    payload=payload,
                    cohort_day=local_day(c.submitted_at),
                    channel=c.channel,
                    community_ref=c.community_id or 0,
                    grid_ref=c.grid_id or 0,
                    category_ref=c.category_id or 0,
                    handler_ref=c.assignee_id or 0,
                    department_ref=c.department_id or 0,
                ),
            )
        )

    def transition(self, to: str, etype: str, actor: Any, at: dt.datetime, payload: dict[str, Any]) -> None:
        c = self.case
        payload = dict(payload)
        if c.first_response_at is None:
            c.first_response_at = at
            payload["first_response"] = True
            payload["response_in_time"] = c.respond_by is None or at <= c.respond_by
        frm, c.state = c.state, to
        self.event(etype, actor, frm, to, payload, at)
