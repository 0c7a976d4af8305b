"""The three rates (响应率、解决率、满意率), the suggestion box's rectification rate (整改率) and whistle statistics.

Counters live in three tables (design: docs/cases.md, "Rollups"):

* :class:`~tongxin.cases.models.CaseRollupDelta` — append-only. Every service that writes a
  :class:`~tongxin.cases.models.CaseEvent` calls :func:`apply_event` in the same transaction, which INSERTs
  the event's deltas (no UPDATE of a shared row, so concurrent intakes never wait for each other).
* :class:`~tongxin.cases.models.CaseRollup` — one row per cohort day (the case's submission day, Asia/Shanghai)
  × community × grid × category × handler × department × channel.
* :class:`~tongxin.cases.models.CaseRollupMonth` — cohort month × community × grid × category × channel.

:func:`fold_deltas` (periodic task, every minute) deletes the committed delta rows and adds them to both rollup
tables in one transaction. Readers (:func:`counters`, :func:`rates_by`) sum rollup rows + not-yet-folded delta
rows in ONE SQL statement (a UNION ALL, one snapshot), so they are exact whenever they run: a fold commits the
delete and the additions atomically. Whole months of a range come from the monthly table, the partial months at
either end from the daily table; handler and department questions use the daily table.

:func:`event_deltas` is the single definition of what an event counts, and :func:`recount` recomputes the same
counters from the raw events. Formulas: see docs/cases.md.

Case-level counters (received, responded, responded_in_time, suggestion_received) are always written with
handler 0 and department 0; handler-level counters with the handler/department the event snapshot names.
Region-wide rates therefore sum everything; handler/department rates use ``assigned`` as the denominator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Q, QuerySet, Sum, Value

from tongxin.cases.choices import Channel, EventType, Rating
from tongxin.cases.models import (
    ROLLUP_COUNTERS,
    CaseEvent,
    CaseRollup,
    CaseRollupDayCommunity,
    CaseRollupDelta,
    CaseRollupMonth,
    CaseRollupMonthCommunity,
    WhistleCall,
)

CASE_LEVEL = frozenset({"received", "responded", "responded_in_time", "suggestion_received"})
ASSIGNING_EVENTS = frozenset({EventType.DISPATCHED, EventType.CLAIMED, EventType.TRANSFERRED})
DEFAULT_WEIGHTS = {"response": 0.3, "resolution": 0.4, "satisfaction": 0.3}


def event_deltas(event_type: str, payload: dict[str, Any], channel: str) -> dict[str, int]:
    """What one event adds to (or removes from) the counters."""
    d: Counter[str] = Counter()
    suggestion = channel == Channel.SUGGESTION_BOX
    if event_type == EventType.SUBMITTED:
        d["received"] += 1
        if suggestion:
            d["suggestion_received"] += 1
    if payload.get("first_response"):
        d["responded"] += 1
        if payload.get("response_in_time"):
            d["responded_in_time"] += 1
    if event_type in ASSIGNING_EVENTS and any(
        payload.get(k) for k in ("assignee", "property_company", "department")
    ):
        d["assigned"] += 1
    if event_type == EventType.RESOLVED:
        d["resolved"] += 1
        if payload.get("resolve_in_time"):
            d["resolved_in_time"] += 1
        if suggestion:
            d["suggestion_rectified"] += 1
    if event_type == EventType.NOT_FIXED:  # the resolution did not hold: take it back
        d["reopened"] += 1
        d["resolved"] -= 1
        if payload.get("was_in_time"):
            d["resolved_in_time"] -= 1
        if suggestion:
            d["suggestion_rectified"] -= 1
    if event_type == EventType.CLOSED:
        d["closed"] += 1
    if event_type in (EventType.RATED, EventType.FOLLOW_UP_CALL) and payload.get("rating"):
        d["rated"] += 1
        d[str(payload["rating"])] += 1
        if event_type == EventType.FOLLOW_UP_CALL:
            d["rated_by_call"] += 1
            if payload["rating"] in ("satisfied", "basically_satisfied"):
                d["satisfied_by_call"] += 1
    if event_type == EventType.MERGED:  # a duplicate leaves the statistics; its primary carries the outcome
        d["received"] -= 1
        if suggestion:
            d["suggestion_received"] -= 1
        if payload.get("had_response"):
            d["responded"] -= 1
            if payload.get("had_response_in_time"):
                d["responded_in_time"] -= 1
    if event_type == EventType.RECLASSIFIED:  # the case-level counters move from the old category to the new
        sign = -1 if payload.get("direction") == "out" else 1
        for k, v in (payload.get("moved") or {}).items():
            d[k] += sign * int(v)
    return {k: v for k, v in d.items() if v}


def _split(deltas: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    case_level = {k: v for k, v in deltas.items() if k in CASE_LEVEL}
    handler_level = {k: v for k, v in deltas.items() if k not in CASE_LEVEL}
    return case_level, handler_level


def _key(event: CaseEvent, handler_level: bool) -> dict[str, Any]:
    return {
        "day": event.cohort_day,
        "community_id": event.community_ref,
        "grid_id": event.grid_ref,
        "category_id": event.category_ref,
        "handler_id": event.handler_ref if handler_level else 0,
        "department_id": event.department_ref if handler_level else 0,
        "channel": event.channel,
    }


def apply_event(event: CaseEvent) -> None:
    """Append ``event``'s deltas as :class:`CaseRollupDelta` rows (call inside the service's transaction).
    One INSERT; nothing is updated, so no row lock is shared with other transactions."""
    case_level, handler_level = _split(event_deltas(event.type, event.payload, event.channel))
    rows = [
        CaseRollupDelta(**_key(event, hl), **deltas)
        for deltas, hl in ((case_level, False), (handler_level, True))
        if deltas
    ]
    if rows:
        CaseRollupDelta.objects.bulk_create(rows)


KEY_COLUMNS = ("day", "community_id", "grid_id", "category_id", "handler_id", "department_id", "channel")

# Rollup tables, finest first: (model, time column, dimension columns). Each is a GROUP BY of the first.
ALL_DIMS = frozenset(KEY_COLUMNS[1:])
DAY_TABLES: tuple[tuple[type[Any], frozenset[str]], ...] = (
    (CaseRollupDayCommunity, frozenset({"community_id", "category_id"})),
    (CaseRollup, ALL_DIMS),
)
MONTH_TABLES: tuple[tuple[type[Any], frozenset[str]], ...] = (
    (CaseRollupMonthCommunity, frozenset({"community_id", "category_id"})),
    (CaseRollupMonth, frozenset({"community_id", "grid_id", "category_id", "channel"})),
)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _upsert(model: type[Any], key_columns: tuple[str, ...], rows: dict[tuple[Any, ...], list[int]]) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE SET c = c + excluded.c (same syntax on PostgreSQL and SQLite)."""
    qn = connection.ops.quote_name
    table = model._meta.db_table
    cols = (*key_columns, *ROLLUP_COUNTERS)
    sets = ", ".join(f"{qn(c)} = {qn(table)}.{qn(c)} + EXCLUDED.{qn(c)}" for c in ROLLUP_COUNTERS)
    sql = (
        f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in cols)}) "
        f"VALUES ({', '.join(['%s'] * len(cols))}) "
        f"ON CONFLICT ({', '.join(qn(c) for c in key_columns)}) DO UPDATE SET {sets}"
    )
    params = [
        [connection.ops.adapt_datefield_value(k[0]), *k[1:], *v] for k, v in sorted(rows.items(), key=str)
    ]
    with connection.cursor() as cur:
        cur.executemany(sql, params)


def fold_deltas() -> int:
    """Move the committed delta rows into every rollup table; returns how many delta rows.

    One transaction: ``DELETE … RETURNING`` takes exactly the rows it will add (rows of transactions still
    open are not visible and stay for the next fold; a concurrent fold blocks on the same rows and then skips
    them), the sums go to the rollup tables with ``ON CONFLICT DO UPDATE``. Only this task updates rollup
    rows, so the services' transactions never wait on them."""
    qn = connection.ops.quote_name
    cols = (*KEY_COLUMNS, *ROLLUP_COUNTERS)
    n_key = len(KEY_COLUMNS)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                f"DELETE FROM {qn(CaseRollupDelta._meta.db_table)} RETURNING {', '.join(qn(c) for c in cols)}"
            )
            fetched = cur.fetchall()
        if not fetched:
            return 0
        targets = [(m, "day", dims) for m, dims in DAY_TABLES] + [
            (m, "month", dims) for m, dims in MONTH_TABLES
        ]
        sums: list[dict[tuple[Any, ...], list[int]]] = [{} for _ in targets]
        for row in fetched:
            day = _as_date(row[0])
            named = dict(zip(KEY_COLUMNS[1:], row[1:n_key], strict=True))
            values = row[n_key:]
            for (_model, time_col, dims), acc_map in zip(targets, sums, strict=True):
                t = day if time_col == "day" else day.replace(day=1)
                key = (t, *(named[d] for d in KEY_COLUMNS[1:] if d in dims))
                acc = acc_map.setdefault(key, [0] * len(ROLLUP_COUNTERS))
                for idx, v in enumerate(values):
                    acc[idx] += v
        for (model, time_col, dims), acc_map in zip(targets, sums, strict=True):
            _upsert(model, (time_col, *(d for d in KEY_COLUMNS[1:] if d in dims)), acc_map)
    return len(fetched)


@dataclass(frozen=True)
class Filters:
    """Which slice to measure. Region: a subdistrict or community (its communities are summed)."""

    start: dt.date | None = None
    end: dt.date | None = None  # inclusive
    community_ids: tuple[int, ...] | None = None
    grid_id: int | None = None
    category_ids: tuple[int, ...] | None = None
    handler_id: int | None = None
    department_id: int | None = None
    channel: str | None = None

    @classmethod
    def for_region(cls, region: Any, **kw: Any) -> Filters:
        from tongxin.regions.models import Region

        ids = tuple(
            Region.objects.filter(path__startswith=region.path, kind="community").values_list("id", flat=True)
        )
        return cls(community_ids=ids, **kw)

    @classmethod
    def for_category(cls, category: Any, **kw: Any) -> Filters:
        """A category with its sub-categories."""
        from tongxin.cases.models import Category

        ids = [category.pk]
        frontier = [category.pk]
        while frontier:
            frontier = list(Category.objects.filter(parent_id__in=frontier).values_list("id", flat=True))
            ids += frontier
        return cls(category_ids=tuple(ids), **kw)

    @property
    def by_handler(self) -> bool:
        return self.handler_id is not None or self.department_id is not None

    def q(self, events: bool = False) -> Q:
        """Filter for :class:`CaseRollup` rows, or with ``events=True`` for :class:`CaseEvent` rows."""
        day = "cohort_day" if events else "day"
        q = Q()
        if self.start:
            q &= Q(**{f"{day}__gte": self.start})
        if self.end:
            q &= Q(**{f"{day}__lte": self.end})
        dims = {
            "community": self.community_ids,
            "grid": self.grid_id,
            "category": self.category_ids,
            "handler": self.handler_id,
            "department": self.department_id,
        }
        for dim, value in dims.items():
            if value is None:
                continue
            field = f"{dim}_ref" if events else f"{dim}_id"
            q &= Q(**{f"{field}__in": list(value)}) if isinstance(value, tuple) else Q(**{field: value})
        if self.channel:
            q &= Q(channel=self.channel)
        return q


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_plan(filters: Filters) -> tuple[Q | None, Q | None]:
    """Split the date range into whole months (monthly tables) and the partial months at either end (daily
    tables). Returns (monthly date filter or None, daily date filter or None)."""
    start, end = filters.start, filters.end
    whole_day = Q()
    if start:
        whole_day &= Q(day__gte=start)
    if end:
        whole_day &= Q(day__lte=end)
    m0 = None if start is None else (start if start.day == 1 else _next_month(start))
    m1 = None  # first day of the last whole month
    if end is not None:
        m1 = end.replace(day=1) if _next_month(end) - dt.timedelta(days=1) == end else None
        if m1 is None:
            m1 = (end.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if m0 is not None and m1 is not None and m0 > m1:
        return None, whole_day
    month_q = Q()
    if m0 is not None:
        month_q &= Q(month__gte=m0)
    if m1 is not None:
        month_q &= Q(month__lte=m1)
    day_parts: list[Q] = []
    if start is not None and m0 is not None and start < m0:
        day_parts.append(Q(day__gte=start, day__lt=m0))
    if end is not None and m1 is not None and end >= _next_month(m1):
        day_parts.append(Q(day__gte=_next_month(m1), day__lte=end))
    day_q: Q | None = None
    for part in day_parts:
        day_q = part if day_q is None else day_q | part
    return month_q, day_q


def _needed_dims(filters: Filters, dimension: str | None) -> set[str]:
    needed = {
        name
        for name, value in (
            ("community_id", filters.community_ids),
            ("grid_id", filters.grid_id),
            ("category_id", filters.category_ids),
            ("handler_id", filters.handler_id),
            ("department_id", filters.department_id),
            ("channel", filters.channel),
        )
        if value is not None
    }
    if dimension and dimension != "day":
        needed.add(dimension)
    return needed


def _coarsest(tables: tuple[tuple[type[Any], frozenset[str]], ...], needed: set[str]) -> type[Any] | None:
    return next((model for model, dims in tables if needed <= dims), None)


def plan(filters: Filters, dimension: str | None = None) -> list[tuple[type[Any], Q]]:
    """Which tables answer the question, each with its date filter: the coarsest monthly table that has every
    filtered/grouped dimension for the whole months, the coarsest daily one for the rest, and the deltas."""
    needed = _needed_dims(filters, dimension)
    month_model = _coarsest(MONTH_TABLES, needed) if dimension != "day" else None
    day_model = _coarsest(DAY_TABLES, needed)
    assert day_model is not None
    month_q, day_q = _month_plan(filters) if month_model is not None else (None, None)
    if month_q is None:  # no whole month (or no monthly table fits): the whole range from a daily table
        day_q = Q(day__gte=filters.start) if filters.start else Q()
        if filters.end:
            day_q &= Q(day__lte=filters.end)
    out: list[tuple[type[Any], Q]] = []
    if month_model is not None and month_q is not None:
        out.append((month_model, month_q))
    if day_q is not None:
        out.append((day_model, day_q))
    out.append((CaseRollupDelta, Q()))
    return out


def _parts(filters: Filters, dimension: str | None) -> list[QuerySet[Any]]:
    """The grouped sums of every table that holds part of the answer (combined with UNION ALL)."""
    sums = {f"s_{k}": Sum(k) for k in ROLLUP_COUNTERS}
    dims = dataclasses.replace(filters, start=None, end=None).q()
    group = [dimension] if dimension else []
    querysets: list[QuerySet[Any]] = []
    for model, date_q in plan(filters, dimension):
        qs = model.objects.filter(filters.q() if model is CaseRollupDelta else dims & date_q)
        if group:
            querysets.append(qs.values(*group).annotate(**sums).order_by())
        else:
            querysets.append(qs.annotate(g=Value(0)).values("g").annotate(**sums).order_by())
    return querysets


def _summed(filters: Filters, dimension: str | None) -> dict[Any, dict[str, int]]:
    """One SQL statement (UNION ALL of the parts), merged per key in Python."""
    first, *rest = _parts(filters, dimension)
    qs = first.union(*rest, all=True) if rest else first
    out: dict[Any, dict[str, int]] = {}
    for row in qs:
        key = row[dimension] if dimension else None
        acc = out.setdefault(key, {k: 0 for k in ROLLUP_COUNTERS})
        for k in ROLLUP_COUNTERS:
            acc[k] += int(row[f"s_{k}"] or 0)
    return out


def counters(filters: Filters) -> dict[str, int]:
    """Summed counters for the slice: monthly + daily rollup rows + unfolded deltas, in one query."""
    return _summed(filters, None).get(None) or {k: 0 for k in ROLLUP_COUNTERS}


def recount(filters: Filters) -> dict[str, int]:
    """The same counters computed from raw :class:`CaseEvent` rows (for audits and the property test)."""
    totals: Counter[str] = Counter({k: 0 for k in ROLLUP_COUNTERS})
    # Handler/department filters only see handler-level counters, exactly like the rollup rows.
    by_handler = filters.handler_id is not None or filters.department_id is not None
    events = CaseEvent.objects.filter(filters.q(events=True)).values_list("type", "payload", "channel")
    for event_type, payload, channel in events.iterator(chunk_size=2000):
        case_level, handler_level = _split(event_deltas(event_type, payload or {}, channel))
        totals.update(handler_level)
        if not by_handler:
            totals.update(case_level)
    return {k: int(totals[k]) for k in ROLLUP_COUNTERS}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 6) if den > 0 else None


def rates_from(c: dict[str, int], *, by_handler: bool = False) -> dict[str, float | None]:
    """The rates of a counter dict (formulas in docs/cases.md)."""
    denominator = c["assigned"] if by_handler else c["received"]
    result: dict[str, float | None] = {
        "response": None if by_handler else _ratio(c["responded_in_time"], c["received"]),
        "resolution": _ratio(c["resolved"], denominator),
        "resolution_in_time": _ratio(c["resolved_in_time"], denominator),
        "satisfaction": _ratio(c["satisfied"] + c["basically_satisfied"], c["rated"]),
        # the residents' own word only: without the ratings recorded by a follow-up call
        "satisfaction_online": _ratio(
            c["satisfied"] + c["basically_satisfied"] - c["satisfied_by_call"],
            c["rated"] - c["rated_by_call"],
        ),
        "rectification": _ratio(c["suggestion_rectified"], c["suggestion_received"]),
    }
    result["composite"] = composite(result)
    return result


def composite(rates: dict[str, float | None]) -> float | None:
    """Weighted mean of the available rates with ``settings.CASES_RATE_WEIGHTS`` (re-normalised)."""
    weights = getattr(settings, "CASES_RATE_WEIGHTS", None) or DEFAULT_WEIGHTS
    pairs = [(w, rates.get(name)) for name, w in weights.items() if rates.get(name) is not None]
    total = sum(w for w, _ in pairs)
    if not pairs or total <= 0:
        return None
    return round(sum(w * (r or 0.0) for w, r in pairs) / total, 6)


def rates(filters: Filters) -> dict[str, Any]:
    """Counters and rates for a slice: ``{"counters": {...}, "rates": {...}}``."""
    c = counters(filters)
    return {"counters": c, "rates": rates_from(c, by_handler=filters.by_handler)}


def rates_by(dimension: str, filters: Filters) -> list[dict[str, Any]]:
    """Rates grouped by ``community_id``, ``grid_id``, ``category_id``, ``handler_id``, ``department_id``,
    ``channel`` or ``day`` (one UNION ALL query over the rollup tables and the unfolded deltas)."""
    by_handler = dimension in ("handler_id", "department_id")
    out = []
    for key, c in sorted(_summed(filters, dimension).items(), key=lambda kv: kv[0]):
        if by_handler and not key:
            continue
        out.append({"key": key, "counters": c, "rates": rates_from(c, by_handler=by_handler)})
    return out


def whistle_stats(
    *,
    department_ids: Iterable[int] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Per department: calls, reported in, late, on time, average minutes to report in, average rating."""
    qs = WhistleCall.objects.all()
    if department_ids is not None:
        qs = qs.filter(department_id__in=list(department_ids))
    if start:
        qs = qs.filter(whistled_at__gte=start)
    if end:
        qs = qs.filter(whistled_at__lt=end)
    rows = (
        qs.values("department_id", "department__name", "department__short_name")
        .annotate(
            n_calls=Count("id"),
            n_reported=Count("id", filter=Q(reported_at__isnull=False)),
            n_late=Count("id", filter=Q(late=True)),
            n_on_time=Count("id", filter=Q(late=False)),
            n_avg_rating=Avg("rating"),
            n_rated=Count("id", filter=Q(rating__isnull=False)),
        )
        .order_by("department_id")
    )
    durations = dict(
        qs.filter(reported_at__isnull=False)
        .values("department_id")
        .annotate(d=Avg(F("reported_at") - F("whistled_at")))
        .values_list("department_id", "d")
    )
    out = []
    for r in rows:
        avg = durations.get(r["department_id"])
        out.append(
            {
                "department_id": r["department_id"],
                "department": r["department__short_name"] or r["department__name"],
                "calls": r["n_calls"],
                "reported": r["n_reported"],
                "late": r["n_late"],
                "on_time": r["n_on_time"],
                "on_time_rate": _ratio(r["n_on_time"], r["n_calls"]),
                "avg_minutes_to_report": round(avg.total_seconds() / 60, 1) if avg else None,
                "rated": r["n_rated"],
                "avg_rating": round(float(r["n_avg_rating"]), 2) if r["n_avg_rating"] is not None else None,
            }
        )
    return out


RATING_VALUES = tuple(Rating.values)
