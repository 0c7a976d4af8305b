"""The fan-out of a notice: receipts and relays written by the database, not by a Python loop.

``INSERT … SELECT`` from households ⋈ dwellings (plus party members or resident tags for those audiences) writes
one receipt per targeted household (in household order, so the indexes fill in order); one ``GROUP BY`` over those
receipts counts the households per entrance into a temporary table, and the relays of the levels below the notice's
origin are rolled up from it with their household counts. The same SQL runs on SQLite and PostgreSQL.
A million households take seconds (docs/bench/notices.md).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from tongxin.notices.choices import LEVEL_ORDER, RELAY_LEVELS, Audience, Level, ReceiptStatus, RelayState
from tongxin.notices.models import Notice, Receipt, Relay
from tongxin.party.models import PartyMember
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Household, Resident
from tongxin.regions.models import Dwelling

RECEIPT_COLUMNS = (
    "notice_id, household_id, resident_id, dwelling_id, subdistrict_id, community_id, estate_id, building_id, "
    "entrance_id, grid_id, status, rank, channel"
)
# What each relay level groups the receipts by, and which column is the relay's parent.
RELAY_GROUPING: dict[str, tuple[str, str]] = {
    Level.COMMUNITY: ("community_id", "subdistrict_id"),
    Level.ESTATE: ("estate_id", "community_id"),
    Level.BUILDING: ("building_id", "estate_id"),
    Level.ENTRANCE: ("entrance_id", "building_id"),
}
LOCATION_COLUMNS = ("subdistrict_id", "community_id", "estate_id", "building_id", "entrance_id")


def _t(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _target_filter(notice: Notice) -> tuple[str, list[Any]]:
    kind = notice.target.kind
    sql = f"d.{kind}_id = %s"
    params: list[Any] = [notice.target_id]
    if notice.target_grid_id:
        sql += " AND d.grid_id = %s"
        params.append(notice.target_grid_id)
    return sql, params


def receipts_sql(notice: Notice) -> tuple[str, list[Any]]:
    """The ``INSERT … SELECT`` writing the notice's receipts (one per targeted household)."""
    where, params = _target_filter(notice)
    location = "d.id, d.subdistrict_id, d.community_id, d.estate_id, d.building_id, d.entrance_id, d.grid_id"
    head = f"INSERT INTO {_t(Receipt)} ({RECEIPT_COLUMNS}) "
    tail = f", '{ReceiptStatus.PENDING}', 0, ''"
    hh, dw, rs = _t(Household), _t(Dwelling), _t(Resident)
    if notice.audience == Audience.HOUSEHOLDS:
        sql = (
            f"{head}SELECT %s, h.id, NULL, {location}{tail} FROM {hh} h JOIN {dw} d ON d.id = h.dwelling_id "
            f"WHERE h.ended_on IS NULL AND {where} ORDER BY h.id"
        )
        return sql, [notice.pk, *params]
    # People-targeted audiences: the household of each person, once, naming its first such person.
    if notice.audience == Audience.PARTY_MEMBERS:
        person = f"JOIN {_t(PartyMember)} pm ON pm.resident_id = r.id AND pm.active = %s"
        person_params: list[Any] = [True]
    else:
        tag_ids = list(notice.target_tags.values_list("pk", flat=True)) or [0]
        through = _t(Resident.tags.through)
        marks = ", ".join(["%s"] * len(tag_ids))
        person = f"JOIN (SELECT DISTINCT resident_id FROM {through} WHERE tag_id IN ({marks})) t ON t.resident_id = r.id"
        person_params = tag_ids
    sql = (
        f"{head}SELECT %s, h.id, MIN(r.id), {location}{tail} FROM {rs} r {person} "
        f"JOIN {hh} h ON h.id = r.household_id JOIN {dw} d ON d.id = h.dwelling_id "
        f"WHERE r.status = %s AND h.ended_on IS NULL AND {where} "
        f"GROUP BY h.id, {location} ORDER BY h.id"
    )
    return sql, [notice.pk, *person_params, ResidentStatus.ACTIVE, *params]


def relay_levels(notice: Notice) -> list[str]:
    """The relay levels strictly below the notice's origin (a community's notice starts at its estates)."""
    origin = LEVEL_ORDER.index(notice.origin.kind)
    return [lv for lv in RELAY_LEVELS if LEVEL_ORDER.index(lv) > origin]


ENTRANCES_TMP = "_notice_entrances"


def entrances_sql(notice: Notice) -> tuple[str, list[Any]]:
    """One pass over the new receipts: households per entrance (with its ancestors and grid), into a temp table
    the four relay levels are then rolled up from."""
    columns = ", ".join(LOCATION_COLUMNS)
    sql = (
        f"CREATE TEMP TABLE {ENTRANCES_TMP} AS SELECT {columns}, MIN(grid_id) AS grid_id, COUNT(*) AS n "
        f"FROM {_t(Receipt)} WHERE notice_id = %s GROUP BY {columns}"
    )
    return sql, [notice.pk]


def relays_sql(notice: Notice, level: str) -> tuple[str, list[Any]]:
    column, parent = RELAY_GROUPING[level]
    depth = LOCATION_COLUMNS.index(column)
    keep = LOCATION_COLUMNS[: depth + 1]
    # the grid of a building or an entrance (every dwelling of a building shares it); none above
    grid = "MIN(grid_id)" if level in (Level.BUILDING, Level.ENTRANCE) else "NULL"
    columns = ", ".join(keep)
    nulls = ", ".join("NULL" for _ in LOCATION_COLUMNS[depth + 1 :])
    select_loc = columns + (f", {nulls}" if nulls else "")
    sql = (
        f"INSERT INTO {_t(Relay)} (notice_id, level, region_id, parent_region_id, "
        f"{', '.join(LOCATION_COLUMNS)}, grid_id, households, state, automatic) "
        f"SELECT %s, %s, {column}, {parent}, {select_loc}, {grid}, SUM(n), %s, %s "
        f"FROM {ENTRANCES_TMP} GROUP BY {columns}"
    )
    return sql, [notice.pk, level, RelayState.PENDING, False]


def fan_out(notice: Notice) -> int:
    """Write the notice's receipts and relays; returns the number of households. Call inside the send
    transaction (nothing is visible before it commits)."""
    with connection.cursor() as cur:
        sql, params = receipts_sql(notice)
        cur.execute(sql, params)
        households = cur.rowcount
        levels = relay_levels(notice)
        if levels and households > 0:
            sql, params = entrances_sql(notice)
            cur.execute(sql, params)
            for level in levels:
                sql, params = relays_sql(notice, level)
                cur.execute(sql, params)
            cur.execute(f"DROP TABLE {ENTRANCES_TMP}")
    return max(households, 0)
