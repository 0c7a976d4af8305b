"""Demo rows for visits and care: the plans of seeds 000/004 and a quarter of visit records.

* 满庭春社区: elderly living alone visited weekly (seed 000: the property company's staff went building by
  building; here the grid workers record it), chronic patients (hypertension) monthly, and 千户访 — every household
  of 第三网格 (锦绣江山, 御景城) once a quarter; 大新社区: 千户访 in 富丰新城.
* The last 13 weeks of weekly visits (a few missed and made up late), a quarter's household visits to ~70 % of the
  grid's households, findings mostly "all well", one that opened a case. Open visits due this week and a few
  overdue ones, so wangge3's home page has something to show.
* Health services: a 义诊 for residents over 60, a 两癌 screening for women 35–64, 送医上门 for disabled residents,
  with a few sign-ups.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from tongxin.care import services
from tongxin.care.choices import FollowUp, HealthKind, PlanKind, VisitState
from tongxin.care.models import HealthService, Visit, VisitPlan
from tongxin.core.models import User
from tongxin.people.models import Household, Resident, Tag
from tongxin.regions.models import Grid, Region

FINDINGS = (
    "老人身体状况良好，生活能自理，家中整洁。",
    "血压控制平稳，按时服药，提醒少吃盐。",
    "家中无安全隐患，燃气阀门已关闭，留了网格员电话。",
    "老人说最近睡眠不好，已建议到社区卫生服务站看看。",
    "子女每周回来一次，冰箱里食物充足。",
    "楼道堆放杂物，已提醒邻居清理。",
)
LOCATION = ("subdistrict_id", "community_id", "estate_id", "building_id", "entrance_id", "grid_id")


def load(rng: random.Random, out: Any) -> None:
    if VisitPlan.objects.exists():
        out.write("care demo already loaded")
        return
    mtc = Region.objects.filter(kind="community", name="满庭春社区").first()
    daxin = Region.objects.filter(kind="community", name="大新社区").first()
    staff = User.objects.filter(username="mtc").first()
    if mtc is None or staff is None:
        return
    elderly = Tag.objects.filter(code="elderly_alone").first()
    hypertension = Tag.objects.filter(code="hypertension").first()
    today = timezone.localdate()
    start = today - dt.timedelta(days=91)
    plans: list[VisitPlan] = []
    if elderly is not None:
        plans.append(
            VisitPlan.objects.create(
                name="独居老人每周走访",
                community=mtc,
                kind=PlanKind.TAGGED,
                tag=elderly,
                interval_days=7,
                created_by=staff,
            )
        )
    if hypertension is not None:
        plans.append(
            VisitPlan.objects.create(
                name="高血压患者每月随访",
                community=mtc,
                kind=PlanKind.TAGGED,
                tag=hypertension,
                interval_days=30,
                created_by=staff,
            )
        )
    grid3 = Grid.objects.filter(community=mtc, name="第三网格").first()
    if grid3 is not None:
        plans.append(
            VisitPlan.objects.create(
                name="第三网格千户访",
                community=mtc,
                grid=grid3,
                kind=PlanKind.HOUSEHOLDS,
                interval_days=91,
                created_by=staff,
            )
        )
    if daxin is not None:
        plans.append(
            VisitPlan.objects.create(
                name="富丰新城千户访",
                community=daxin,
                kind=PlanKind.HOUSEHOLDS,
                interval_days=91,
                created_by=User.objects.filter(username="daxin").first(),
            )
        )
    workers = {g: u for g, u in Grid.workers.through.objects.values_list("grid_id", "user_id")}
    done = 0
    for plan in plans:
        done += _history(rng, plan, start, today, workers)
        services.schedule(plan, today)
    # a few of this week's visits were due yesterday and missed: overdue now
    open_ids = list(
        Visit.objects.filter(state=VisitState.DUE, plan__kind=PlanKind.TAGGED, grid=grid3).values_list(
            "pk", flat=True
        )[:200]
    )
    late = rng.sample(open_ids, min(4, len(open_ids)))
    Visit.objects.filter(pk__in=late).update(due_on=today - dt.timedelta(days=1))
    services.mark_overdue(today)
    _finding_with_case(grid3)
    _health(rng, mtc, staff, elderly)
    out.write(f"care demo: {len(plans)} plans, {done} visits recorded over the quarter, {len(late)} overdue")


VISIT_COLUMNS = [
    "plan_id",
    "source",
    "reason",
    "household_id",
    "resident_id",
    "dwelling_id",
    *LOCATION,
    "assignee_id",
    "due_on",
    "state",
    "visited_at",
    "visitor_id",
    "findings",
    "follow_up",
    "case_id",
    "created_at",
]


def _history(
    rng: random.Random, plan: VisitPlan, start: dt.date, today: dt.date, workers: dict[int, int]
) -> int:
    """Done visits of the last quarter, written set-based (plain rows, one executemany)."""
    from tongxin.core.demo import insert_rows

    fields = [f"dwelling__{c}" for c in LOCATION]
    rows: list[tuple[Any, ...]] = []
    tz = timezone.get_current_timezone()
    if plan.kind == PlanKind.TAGGED:
        targets = list(
            Resident.objects.filter(
                status="active",
                tags=plan.tag,
                household__isnull=False,
                dwelling__community_id=plan.community_id,
            ).values_list("pk", "household_id", "dwelling_id", *fields)
        )
        for rid, hid, did, *loc in targets:
            day = start + dt.timedelta(days=rng.randrange(plan.interval_days))
            while day < today - dt.timedelta(days=1):
                if rng.random() < 0.96:  # a few weeks were missed
                    rows.append(_done(rng, plan, rid, hid, did, loc, day, workers, tz))
                day += dt.timedelta(days=plan.interval_days)
    else:
        where = {"dwelling__community_id": plan.community_id, "ended_on__isnull": True}
        if plan.grid_id:
            where["dwelling__grid_id"] = plan.grid_id
        for hid, did, *loc in Household.objects.filter(**where).values_list("pk", "dwelling_id", *fields):
            if rng.random() < 0.7:
                day = start + dt.timedelta(days=rng.randrange(88))
                rows.append(_done(rng, plan, None, hid, did, loc, day, workers, tz))
    insert_rows(Visit, VISIT_COLUMNS, rows)
    return len(rows)


def _done(
    rng: random.Random,
    plan: VisitPlan,
    rid: Any,
    hid: int,
    did: int,
    loc: list[int],
    day: dt.date,
    workers: dict[int, int],
    tz: Any,
) -> tuple[Any, ...]:
    at = dt.datetime.combine(day, dt.time(rng.randrange(9, 18), rng.randrange(60)), tzinfo=tz)
    return (
        plan.pk,
        "plan",
        "",
        hid,
        rid,
        did,
        *loc,
        None,
        day,
        VisitState.DONE,
        at,
        workers.get(loc[-1]),
        rng.choice(FINDINGS),
        FollowUp.NONE,
        None,
        at,
    )


def _finding_with_case(grid: Grid | None) -> None:
    from tongxin.cases.models import Category

    worker = User.objects.filter(username="wangge3").first()
    category = (
        Category.objects.filter(active=True, service_code="environment").first()
        or Category.objects.filter(active=True).first()
    )
    visit = (
        Visit.objects.filter(state=VisitState.DUE, grid=grid, plan__kind=PlanKind.HOUSEHOLDS)
        .order_by("pk")
        .first()
    )
    if worker is None or category is None or visit is None:
        return
    services.record_visit(
        worker,
        visit,
        findings="入户走访发现楼道声控灯坏了，住户夜里上下楼看不清，需物业维修。",
        follow_up=FollowUp.CASE,
        category=category,
    )


def _health(rng: random.Random, community: Region, staff: User, elderly: Tag | None) -> None:
    now = timezone.now()
    clinic = services.create_health_service(
        staff,
        community=community,
        kind=HealthKind.FREE_CLINIC,
        title="重阳节老年人义诊",
        description="市第一人民医院医生到社区党群服务中心义诊：量血压、测血糖、用药咨询。",
        place="满庭春社区党群服务中心",
        starts_at=now + dt.timedelta(days=5),
        capacity=80,
        min_age=60,
    )
    services.create_health_service(
        staff,
        community=community,
        kind=HealthKind.SCREENING,
        title="“两癌”免费筛查",
        description="妇联组织，适龄妇女到妇幼保健院免费筛查。",
        place="市妇幼保健院",
        starts_at=now + dt.timedelta(days=12),
        capacity=30,
        min_age=35,
        max_age=64,
        gender="F",
    )
    disabled = Tag.objects.filter(code="disabled").first()
    home = services.create_health_service(
        staff,
        community=community,
        kind=HealthKind.HOME_DOCTOR,
        title="送医上门",
        description="家庭医生为行动不便的老年人、残疾人上门诊疗。",
        starts_at=now + dt.timedelta(days=2),
        capacity=20,
        tags=[t for t in (disabled, elderly) if t is not None],
    )
    for service, n in ((clinic, 12), (home, 5)):
        for resident in services.eligible(service).order_by("pk")[: n * 3 : 3]:
            services.sign_up(staff, service, resident)
    assert HealthService.objects.count() >= 3
