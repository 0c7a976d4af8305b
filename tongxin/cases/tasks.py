"""Background work for cases: the deadline sweep (every minute) and rollup maintenance.

The sweep is set-based: three ``UPDATE ... WHERE ... RETURNING id`` statements (due soon, overdue + yellow card,
red card), one SELECT of the changed rows' dimensions, one bulk INSERT of events and one of notifications.
It never loops over open cases in Python. ``sweep_level`` records the highest level already notified, so
running it twice changes nothing and notifies once; concurrent sweeps are safe because the second UPDATE
re-checks ``sweep_level`` after the first commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tongxin.cases.choices import OPEN_STATES, EventType, StepSweep, Supervision, SweepLevel
from tongxin.cases.models import Case, CaseEvent, CaseRollup, local_day
from tongxin.core import notifications
from tongxin.regions.choices import Role

logger = logging.getLogger("tongxin.cases")

# level, SET clause, extra WHERE clause (all with the open-state and sweep_level guards)
STAGES: tuple[tuple[int, str, str], ...] = (
    (SweepLevel.DUE_SOON, "due_soon = %s", "due_soon_at <= %s AND resolve_by > %s"),
    (SweepLevel.YELLOW, "due_soon = %s, overdue = %s, supervision = %s", "resolve_by <= %s"),
    (SweepLevel.RED, "due_soon = %s, overdue = %s, supervision = %s", "red_at <= %s"),
)


def _stage_params(level: int, now_db: Any) -> tuple[list[Any], list[Any]]:
    if level == SweepLevel.DUE_SOON:
        return [True], [now_db, now_db]
    if level == SweepLevel.YELLOW:
        return [True, True, Supervision.YELLOW], [now_db]
    return [True, True, Supervision.RED], [now_db]


def _update_returning(level: int, now: dt.datetime) -> list[int]:
    table = connection.ops.quote_name(Case._meta.db_table)
    now_db = connection.ops.adapt_datetimefield_value(now)
    _, set_clause, where = next(s for s in STAGES if s[0] == level)
    set_params, where_params = _stage_params(level, now_db)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    sql = (
        f"UPDATE {table} SET {set_clause}, sweep_level = %s, updated_at = %s "
        f"WHERE state IN ({states}) AND sweep_level < %s AND {where} RETURNING id"
    )
    params = [*set_params, level, now_db, *OPEN_STATES, level, *where_params]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


def sweep_deadlines(now: dt.datetime | None = None) -> dict[str, int]:
    """Mark due-soon / overdue cases and raise supervision; returns how many cases changed per level."""
    now = now or timezone.now()
    changed: dict[int, list[int]] = {}
    with transaction.atomic():
        for level, _set, _where in STAGES:
            changed[level] = _update_returning(level, now)
        all_ids = sorted({i for ids in changed.values() for i in ids})
        if all_ids:
            _record(changed, all_ids, now)
    result = {
        "due_soon": len(changed[SweepLevel.DUE_SOON]),
        "yellow": len(changed[SweepLevel.YELLOW]),
        "red": len(changed[SweepLevel.RED]),
    }
    if any(result.values()):
        logger.info("deadline sweep %s", result)
    return result


SWEEP_FIELDS = (
    "id",
    "number",
    "title",
    "submitted_at",
    "channel",
    "community_id",
    "subdistrict_id",
    "grid_id",
    "category_id",
    "assignee_id",
    "department_id",
    "property_company_id",
    "resolve_by",
)


def _sweep_rows(ids: list[int], *extra: str) -> dict[int, dict[str, Any]]:
    """The changed cases' dimensions and recipients' keys, in one SELECT."""
    return {r["id"]: dict(r) for r in Case.objects.filter(pk__in=ids).values(*SWEEP_FIELDS, *extra)}


def _sweep_event(r: dict[str, Any], event_type: str, payload: dict[str, Any], now: dt.datetime) -> CaseEvent:
    """A sweep's event with the rollup dimensions of the case row (no actor: the system)."""
    return CaseEvent(
        case_id=r["id"],
        type=event_type,
        at=now,
        payload=payload,
        cohort_day=local_day(r["submitted_at"]),
        channel=r["channel"],
        community_ref=r["community_id"] or 0,
        grid_ref=r["grid_id"] or 0,
        category_ref=r["category_id"] or 0,
        handler_ref=r["assignee_id"] or 0,
        department_ref=r["department_id"] or 0,
    )


def _record(changed: dict[int, list[int]], ids: list[int], now: dt.datetime) -> None:
    rows = _sweep_rows(ids)
    events: list[CaseEvent] = []

    def ev(r: dict[str, Any], event_type: str, payload: dict[str, Any]) -> CaseEvent:
        return _sweep_event(r, event_type, payload, now)

    for i in changed[SweepLevel.DUE_SOON]:
        events.append(ev(rows[i], EventType.DUE_SOON, {"resolve_by": _iso(rows[i]["resolve_by"])}))
    for i in changed[SweepLevel.YELLOW]:
        events.append(ev(rows[i], EventType.OVERDUE, {"resolve_by": _iso(rows[i]["resolve_by"])}))
        events.append(ev(rows[i], EventType.SUPERVISION_RAISED, {"to": Supervision.YELLOW}))
    for i in changed[SweepLevel.RED]:
        events.append(ev(rows[i], EventType.SUPERVISION_RAISED, {"to": Supervision.RED}))
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    notifications.send(_messages(changed, rows))


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


class _People:
    """Who to tell about a set of cases, from ONE role query: handlers and supervisors by node."""

    def __init__(self, by_node: dict[tuple[str, Any], list[int]]) -> None:
        self.by_node = by_node

    def handlers(self, r: dict[str, Any]) -> list[int]:
        """The assignee, else the company's staff / department's liaisons / the grid's workers."""
        if r.get("assignee_id"):
            return [r["assignee_id"]]
        if r.get("property_company_id"):
            return self.by_node[(Role.PROPERTY_STAFF, r["property_company_id"])]
        if r.get("department_id"):
            return self.by_node[(Role.DEPARTMENT_LIAISON, r["department_id"])]
        return self.by_node[(Role.GRID_WORKER, r["grid_id"])] if r.get("grid_id") else []


def _people_for(rs: list[dict[str, Any]]) -> _People:
    from tongxin.regions.models import RoleAssignment

    pcs = {r["property_company_id"] for r in rs if r.get("property_company_id")}
    depts = {r["department_id"] for r in rs if r.get("department_id")}
    grids = {r["grid_id"] for r in rs if r.get("grid_id")}
    regions = {r["community_id"] for r in rs if r.get("community_id")} | {
        r["subdistrict_id"] for r in rs if r.get("subdistrict_id")
    }
    roles = RoleAssignment.objects.filter(
        Q(role=Role.PROPERTY_STAFF, property_company_id__in=pcs)
        | Q(role=Role.DEPARTMENT_LIAISON, department_id__in=depts)
        | Q(role=Role.GRID_WORKER, grid_id__in=grids)
        | Q(role__in=[Role.COMMUNITY_STAFF, Role.SUBDISTRICT_ADMIN], region_id__in=regions)
    )
    by_node: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for role, uid, pc, dept, grid, region in roles.values_list(
        "role", "user_id", "property_company_id", "department_id", "grid_id", "region_id"
    ):
        node = (
            pc if role == Role.PROPERTY_STAFF else dept if role == Role.DEPARTMENT_LIAISON else grid or region
        )
        by_node[(role, node)].append(uid)
    return _People(by_node)


def _messages(changed: dict[int, list[int]], rows: dict[int, dict[str, Any]]) -> list[notifications.Message]:
    """Handlers (assignee, else company staff / department liaisons / grid workers) and supervisors
    (community staff; subdistrict admins for red cards), resolved with one role query."""
    people = _people_for(list(rows.values()))
    by_node, handlers = people.by_node, people.handlers

    texts = {
        SweepLevel.DUE_SOON: (_("工单即将到期：%(n)s"), "case_due_soon", False, False),
        SweepLevel.YELLOW: (_("工单已超期，黄牌督办：%(n)s"), "case_yellow", True, False),
        SweepLevel.RED: (_("工单严重超期，红牌督办：%(n)s"), "case_red", True, True),
    }
    out = []
    for level, ids in changed.items():
        subject, kind, community, subdistrict = texts[SweepLevel(level)]
        for i in ids:
            r = rows[i]
            users = list(handlers(r))
            if community:
                users += by_node[(Role.COMMUNITY_STAFF, r["community_id"])]
            if subdistrict:
                users += by_node[(Role.SUBDISTRICT_ADMIN, r["subdistrict_id"])]
            due = timezone.localtime(r["resolve_by"]).strftime("%Y-%m-%d %H:%M")
            out.append(
                notifications.Message(
                    tuple(dict.fromkeys(users)),
                    subject % {"n": r["number"]},
                    _("%(t)s（办结期限 %(d)s）") % {"t": r["title"], "d": due},
                    f"/cases/{i}/",
                    kind,
                )
            )
    return out


# --- the 1715 steps: on site and plan ---------------------------------------------------------------------------
# (bit, deadline column, done column, warn column or None for "missed", event type, notification kind)
STEP_STAGES: tuple[tuple[int, str, str, str | None, str, str], ...] = (
    (
        StepSweep.ON_SITE_WARNED,
        "on_site_by",
        "on_site_at",
        "on_site_warn_at",
        EventType.ON_SITE_DUE_SOON,
        "warn",
    ),
    (StepSweep.ON_SITE_MISSED, "on_site_by", "on_site_at", None, EventType.ON_SITE_OVERDUE, "missed"),
    (StepSweep.PLAN_WARNED, "plan_by", "plan_at", "plan_warn_at", EventType.PLAN_DUE_SOON, "warn"),
    (StepSweep.PLAN_MISSED, "plan_by", "plan_at", None, EventType.PLAN_OVERDUE, "missed"),
)


def _step_update(bit: int, deadline: str, done: str, warn: str | None, now: dt.datetime) -> list[int]:
    """One set-based UPDATE … RETURNING id per step stage; the bit in ``step_sweep`` makes it fire once. A
    "missed" stage also sets the warning bit, so a case first seen after its deadline is not warned late."""
    table = connection.ops.quote_name(Case._meta.db_table)
    now_db = connection.ops.adapt_datetimefield_value(now)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    if warn:
        when, params, mark = f"{warn} <= %s AND {deadline} > %s", [now_db, now_db], bit
    else:
        when, params, mark = f"{deadline} <= %s", [now_db], bit | (bit >> 1)
    sql = (
        f"UPDATE {table} SET step_sweep = step_sweep | %s, updated_at = %s "
        f"WHERE state IN ({states}) AND {done} IS NULL AND {deadline} IS NOT NULL "
        f"AND (step_sweep & %s) = 0 AND {when} RETURNING id"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [mark, now_db, *OPEN_STATES, bit, *params])
        return [row[0] for row in cur.fetchall()]


def sweep_steps(now: dt.datetime | None = None) -> dict[str, int]:
    """Remind the handler before the on-site and plan deadlines (``on_site_warn_at`` / ``plan_warn_at``) and,
    when one is missed, tell the handler and the community staff. Set-based like :func:`sweep_deadlines`."""
    now = now or timezone.now()
    out: dict[str, int] = {}
    with transaction.atomic():
        changed = {stage: _step_update(stage[0], stage[1], stage[2], stage[3], now) for stage in STEP_STAGES}
        ids = sorted({i for v in changed.values() for i in v})
        if ids:
            _record_steps(changed, ids, now)
    for stage, v in changed.items():
        out[EventType(stage[4]).value] = len(v)
    if any(out.values()):
        logger.info("step sweep %s", out)
    return out


def _record_steps(changed: dict[Any, list[int]], ids: list[int], now: dt.datetime) -> None:
    rows = _sweep_rows(ids, "on_site_by", "plan_by")
    events: list[CaseEvent] = []
    messages: list[notifications.Message] = []
    people = _people_for(list(rows.values()))
    for (_bit, deadline, _done, _warn, event_type, level), case_ids in changed.items():
        for i in case_ids:
            r = rows[i]
            due = timezone.localtime(r[deadline])
            events.append(_sweep_event(r, event_type, {deadline: r[deadline].isoformat()}, now))
            users = list(people.handlers(r))
            if level == "missed":
                users += people.by_node[(Role.COMMUNITY_STAFF, r["community_id"])]
            label = EventType(event_type).label
            messages.append(
                notifications.Message(
                    tuple(dict.fromkeys(users)),
                    _("%(what)s：%(n)s") % {"what": label, "n": r["number"]},
                    _("%(t)s（期限 %(d)s）") % {"t": r["title"], "d": due.strftime("%m-%d %H:%M")},
                    f"/cases/{i}/",
                    "case_step_overdue" if level == "missed" else "case_step_due_soon",
                )
            )
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    notifications.send(messages)


# --- 吹哨报到: departments that do not report in within their 30 minutes --------------------------------------


def mark_late_report_ins(now: dt.datetime | None = None) -> int:
    """Mark every whistle call still unreported at its ``report_by`` as late (once: ``late`` goes from NULL to
    True in one UPDATE … RETURNING), write a 部门超时未报到 event on its case and tell the department's liaisons,
    the community staff and the subdistrict admins. A department reporting in afterwards keeps ``late``."""
    from tongxin.cases.models import WhistleCall

    now = now or timezone.now()
    table = connection.ops.quote_name(WhistleCall._meta.db_table)
    now_db = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET late = %s WHERE reported_at IS NULL AND late IS NULL AND active = %s "
                f"AND report_by <= %s RETURNING id",
                [True, True, now_db],
            )
            call_ids = [row[0] for row in cur.fetchall()]
        if not call_ids:
            return 0
        calls = list(
            WhistleCall.objects.filter(pk__in=call_ids).select_related("case", "department").order_by("pk")
        )
        people = _people_for(
            [
                {
                    "property_company_id": None,
                    "department_id": c.department_id,
                    "grid_id": None,
                    "community_id": c.case.community_id,
                    "subdistrict_id": c.case.subdistrict_id,
                }
                for c in calls
            ]
        )
        events, messages = [], []
        for c in calls:
            case = c.case
            events.append(
                CaseEvent(
                    case_id=case.pk,
                    type=EventType.REPORT_IN_LATE,
                    at=now,
                    payload={
                        "department": c.department_id,
                        "call": c.pk,
                        "report_by": c.report_by.isoformat(),
                    },
                    cohort_day=local_day(case.submitted_at),
                    channel=case.channel,
                    community_ref=case.community_id or 0,
                    grid_ref=case.grid_id or 0,
                    category_ref=case.category_id or 0,
                    handler_ref=case.assignee_id or 0,
                    department_ref=c.department_id,
                )
            )
            users = (
                people.by_node[(Role.DEPARTMENT_LIAISON, c.department_id)]
                + people.by_node[(Role.COMMUNITY_STAFF, case.community_id)]
                + people.by_node[(Role.SUBDISTRICT_ADMIN, case.subdistrict_id)]
            )
            messages.append(
                notifications.Message(
                    tuple(dict.fromkeys(users)),
                    _("%(d)s 超时未报到（工单 %(n)s）") % {"d": c.department.name, "n": case.number},
                    _("报到期限 %(t)s") % {"t": timezone.localtime(c.report_by).strftime("%m-%d %H:%M")},
                    f"/cases/{case.pk}/",
                    "case_report_in_late",
                )
            )
        CaseEvent.objects.bulk_create(events)
        notifications.send(messages)
    logger.info("late report-ins %s", len(call_ids))
    return len(call_ids)


@db_periodic_task(crontab(minute="*"))
@lock_task("cases-sweep-deadlines")
def periodic_sweep_deadlines() -> dict[str, int]:
    result = sweep_deadlines()
    result.update(sweep_steps())
    result["report_in_late"] = mark_late_report_ins()
    return result


def fold_rollup_deltas() -> int:
    """Fold the append-only counter deltas into the daily and monthly rollups (see tongxin.cases.rates)."""
    from tongxin.cases.rates import fold_deltas

    return fold_deltas()


@db_periodic_task(crontab(minute="*"))
@lock_task("cases-fold-rollups")
def periodic_fold_rollup_deltas() -> int:
    return fold_rollup_deltas()


def rebuild_rollups(start: dt.date, end: dt.date) -> int:
    """Recompute the rollup rows of cohort days ``start..end`` from raw events (after imports or repairs)."""
    from tongxin.cases.rates import _split, event_deltas, fold_deltas

    fold_deltas()  # committed deltas into the rollups first, so the rebuilt days hold everything
    totals: dict[tuple[Any, ...], Counter[str]] = defaultdict(Counter)
    events = CaseEvent.objects.filter(cohort_day__gte=start, cohort_day__lte=end).values_list(
        "type",
        "payload",
        "channel",
        "cohort_day",
        "community_ref",
        "grid_ref",
        "category_ref",
        "handler_ref",
        "department_ref",
    )
    for etype, payload, channel, day, comm, grid, cat, handler, dept in events.iterator(chunk_size=5000):
        case_level, handler_level = _split(event_deltas(etype, payload or {}, channel))
        if case_level:
            totals[(day, comm, grid, cat, 0, 0, channel)].update(case_level)
        if handler_level:
            totals[(day, comm, grid, cat, handler, dept, channel)].update(handler_level)
    with transaction.atomic():
        CaseRollup.objects.filter(day__gte=start, day__lte=end).delete()
        CaseRollup.objects.bulk_create(
            [
                CaseRollup(
                    day=k[0],
                    community_id=k[1],
                    grid_id=k[2],
                    category_id=k[3],
                    handler_id=k[4],
                    department_id=k[5],
                    channel=k[6],
                    **dict(v),
                )
                for k, v in totals.items()
            ],
            batch_size=1000,
        )
        _rebuild_months(start, end)
    return len(totals)


def _rebuild_months(start: dt.date, end: dt.date) -> None:
    """Recompute the coarser rollups touching ``start..end`` from the daily rows: the day × community rows of
    those days and the monthly rows of those months."""
    from django.db.models import F, Sum
    from django.db.models.functions import TruncMonth

    from tongxin.cases.models import ROLLUP_COUNTERS
    from tongxin.cases.rates import DAY_TABLES, KEY_COLUMNS, MONTH_TABLES

    first = start.replace(day=1)
    last = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1)  # exclusive
    sums = {f"s_{k}": Sum(k) for k in ROLLUP_COUNTERS}
    targets = [
        (m, "day", dims, start, end + dt.timedelta(days=1)) for m, dims in DAY_TABLES if m is not CaseRollup
    ]
    targets += [(m, "month", dims, first, last) for m, dims in MONTH_TABLES]
    for model, time_col, dims, lo, hi in targets:
        columns = [d for d in KEY_COLUMNS[1:] if d in dims]
        model.objects.filter(**{f"{time_col}__gte": lo, f"{time_col}__lt": hi}).delete()
        rows = (
            CaseRollup.objects.filter(day__gte=lo, day__lt=hi)
            .annotate(t=TruncMonth("day") if time_col == "month" else F("day"))
            .values("t", *columns)
            .annotate(**sums)
            .order_by()
        )
        model.objects.bulk_create(
            [
                model(
                    **{time_col: r["t"]},
                    **{c: r[c] for c in columns},
                    **{k: r[f"s_{k}"] or 0 for k in ROLLUP_COUNTERS},
                )
                for r in rows
            ],
            batch_size=1000,
        )


@db_task()
def rebuild_rollups_task(start: str, end: str) -> int:
    return rebuild_rollups(dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def verify_rollups(days: int = 2, today: dt.date | None = None) -> list[dt.date]:
    """Compare every rollup table with a recount from events for the last ``days`` cohort days (the daily
    tables per day, the monthly tables against the daily rows of the month) and rebuild the days that differ
    (a safety net; they agree unless rows were written outside the services). Returns those days."""
    from django.db.models import Sum

    from tongxin.cases.models import ROLLUP_COUNTERS, CaseRollupDelta
    from tongxin.cases.rates import DAY_TABLES, MONTH_TABLES, Filters, fold_deltas, recount

    def summed(model: Any, **filters: Any) -> dict[str, int]:
        row = model.objects.filter(**filters).aggregate(**{f"s_{k}": Sum(k) for k in ROLLUP_COUNTERS})
        return {k: int(row[f"s_{k}"] or 0) for k in ROLLUP_COUNTERS}

    def plus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {k: a[k] + b[k] for k in ROLLUP_COUNTERS}

    fold_deltas()
    today = today or timezone.localdate()
    repaired = []
    for n in range(days):
        day = today - dt.timedelta(days=n)
        with transaction.atomic():  # deltas that arrive meanwhile are added to every side alike
            expected = recount(Filters(start=day, end=day))
            pending = summed(CaseRollupDelta, day=day)
            ok = all(plus(summed(m, day=day), pending) == expected for m, _dims in DAY_TABLES)
            month = day.replace(day=1)
            next_month = (month + dt.timedelta(days=32)).replace(day=1)
            month_daily = summed(CaseRollup, day__gte=month, day__lt=next_month)
            ok = ok and all(summed(m, month=month) == month_daily for m, _dims in MONTH_TABLES)
        if not ok:
            rebuild_rollups(day, day)
            repaired.append(day)
    if repaired:
        logger.warning("case rollups rebuilt for %s", repaired)
    return repaired


@db_periodic_task(crontab(hour="3", minute="20"))
@lock_task("cases-verify-rollups")
def periodic_verify_rollups() -> list[dt.date]:
    return verify_rollups()


@db_periodic_task(crontab(hour="4", minute="10"))
@lock_task("cases-sync-holidays")
def periodic_sync_holidays() -> dict[str, int]:
    """Keep the holiday table in step with ``holidays_cn`` (new years, corrections); admin rows are kept."""
    from tongxin.cases import holidays_cn

    return holidays_cn.sync()
