"""Coverage of a notice, level by level: for a node (the target, an estate, a building, an entrance) one row per
place one level down — households targeted and reached (on their phones / recorded by a leader), confirmed and
replied, entrances whose leader confirmed passing it on (an entrance without a leader is delivered by the system
and does not count), whether that place's relay was passed on, by whom and when, its leaders, and
whether it lags. Under an entrance the rows are the households themselves.

Six queries whatever the size: the node's own relay, receipts grouped by the child column (on the ``(notice, entrance, rank)``
index), the child relays, the entrance relays grouped by child, the child places' names, their leaders. 10,000
households answer in a few milliseconds (docs/bench/notices.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from tongxin.core import policy
from tongxin.notices import fanout, leaders
from tongxin.notices.choices import LEVEL_ORDER, LeaderRole, Level, RelayState
from tongxin.notices.models import Notice, Receipt, Relay
from tongxin.regions.models import Region

CHILD_COLUMN: dict[str, str] = {
    Level.COMMUNITY: "community_id",
    Level.ESTATE: "estate_id",
    Level.BUILDING: "building_id",
    Level.ENTRANCE: "entrance_id",
}


@dataclass
class Row:
    region_id: int
    name: str
    level: str
    households: int = 0
    reached: int = 0
    by_leader: int = 0
    confirmed: int = 0
    replied: int = 0
    entrances: int = 0
    entrances_passed: int = 0
    relay_id: int | None = None
    relay_state: str = ""
    passed_on_by: str = ""
    passed_on_at: Any = None
    automatic: bool = False
    leaders: list[str] = field(default_factory=list)
    lagging: bool = False

    @property
    def by_app(self) -> int:
        return self.reached - self.by_leader

    @property
    def share(self) -> float:
        return self.reached / self.households if self.households else 0.0


@dataclass
class Coverage:
    notice: Notice
    node: Region
    child_level: str  # "household" under an entrance
    total: Row
    rows: list[Row]
    receipts: list[Receipt] = field(default_factory=list)  # under an entrance


def receipts_for(user: Any, notice: Notice) -> QuerySet[Receipt]:
    """The notice's receipts the user may see (staff: their scope; leaders: their places)."""
    return policy.restrict(Receipt.objects.filter(notice=notice), user, "notices.record_receipt")


def _counts(qs: QuerySet[Receipt], by: str | None) -> dict[Any, dict[str, int]]:
    aggregates = {
        "households": Count("pk"),
        "reached": Count("pk", filter=Q(rank__gte=1)),
        "by_leader": Count("pk", filter=Q(rank__gte=1, recorded_by__isnull=False)),
        "confirmed": Count("pk", filter=Q(rank__gte=2)),
        "replied": Count("pk", filter=Q(rank__gte=3)),
    }
    if by is None:
        return {None: qs.aggregate(**aggregates)}
    return {row.pop(by): row for row in qs.values(by).annotate(**aggregates).order_by()}


def child_level(node: Region) -> str:
    index = LEVEL_ORDER.index(node.kind)
    return LEVEL_ORDER[index + 1]


def coverage(user: Any, notice: Notice, node: Region | None = None) -> Coverage:
    """Coverage of ``notice`` below ``node`` (default: the notice's target) as far as ``user`` may see."""
    node = node or notice.target
    receipts = receipts_for(user, notice).filter(**{f"{node.kind}_id": node.pk})
    level = child_level(node)
    total = Row(node.pk, node.name, node.kind)
    own = Relay.objects.filter(notice=notice, region_id=node.pk).select_related("passed_on_by").first()
    if own is not None:
        _relay_into(total, own)
    entrance_relays = Relay.objects.filter(
        notice=notice, level=Level.ENTRANCE, **{f"{node.kind}_id": node.pk}
    )
    entrance_relays = policy.restrict(entrance_relays, user, "notices.pass_on")
    if level == Level.HOUSEHOLD:
        rows: list[Row] = []
        listing = list(
            receipts.select_related("dwelling", "household__head", "recorded_by").order_by(
                "dwelling__number", "pk"
            )
        )
        _fill(total, _tally(listing))
        total.entrances = 1
        total.entrances_passed = int(
            own is not None and own.state == RelayState.PASSED_ON and not own.automatic
        )
        return Coverage(notice, node, level, total, rows, listing)
    column = CHILD_COLUMN[level]
    counts = _counts(receipts, column)
    _fill(
        total, {key: sum(c[key] or 0 for c in counts.values()) for key in COUNTS}
    )  # the node = its children
    relays = {
        r.region_id: r
        for r in Relay.objects.filter(notice=notice, level=level, region_id__in=list(counts)).select_related(
            "passed_on_by"
        )
    }
    entrances = {
        row[column]: row
        for row in entrance_relays.values(column)
        .annotate(n=Count("pk"), passed=Count("pk", filter=Q(state=RelayState.PASSED_ON, automatic=False)))
        .order_by()
    }
    names = dict(Region.objects.filter(pk__in=list(counts)).values_list("pk", "name"))
    who = _leaders(level, list(counts))
    rows = []
    for region_id, c in counts.items():
        row = _fill(Row(region_id, names.get(region_id, "?"), level), c)
        e = entrances.get(region_id, {})
        row.entrances, row.entrances_passed = e.get("n", 0), e.get("passed", 0)
        relay = relays.get(region_id)
        if relay is not None:
            _relay_into(row, relay)
        row.leaders = who.get(region_id, [])
        rows.append(row)
    overall = total.share
    for row in rows:
        row.lagging = row.relay_state == RelayState.PENDING or row.share < overall
    total.entrances = sum(r.entrances for r in rows)
    total.entrances_passed = sum(r.entrances_passed for r in rows)
    rows.sort(key=lambda r: (not r.lagging, r.share, r.name))
    return Coverage(notice, node, level, total, rows)


COUNTS = ("households", "reached", "by_leader", "confirmed", "replied")


def _tally(receipts: list[Receipt]) -> dict[str, int]:
    reached = [r for r in receipts if r.rank >= 1]
    return {
        "households": len(receipts),
        "reached": len(reached),
        "by_leader": sum(1 for r in reached if r.recorded_by_id),
        "confirmed": sum(1 for r in receipts if r.rank >= 2),
        "replied": sum(1 for r in receipts if r.rank >= 3),
    }


def _fill(row: Row, counts: dict[str, Any]) -> Row:
    for key in COUNTS:
        setattr(row, key, counts.get(key) or 0)
    return row


def _relay_into(row: Row, relay: Relay) -> None:
    row.relay_id = relay.pk
    row.relay_state = relay.state
    row.passed_on_at = relay.passed_on_at
    row.automatic = relay.automatic
    row.passed_on_by = str(relay.passed_on_by) if relay.passed_on_by_id else ""


def _leaders(level: str, region_ids: list[int]) -> dict[int, list[str]]:
    if level not in (Level.BUILDING, Level.ENTRANCE):
        return {}
    column = "building_id" if level == Level.BUILDING else "entrance_id"
    roles = (
        [LeaderRole.BUILDING_LEADER]
        if level == Level.BUILDING
        else [
            LeaderRole.ENTRANCE_LEADER,
            LeaderRole.PARTY_HOUSEHOLD_LEADER,
        ]
    )
    out: dict[int, list[str]] = {}
    qs = leaders.current().filter(role__in=roles, **{f"{column}__in": region_ids}).select_related("resident")
    for a in qs.order_by("role", "pk"):
        out.setdefault(getattr(a, column), []).append(f"{a.resident.name}（{leaders.leader_label(a)}）")
    return out


def breadcrumbs(notice: Notice, node: Region) -> list[Region]:
    """The way from the notice's target down to ``node``."""
    ids = node.ancestor_ids()
    start = ids.index(notice.target_id) if notice.target_id in ids else len(ids) - 1
    wanted = ids[start:]
    found = {r.pk: r for r in Region.objects.filter(pk__in=wanted)}
    return [found[i] for i in wanted if i in found]


def levels(notice: Notice) -> list[str]:
    return fanout.relay_levels(notice)
