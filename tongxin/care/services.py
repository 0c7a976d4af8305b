"""Visits and care: plans produce due visits, missed ones turn overdue the day after, a visit is recorded from
the phone with its findings and a follow-up (a case via ``cases.services.submit`` on the grid-patrol channel, a
care need, a mediation), care signals open a due visit (:func:`raise_care_need`), and health services take
sign-ups from eligible residents only.

Writes are atomic, checked by care/policy.py and the transition tables in care/choices.py, appended to the
visit's timeline and audited; messages go out on commit through ``notify``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.care.choices import (
    OPEN_VISIT_STATES,
    SIGNUP_TRANSITIONS,
    VISIT_TRANSITIONS,
    FollowUp,
    HealthState,
    PlanKind,
    SignUpState,
    VisitEventType,
    VisitSource,
    VisitState,
)
from tongxin.care.models import HealthService, HealthSignUp, Visit, VisitEvent, VisitPhoto, VisitPlan
from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.core.notifications import notify
from tongxin.core.signals import care_visit_done
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Household, Resident
from tongxin.regions.choices import Role
from tongxin.regions.models import Dwelling, RoleAssignment

LOCATION = ("subdistrict_id", "community_id", "estate_id", "building_id", "entrance_id", "grid_id")


class CareError(ValidationError):
    pass


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _check(current: str, new: str, table: dict[str, frozenset[str]] = VISIT_TRANSITIONS) -> None:
    if new not in table.get(current, frozenset()):
        raise CareError(_("不能从“%(a)s”变为“%(b)s”") % {"a": current, "b": new}, code="bad_transition")


def _visit_link() -> str:
    return reverse("care:visits")


def _grid_workers(grid_ids: Iterable[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for gid, uid in RoleAssignment.objects.filter(
        role=Role.GRID_WORKER, grid_id__in=sorted(set(grid_ids))
    ).values_list("grid_id", "user_id"):
        out[gid].add(uid)
    return out


# ------------------------------------------------------------------------------------------------ plans
@transaction.atomic
def create_plan(
    actor: Any, *, name: str, community: Any, kind: str, interval_days: int, grid: Any = None, tag: Any = None
) -> VisitPlan:
    plan = VisitPlan(
        name=(name or "").strip()[:100],
        community=community,
        grid=grid,
        kind=kind,
        tag=tag,
        interval_days=interval_days,
        created_by=actor,
    )
    policy.require(actor, "care.manage_plans", plan)
    if not plan.name:
        raise CareError({"name": _("请填写名称")})
    if kind == PlanKind.TAGGED and tag is None:
        raise CareError({"tag": _("按标签走访时请选择标签")})
    if grid is not None and grid.community_id != community.pk:
        raise CareError({"grid": _("网格不属于该社区")})
    if not 1 <= interval_days <= 366:
        raise CareError({"interval_days": _("周期应在1到366天之间")})
    plan.save()
    audit.record(
        AuditLog.Action.CREATE,
        plan,
        actor=actor,
        after={"name": plan.name, "kind": kind, "days": interval_days},
    )
    return plan


@transaction.atomic
def schedule(plan: VisitPlan, today: dt.date | None = None) -> int:
    """Create a due visit for every target of ``plan`` without an open one (new care recipients, new
    households); the first is due within one interval. Idempotent. One ``INSERT … SELECT … WHERE NOT EXISTS``
    (the ``(plan, household)`` index answers the NOT EXISTS). Returns the number created."""
    today = _today(today)
    if not plan.active:
        return 0
    due_on = today + dt.timedelta(days=plan.interval_days - 1)
    qn = connection.ops.quote_name
    visit, household, dwelling = (qn(m._meta.db_table) for m in (Visit, Household, Dwelling))
    location = ", ".join(f"d.{c}" for c in LOCATION)
    where = "h.ended_on IS NULL AND d.community_id = %s"
    params: list[Any] = [plan.community_id]
    if plan.grid_id:
        where += " AND d.grid_id = %s"
        params.append(plan.grid_id)
    columns = (
        f"plan_id, source, reason, household_id, resident_id, dwelling_id, {', '.join(LOCATION)}, due_on, state, "
        "findings, follow_up, created_at"
    )
    values = f"%s, %s, '', h.id, {{resident}}, d.id, {location}, %s, %s, '', %s, %s"
    head = [plan.pk, VisitSource.PLAN]
    tail = [due_on, VisitState.DUE, FollowUp.NONE, timezone.now()]
    open_states = [VisitState.DUE, VisitState.OVERDUE]
    if plan.kind == PlanKind.HOUSEHOLDS:
        sql = (
            f"INSERT INTO {visit} ({columns}) SELECT {values.format(resident='NULL')} "
            f"FROM {household} h JOIN {dwelling} d ON d.id = h.dwelling_id WHERE {where} AND NOT EXISTS "
            f"(SELECT 1 FROM {visit} v WHERE v.plan_id = %s AND v.household_id = h.id AND v.state IN (%s, %s))"
        )
        args = [*head, *tail, *params, plan.pk, *open_states]
    else:
        resident, through = qn(Resident._meta.db_table), qn(Resident.tags.through._meta.db_table)
        sql = (
            f"INSERT INTO {visit} ({columns}) SELECT {values.format(resident='r.id')} "
            f"FROM {resident} r JOIN {through} t ON t.resident_id = r.id AND t.tag_id = %s "
            f"JOIN {household} h ON h.id = r.household_id JOIN {dwelling} d ON d.id = r.dwelling_id "
            f"WHERE r.status = %s AND {where} AND NOT EXISTS "
            f"(SELECT 1 FROM {visit} v WHERE v.plan_id = %s AND v.resident_id = r.id AND v.state IN (%s, %s))"
        )
        args = [*head, *tail, plan.tag_id, ResidentStatus.ACTIVE, *params, plan.pk, *open_states]
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return max(cur.rowcount, 0)


@transaction.atomic
def mark_overdue(today: dt.date | None = None) -> int:
    """Visits still open the day after they were due turn overdue; their grid workers (and the community staff)
    are told once. Set-based: one UPDATE over the ids, one bulk insert of events."""
    today = _today(today)
    late = list(
        Visit.objects.select_for_update()
        .filter(state=VisitState.DUE, due_on__lt=today)
        .order_by("pk")
        .values_list("pk", "grid_id", "community_id")
    )
    if not late:
        return 0
    ids = [pk for pk, _g, _c in late]
    Visit.objects.filter(pk__in=ids).update(state=VisitState.OVERDUE)
    VisitEvent.objects.bulk_create(
        [VisitEvent(visit_id=pk, type=VisitEventType.OVERDUE, payload={"day": str(today)}) for pk in ids],
        batch_size=1000,
    )
    per_user: dict[int, int] = defaultdict(int)
    workers = _grid_workers(g for _p, g, _c in late)
    staff: dict[int, set[int]] = defaultdict(set)
    for cid, uid in RoleAssignment.objects.filter(
        role=Role.COMMUNITY_STAFF, region_id__in={c for _p, _g, c in late}
    ).values_list("region_id", "user_id"):
        staff[cid].add(uid)
    for _pk, grid_id, community_id in late:
        for uid in workers.get(grid_id, set()) | staff.get(community_id, set()):
            per_user[uid] += 1
    by_count: dict[int, list[int]] = defaultdict(list)
    for uid, n in per_user.items():
        by_count[n].append(uid)
    for n, users in by_count.items():
        notify(
            users,
            _("有%(n)d次走访已逾期") % {"n": n},
            _("请尽快上门走访"),
            _visit_link() + "?state=overdue",
            kind="visit_overdue",
        )
    return len(ids)


def daily(today: dt.date | None = None) -> dict[str, int]:
    """The daily run: schedule every active plan, then mark yesterday's missed visits overdue."""
    created = sum(schedule(plan, today) for plan in VisitPlan.objects.filter(active=True).order_by("pk"))
    return {"scheduled": created, "overdue": mark_overdue(today)}


# ------------------------------------------------------------------------------------------------ visits
def on_care_needed(sender: Any, resident_id: int, reason: str, ref: str = "", **kwargs: Any) -> Visit | None:
    """Receiver of :data:`tongxin.core.signals.care_needed`: a visit due today (none when the resident has no
    address on record: the sender then tells the grid worker itself)."""
    resident = Resident.objects.filter(pk=resident_id).first()
    if resident is None:
        return None
    try:
        return raise_care_need(resident, reason, source=str(_("智能感知")), ref=ref)
    except CareError:
        return None


@transaction.atomic
def record_visit(
    actor: Any,
    visit: Visit,
    *,
    findings: str,
    follow_up: str = FollowUp.NONE,
    category: Any = None,
    photos: Sequence[Any] = (),
    visited_at: dt.datetime | None = None,
) -> Visit:
    """Record a visit made on the phone. A finding that needs the community's action opens a case on the
    grid-patrol channel, linked to the visit; a care need opens another visit; a mediation is handed to the
    community staff. A plan's next visit is scheduled one interval after this one."""
    visited_at = visited_at or timezone.now()
    locked = (
        Visit.objects.select_for_update(of=("self",))
        .select_related("plan", "resident", "dwelling")
        .get(pk=visit.pk)
    )
    policy.require(actor, "care.record_visit", locked)
    _check(locked.state, VisitState.DONE)
    text = (findings or "").strip()
    if not text:
        raise CareError({"findings": _("请填写走访情况")})
    if follow_up not in FollowUp.values:
        raise CareError({"follow_up": _("未知的跟进方式")})
    before = locked.state
    locked.state, locked.visited_at, locked.visitor, locked.findings, locked.follow_up = (
        VisitState.DONE,
        visited_at,
        actor,
        text,
        follow_up,
    )
    if follow_up == FollowUp.CASE:
        if category is None:
            raise CareError({"category": _("转为诉求时请选择类别")})
        from tongxin.cases import services as cases

        try:
            locked.case = cases.submit(
                channel="grid_patrol",
                category=category,
                description=text,
                actor=actor,
                reporter=locked.resident,
                dwelling=locked.dwelling,
                title=_("走访发现：%(t)s") % {"t": text[:20]},
            )
        except cases.CaseError as exc:
            raise CareError({"category": str(exc)}) from None
    locked.save(update_fields=["state", "visited_at", "visitor", "findings", "follow_up", "case"])
    for f in photos:
        VisitPhoto.objects.create(visit=locked, file=f)
    VisitEvent.objects.create(
        visit=locked, type=VisitEventType.DONE, actor=actor, payload={"follow_up": follow_up}
    )
    if locked.case_id:
        VisitEvent.objects.create(
            visit=locked, type=VisitEventType.CASE_OPENED, actor=actor, payload={"case": locked.case_id}
        )
    audit.record(
        AuditLog.Action.TRANSITION,
        locked,
        actor=actor,
        field="state",
        before=before,
        after={"state": VisitState.DONE, "follow_up": follow_up, "case": locked.case_id},
    )
    if locked.source_ref:
        care_visit_done.send(sender=Visit, ref=locked.source_ref, note=text, actor=actor)
    if follow_up == FollowUp.CARE_NEED and locked.resident is not None:
        raise_care_need(locked.resident, text[:200], source="visit", actor=actor)
    elif follow_up == FollowUp.MEDIATION:
        staff = RoleAssignment.objects.filter(role=Role.COMMUNITY_STAFF, region_id=locked.community_id)
        notify(
            staff.values_list("user_id", flat=True),
            _("走访发现需要调解的矛盾"),
            text[:140],
            _visit_link(),
            kind="visit_mediation",
        )
    if locked.plan is not None and locked.plan.active:
        _next(locked, visited_at)
    return locked


def _next(done: Visit, visited_at: dt.datetime) -> None:
    plan = done.plan
    assert plan is not None
    same: dict[str, Any] = {"household_id": done.household_id, "resident_id": done.resident_id}
    exists = Visit.objects.filter(plan=plan, state__in=OPEN_VISIT_STATES, **same).exists()
    if exists:
        return
    due_on = timezone.localtime(visited_at).date() + dt.timedelta(days=plan.interval_days)
    Visit.objects.create(
        plan=plan,
        household_id=done.household_id,
        resident_id=done.resident_id,
        dwelling_id=done.dwelling_id,
        due_on=due_on,
        assignee_id=done.assignee_id,
        **{c: getattr(done, c) for c in LOCATION},
    )


@transaction.atomic
def cancel_visit(actor: Any, visit: Visit, reason: str = "") -> Visit:
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    policy.require(actor, "care.cancel_visit", locked)
    _check(locked.state, VisitState.CANCELLED)
    before = locked.state
    locked.state = VisitState.CANCELLED
    locked.save(update_fields=["state"])
    VisitEvent.objects.create(
        visit=locked, type=VisitEventType.CANCELLED, actor=actor, payload={"reason": reason[:200]}
    )
    audit.record(
        AuditLog.Action.TRANSITION,
        locked,
        actor=actor,
        field="state",
        before=before,
        after=VisitState.CANCELLED,
    )
    return locked


@transaction.atomic
def raise_care_need(
    resident: Resident, reason: str, source: str, *, actor: Any = None, ref: str = ""
) -> Visit:
    """Open a visit due today for ``resident`` (a care signal from the sensors — an elderly person's water use
    dropping to zero —, a visit's finding, a neighbour's call). If one is already open for them outside any
    plan, that one is returned with the new reason noted. The resident's grid workers are told at once.

    ``actor`` None is the system (sensors); a person raising it must hold ``care.raise_need`` for the resident.
    ``ref`` names the row that raised it (``tongxin.core.signals``): when the visit is recorded that row is told."""
    if actor is not None:
        policy.require(actor, "care.raise_need", resident)
    resident = Resident.objects.select_related("dwelling").get(pk=resident.pk)
    if resident.dwelling is None or resident.household_id is None:
        raise CareError(_("该居民没有登记住址，无法安排上门"), code="no_dwelling")
    text = f"{source}: {reason}".strip()[:200]
    existing = (
        Visit.objects.select_for_update()
        .filter(resident=resident, plan__isnull=True, state__in=OPEN_VISIT_STATES)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        VisitEvent.objects.create(
            visit=existing, type=VisitEventType.SCHEDULED, actor=actor, payload={"reason": text, "ref": ref}
        )
        if ref and not existing.source_ref:
            existing.source_ref = ref
            existing.save(update_fields=["source_ref"])
        return existing
    d = resident.dwelling
    visit = Visit.objects.create(
        source=VisitSource.CARE_NEED,
        reason=text,
        source_ref=ref,
        household_id=resident.household_id,
        resident=resident,
        dwelling=d,
        due_on=timezone.localdate(),
        **{c: getattr(d, c) for c in LOCATION},
    )
    VisitEvent.objects.create(
        visit=visit, type=VisitEventType.SCHEDULED, actor=actor, payload={"reason": text, "source": source}
    )
    audit.record(
        AuditLog.Action.CREATE, visit, actor=actor, after={"source": source, "resident": resident.pk}
    )
    workers = _grid_workers([d.grid_id]).get(d.grid_id, set())
    notify(
        workers,
        _("需要上门关爱：%(addr)s") % {"addr": d.number},
        text,
        _visit_link() + f"{visit.pk}/",
        kind="care_need",
    )
    return visit


# -------------------------------------------------------------------------------------- health services
@transaction.atomic
def create_health_service(actor: Any, *, tags: Sequence[Any] = (), **fields: Any) -> HealthService:
    service = HealthService(created_by=actor, **fields)
    policy.require(actor, "care.manage_health", service)
    if not service.title.strip():
        raise CareError({"title": _("请填写名称")})
    if service.capacity < 1:
        raise CareError({"capacity": _("名额至少为1")})
    service.save()
    if tags:
        service.tags.set(tags)
    audit.record(
        AuditLog.Action.CREATE, service, actor=actor, after={"title": service.title, "kind": service.kind}
    )
    return service


def eligible(service: HealthService, today: dt.date | None = None) -> QuerySet[Resident]:
    """Residents of the service's community who may sign up: active, with any of its tags, in its age range
    and of its gender (when set)."""
    today = _today(today)
    qs = Resident.objects.filter(status=ResidentStatus.ACTIVE, dwelling__community_id=service.community_id)
    tag_ids = list(service.tags.values_list("pk", flat=True))
    if tag_ids:
        qs = qs.filter(
            Exists(Resident.tags.through.objects.filter(resident_id=OuterRef("pk"), tag_id__in=tag_ids))
        )
    if service.min_age is not None:
        qs = qs.filter(birth_date__lte=_years_before(today, service.min_age))
    if service.max_age is not None:
        qs = qs.filter(birth_date__gt=_years_before(today, service.max_age + 1))
    if service.gender:
        qs = qs.filter(gender=service.gender)
    return qs


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@transaction.atomic
def sign_up(actor: Any, service: HealthService, resident: Resident) -> HealthSignUp:
    """Sign ``resident`` up (themselves, or a staff member for a homebound resident). Only eligible residents;
    never beyond capacity (the service row is locked while counting)."""
    locked = HealthService.objects.select_for_update().get(pk=service.pk)
    own = getattr(resident, "user_id", None) == getattr(actor, "pk", None)
    policy.require(actor, "care.sign_up_self" if own else "care.sign_up_other", locked)
    if not eligible(locked).filter(pk=resident.pk).exists():
        raise CareError(_("不符合报名条件"), code="not_eligible")
    if HealthSignUp.objects.filter(
        service=locked, resident=resident, state__in=[SignUpState.SIGNED_UP, SignUpState.SERVED]
    ).exists():
        raise CareError(_("已经报过名了"), code="already")
    taken = HealthSignUp.objects.filter(
        service=locked, state__in=[SignUpState.SIGNED_UP, SignUpState.SERVED]
    ).count()
    if taken >= locked.capacity:
        raise CareError(_("名额已满"), code="full")
    signup = HealthSignUp.objects.create(service=locked, resident=resident, signed_up_by=actor)
    audit.record(
        AuditLog.Action.CREATE, signup, actor=actor, after={"service": locked.pk, "resident": resident.pk}
    )
    return signup


@transaction.atomic
def cancel_sign_up(actor: Any, signup: HealthSignUp) -> HealthSignUp:
    locked = HealthSignUp.objects.select_for_update().select_related("service", "resident").get(pk=signup.pk)
    own = locked.resident.user_id == getattr(actor, "pk", None)
    policy.require(actor, "care.sign_up_self" if own else "care.sign_up_other", locked.service)
    _check(locked.state, SignUpState.CANCELLED, SIGNUP_TRANSITIONS)
    locked.state = SignUpState.CANCELLED
    locked.save(update_fields=["state"])
    audit.record(
        AuditLog.Action.TRANSITION,
        locked,
        actor=actor,
        field="state",
        before=SignUpState.SIGNED_UP,
        after=SignUpState.CANCELLED,
    )
    return locked


def open_services_for(resident: Resident) -> list[tuple[HealthService, bool]]:
    """Open services of the resident's community they are eligible for, with "already signed up"."""
    if resident.dwelling_id is None:
        return []
    community_id = resident.dwelling.community_id  # type: ignore[union-attr]
    services = HealthService.objects.filter(community_id=community_id, state=HealthState.OPEN).order_by(
        "starts_at"
    )
    mine = set(
        HealthSignUp.objects.filter(resident=resident, state=SignUpState.SIGNED_UP).values_list(
            "service_id", flat=True
        )
    )
    return [(s, s.pk in mine) for s in services if eligible(s).filter(pk=resident.pk).exists()]
