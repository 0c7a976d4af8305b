"""Monthly partitions of the big append-mostly tables on PostgreSQL (declarative partitioning by range of a time
column), the approach of the sensors' readings (``tongxin/sensors/partitions.py``) made generic.

Partitioned (issue 15): ``cases_caseevent`` by ``at``, ``core_notification`` by ``created_at`` and
``volunteers_entry`` (the ledger's entries) by ``value_date``. Each has a DEFAULT partition, so an insert never
fails for want of a partition, and monthly partitions from the first month with data to three months ahead; the
nightly task (``tongxin.core.tasks.maintain_partitions``) keeps three months ahead.

:func:`convert` turns an existing plain table into a partitioned one inside a migration, rows included:

* the primary key becomes ``(id, <partition column>)`` — PostgreSQL requires the partition key in every unique
  index of a partitioned table. Django still treats ``id`` as the primary key: ids come from the same identity
  sequence, so they stay unique;
* indexes, foreign keys out of the table, CHECK constraints and the append-only triggers are carried over with
  their names (the migration state does not change);
* no foreign key may point *into* a partitioned table (it would have to include the partition column): the
  models that referred to these tables say ``db_constraint=False`` (their ``on_delete`` is Django's job anyway);
* a UNIQUE index that lacks the partition column cannot exist on a partitioned table, so :func:`convert` refuses
  such a table instead of silently dropping the guarantee.

Months are local months (``TIME_ZONE``, Asia/Shanghai) as for the readings. On SQLite every function here does
nothing and the tables stay plain.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection
from django.utils import timezone

logger = logging.getLogger("tongxin.core")


@dataclass(frozen=True)
class MonthlyTable:
    table: str
    column: str
    dates: bool = False  # a DATE column (bounds are dates), else a timestamp with time zone

    @property
    def default_partition(self) -> str:
        return f"{self.table}_default"

    def partition_name(self, month: dt.date) -> str:
        return f"{self.table}_{month:%Y%m}"

    def bounds(self, month: dt.date) -> tuple[Any, Any]:
        if self.dates:
            return month, add_months(month, 1)
        tz = timezone.get_default_timezone()
        return (
            dt.datetime.combine(month, dt.time.min, tzinfo=tz),
            dt.datetime.combine(add_months(month, 1), dt.time.min, tzinfo=tz),
        )


CASE_EVENTS = MonthlyTable("cases_caseevent", "at")
NOTIFICATIONS = MonthlyTable("core_notification", "created_at")
LEDGER_ENTRIES = MonthlyTable("volunteers_entry", "value_date", dates=True)
TABLES = (CASE_EVENTS, NOTIFICATIONS, LEDGER_ENTRIES)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def is_partitioned(spec: MonthlyTable, connection: Any = None) -> bool:
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT relkind = 'p' FROM pg_class WHERE relname = %s", [spec.table])
        row = cur.fetchone()
    return bool(row and row[0])


def existing(spec: MonthlyTable, connection: Any = None) -> list[str]:
    """Names of the partitions attached to ``spec.table``, oldest first (the default partition included)."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [spec.table],
        )
        return [row[0] for row in cur.fetchall()]


def ensure(
    spec: MonthlyTable,
    today: dt.date | None = None,
    *,
    since: dt.date | None = None,
    ahead: int = 3,
    connection: Any = None,
) -> list[str]:
    """Create the monthly partitions from ``since`` (default: last month) to ``ahead`` months ahead; return the
    names created. Idempotent. Rows of a new month already in the DEFAULT partition are moved into it."""
    connection = connection or default_connection
    if connection.vendor != "postgresql" or not is_partitioned(spec, connection):
        return []
    today = today or timezone.localdate()
    have = set(existing(spec, connection))
    month = (since or add_months(today, -1)).replace(day=1)
    last = add_months(today.replace(day=1), ahead)
    created = []
    while month <= last:
        name = spec.partition_name(month)
        if name not in have:
            _create(spec, connection, month, name)
            created.append(name)
        month = add_months(month, 1)
    if created:
        logger.info("%s partitions created: %s", spec.table, ", ".join(created))
    return created


def _create(spec: MonthlyTable, connection: Any, month: dt.date, name: str) -> None:
    start, end = spec.bounds(month)
    qn = connection.ops.quote_name
    table, col, default = qn(spec.table), qn(spec.column), qn(spec.default_partition)
    with connection.cursor() as cur:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {col} >= %s AND {col} < %s)", [start, end])
        if not cur.fetchone()[0]:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {qn(name)} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            return
        # Move the month's rows out of the default partition, then attach (validated against the default). The
        # append-only triggers would refuse the DELETE of this move, which is no deletion: off around it.
        cur.execute(f"CREATE TABLE {qn(name)} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cur.execute(f"ALTER TABLE {default} DISABLE TRIGGER USER")
        cur.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE {col} >= %s AND {col} < %s RETURNING *) "
            f"INSERT INTO {qn(name)} SELECT * FROM moved",
            [start, end],
        )
        cur.execute(f"ALTER TABLE {default} ENABLE TRIGGER USER")
        cur.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {qn(name)} FOR VALUES FROM (%s) TO (%s)", [start, end]
        )


def convert(spec: MonthlyTable, schema_editor: Any) -> None:
    """Turn the existing plain table into a partitioned one with the same rows, columns, indexes, outgoing
    foreign keys, checks and triggers (a migration step; see the module docstring). PostgreSQL only."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or is_partitioned(spec, connection):
        return
    qn = connection.ops.quote_name
    table, old = spec.table, f"{spec.table}__plain"
    with connection.cursor() as cur:
        # run the deferred key checks of rows written earlier in this transaction: a table with pending trigger
        # events cannot be dropped
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SELECT %s::regclass::oid", [table])
        oid = cur.fetchone()[0]
        cur.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE confrelid = %s AND contype = 'f'",
            [oid],
        )
        incoming = cur.fetchall()
        if incoming:
            raise RuntimeError(
                f"{table} is referenced by foreign keys {incoming}: make them db_constraint=False"
            )
        cur.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisunique FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype = 'u')",
            [oid],
        )
        indexes = cur.fetchall()
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            "WHERE conrelid = %s AND contype IN ('f', 'u') ORDER BY conname",
            [oid],
        )
        constraints = cur.fetchall()
        if any(unique for _n, _d, unique in indexes) or any(t == "u" for _n, _d, t in constraints):
            raise RuntimeError(f"{table} has a UNIQUE index without {spec.column}: it cannot be partitioned")
        cur.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal", [oid]
        )
        triggers = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT min({qn(spec.column)}) FROM {qn(table)}")
        first = cur.fetchone()[0]

        cur.execute(f"ALTER TABLE {qn(table)} RENAME TO {qn(old)}")
        cur.execute(
            f"CREATE TABLE {qn(table)} (LIKE {qn(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING IDENTITY) PARTITION BY RANGE ({qn(spec.column)})"
        )
        cur.execute(f"CREATE TABLE {qn(spec.default_partition)} PARTITION OF {qn(table)} DEFAULT")
    if first is not None:
        first_day = timezone.localdate(first) if isinstance(first, dt.datetime) else first
        ensure(spec, since=first_day, connection=connection)
    else:
        ensure(spec, connection=connection)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {qn(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {qn(old)}")
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {qn(table)}), 0) + 1, "
            f"false)",
            [table],
        )
        cur.execute(f"DROP TABLE {qn(old)}")
        cur.execute(
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(table + '_pkey')} PRIMARY KEY (id, {qn(spec.column)})"
        )
        # the definitions were read before the rename: they name the table as it is called again now
        for _name, definition, _unique in indexes:
            cur.execute(definition)
        for name, definition, _type in constraints:
            cur.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        for definition in triggers:
            cur.execute(definition)


def maintain(today: dt.date | None = None) -> list[str]:
    """Keep three months of partitions ahead for every partitioned table (nightly)."""
    created: list[str] = []
    for spec in TABLES:
        created += ensure(spec, today)
    return created
