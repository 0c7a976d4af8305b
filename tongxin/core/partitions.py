"""Monthly partitions of the big append-mostly tables on PostgreSQL (declarative partitioning by range of a time
column), the approach of the sensors' readings (``tongxin/sensors/partitions.py``) made generic.

Partitioned (issue 15): ``cases_case`` by ``submitted_at``, ``cases_caseevent`` by ``at``,
``core_notification`` by ``created_at`` and ``volunteers_entry`` (the ledger's entries) by ``value_date``. Each has a DEFAULT partition, so an insert never
fails for want of a partition, and monthly partitions from the first month with data to three months ahead; the
nightly task (``tongxin.core.tasks.maintain_partitions``) keeps three months ahead.

:func:`convert` turns an existing plain table into a partitioned one inside a migration, rows included:

* the primary key becomes ``(id, <partition column>)`` — PostgreSQL requires the partition key in every unique
  index of a partitioned table. Django still treats ``id`` as the primary key: ids come from the same identity
  sequence, so they stay unique;
* indexes, foreign keys out of the table, CHECK constraints and the append-only triggers are carried over with
  their names (the migration state does not change);
* no foreign key may point *into* a partitioned table (it would have to include the partition column): the
  models that referred to notifications say ``db_constraint=False`` (their ``on_delete`` is Django's job anyway);
* a UNIQUE index that lacks the partition column cannot exist on a partitioned table, so :func:`convert` refuses
  such a table instead of silently dropping the guarantee — unless the spec names a :class:`KeyTable` (cases):
  then those unique indexes move to that narrow plain table (``id`` and the key columns) under their names,
  triggers keep it in step with the partitioned table (a duplicate is refused in the same statement, as
  before), the foreign keys into the table are re-pointed at it, and the table keeps a plain index
  (``…_nu``) in place of each. :func:`unconvert` is the way back.

Months are local months (``TIME_ZONE``, Asia/Shanghai) as for the readings. On SQLite every function here does
nothing and the tables stay plain.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection
from django.utils import timezone

logger = logging.getLogger("tongxin.core")


@dataclass(frozen=True)
class KeyTable:
    """A narrow plain table holding the global unique keys of a partitioned table (see :func:`convert`)."""

    table: str
    columns: tuple[str, ...]  # copied from the partitioned table next to its ``id``

    @property
    def function(self) -> str:
        return f"{self.table}_sync"


@dataclass(frozen=True)
class MonthlyTable:
    table: str
    column: str
    dates: bool = False  # a DATE column (bounds are dates), else a timestamp with time zone
    keys: KeyTable | None = None  # where the UNIQUE indexes without the partition column go

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


CASES = MonthlyTable(
    "cases_case",
    "submitted_at",
    keys=KeyTable(
        "cases_casekey", ("number", "receipt_code", "channel", "idempotency_client", "idempotency_key")
    ),
)
CASE_EVENTS = MonthlyTable("cases_caseevent", "at")
NOTIFICATIONS = MonthlyTable("core_notification", "created_at")
LEDGER_ENTRIES = MonthlyTable("volunteers_entry", "value_date", dates=True)
TABLES = (CASES, CASE_EVENTS, NOTIFICATIONS, LEDGER_ENTRIES)


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
    foreign keys, checks and triggers (a migration step; see the module docstring). PostgreSQL only.

    With ``spec.keys`` the global unique keys move into the key table first (:func:`_split_keys`): its unique
    indexes, the foreign keys into the table re-pointed at it, and the triggers that keep it in step."""
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
        if spec.keys:
            _split_keys(spec, cur, oid, qn)
        incoming = _incoming(cur, oid)
        if incoming:
            raise RuntimeError(
                f"{table} is referenced by foreign keys {incoming}: make them db_constraint=False"
            )
        indexes = _indexes(cur, oid)
        constraints = _constraints(cur, oid)
        if any(unique for _n, _d, unique in indexes) or any(t == "u" for _n, _d, t in constraints):
            raise RuntimeError(f"{table} has a UNIQUE index without {spec.column}: it cannot be partitioned")
        triggers = _triggers(cur, oid)
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
        _copy_rows(cur, qn, old, table)
        cur.execute(
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(table + '_pkey')} PRIMARY KEY (id, {qn(spec.column)})"
        )
        _recreate(cur, qn, table, indexes, constraints, triggers)
        if spec.keys:
            _key_triggers(spec, cur, qn)


def unconvert(spec: MonthlyTable, schema_editor: Any) -> None:
    """The way back of :func:`convert` (a migration's reverse): a plain table with the same rows, primary key
    ``id``, indexes, outgoing foreign keys, checks and triggers; with ``spec.keys`` the unique keys return to it,
    the foreign keys into the key table are pointed at it again and the key table goes. PostgreSQL only."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not is_partitioned(spec, connection):
        return
    qn = connection.ops.quote_name
    table, old = spec.table, f"{spec.table}__parted"
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SELECT %s::regclass::oid", [table])
        oid = cur.fetchone()[0]
        indexes = [
            # the non-unique stand-ins of the keys go; the unique indexes come back from the key table below
            (name, definition.replace(" ON ONLY ", " ON "), unique)
            for name, definition, unique in _indexes(cur, oid)
            if not (spec.keys and name.endswith(KEY_STAND_IN))
        ]
        constraints = _constraints(cur, oid)
        triggers = [d for d in _triggers(cur, oid) if not (spec.keys and f" {spec.keys.function}()" in d)]
        cur.execute(f"ALTER TABLE {qn(table)} RENAME TO {qn(old)}")
        cur.execute(
            f"CREATE TABLE {qn(table)} (LIKE {qn(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING IDENTITY)"
        )
        _copy_rows(cur, qn, old, table)
        cur.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(table + '_pkey')} PRIMARY KEY (id)")
        _recreate(cur, qn, table, indexes, constraints, triggers)
        if spec.keys:
            keys = spec.keys
            cur.execute("SELECT %s::regclass::oid", [keys.table])
            key_oid = cur.fetchone()[0]
            unique_indexes = [
                _on_table(d, keys.table, table) for _n, d, unique in _indexes(cur, key_oid) if unique
            ]
            unique_constraints = [(n, d) for n, d, kind in _constraints(cur, key_oid) if kind == "u"]
            _repoint(cur, key_oid, keys.table, table, qn)
            cur.execute(f"DROP TABLE {qn(keys.table)}")  # its index names are free again
            cur.execute(f"DROP FUNCTION {qn(keys.function)}()")
            for definition in unique_indexes:
                cur.execute(definition)
            for name, definition in unique_constraints:
                cur.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")


KEY_STAND_IN = (
    "_nu"  # suffix of the non-unique index a partitioned table keeps in place of a moved unique one
)


def _split_keys(spec: MonthlyTable, cur: Any, oid: int, qn: Any) -> None:
    """Move the UNIQUE indexes of ``spec.table`` that lack the partition column into the key table: create it
    from the rows (``id`` and the key columns), give it those unique indexes under their names (an error still
    names the same constraint), leave a non-unique copy of each on the table for its lookups, and re-point every
    foreign key into the table at the key table (same name, same deferral)."""
    assert spec.keys is not None
    keys, table = spec.keys, spec.table
    cols = ", ".join(qn(c) for c in ("id", *keys.columns))
    cur.execute(f"CREATE TABLE {qn(keys.table)} AS SELECT {cols} FROM {qn(table)}")
    cur.execute(f"ALTER TABLE {qn(keys.table)} ADD CONSTRAINT {qn(keys.table + '_pkey')} PRIMARY KEY (id)")
    for col in keys.columns:
        cur.execute(f"ALTER TABLE {qn(keys.table)} ALTER COLUMN {qn(col)} SET NOT NULL")
    cur.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = %s "
        "AND c.contype = 'u' AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid "
        "AND a.attnum = ANY (c.conkey) AND a.attname = %s)",
        [oid, spec.column],
    )
    for name, definition in cur.fetchall():
        cur.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        cur.execute(f"ALTER TABLE {qn(keys.table)} ADD CONSTRAINT {qn(name)} {definition}")
        columns = definition.removeprefix("UNIQUE ")
        cur.execute(f"CREATE INDEX {qn(name + KEY_STAND_IN)} ON {qn(table)} {columns}")
    for name, definition, unique in _indexes(cur, oid):
        if unique:
            cur.execute(f"DROP INDEX {qn(name)}")
            cur.execute(_on_table(definition, table, keys.table))
            cur.execute(
                definition.replace(f"CREATE UNIQUE INDEX {name} ", f"CREATE INDEX {name}{KEY_STAND_IN} ", 1)
            )
    _repoint(cur, oid, table, keys.table, qn)


def _key_triggers(spec: MonthlyTable, cur: Any, qn: Any) -> None:
    """The triggers that keep the key table in step with ``spec.table``: a row's keys are inserted with it
    (a duplicate raises the unique violation in the same statement, as the table's own index did), updated when
    they change and deleted with it; TRUNCATE (Django's test flush) empties the key table too. A row moved to
    another partition (its partition column updated) is deleted there and inserted here: its key stays."""
    assert spec.keys is not None
    keys, table = spec.keys, qn(spec.table)
    cols = ("id", *keys.columns)
    column_list = ", ".join(qn(c) for c in cols)
    values = ", ".join(f"NEW.{qn(c)}" for c in cols)
    sets = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in keys.columns)
    changed = " OR ".join(f"OLD.{qn(c)} IS DISTINCT FROM NEW.{qn(c)}" for c in keys.columns)
    key_table, function = qn(keys.table), qn(keys.function)
    cur.execute(
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM {key_table};
            ELSIF TG_OP = 'DELETE' THEN
                DELETE FROM {key_table} k WHERE k.id = OLD.id
                    AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = OLD.id);
            ELSE
                INSERT INTO {key_table} ({column_list}) VALUES ({values})
                    ON CONFLICT (id) DO UPDATE SET {sets};
            END IF;
            RETURN NULL;
        END $$"""
    )
    name = spec.table
    cur.execute(
        f"CREATE TRIGGER {qn(name + '_keys')} AFTER INSERT OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()"
    )
    cur.execute(
        f"CREATE TRIGGER {qn(name + '_keys_update')} AFTER UPDATE OF {', '.join(qn(c) for c in keys.columns)} "
        f"ON {table} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}()"
    )
    cur.execute(
        f"CREATE TRIGGER {qn(name + '_keys_truncate')} AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def _on_table(definition: str, table: str, other: str) -> str:
    """An index definition of ``table`` (as ``pg_get_indexdef`` writes it) made for ``other``."""
    return re.sub(
        rf" ON (ONLY )?((\w+)\.)?{re.escape(table)} USING ", f" ON {other} USING ", definition, count=1
    )


def _incoming(cur: Any, oid: int) -> list[tuple[str, str, str]]:
    """The foreign keys into the table (the partitions' clones of a partitioned referrer's key left out)."""
    cur.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE confrelid = %s AND contype = 'f' AND conparentid = 0 ORDER BY 1, 2",
        [oid],
    )
    return cur.fetchall()


def _repoint(cur: Any, oid: int, table: str, other: str, qn: Any) -> None:
    """Every foreign key into ``table`` made to reference ``other`` instead (same name, columns, deferral)."""
    for referrer, name, definition in _incoming(cur, oid):
        moved = re.sub(
            rf"REFERENCES ((\w+)\.)?{re.escape(table)}\(", f"REFERENCES {other}(", definition, count=1
        )
        cur.execute(f"ALTER TABLE {referrer} DROP CONSTRAINT {qn(name)}, ADD CONSTRAINT {qn(name)} {moved}")


def _indexes(cur: Any, oid: int) -> list[tuple[str, str, bool]]:
    cur.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisunique FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype = 'u') "
        "ORDER BY i.relname",
        [oid],
    )
    return cur.fetchall()


def _constraints(cur: Any, oid: int) -> list[tuple[str, str, str]]:
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = %s AND contype IN ('f', 'u') AND conparentid = 0 ORDER BY conname",
        [oid],
    )
    return cur.fetchall()


def _triggers(cur: Any, oid: int) -> list[str]:
    cur.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname",
        [oid],
    )
    return [r[0] for r in cur.fetchall()]


def _copy_rows(cur: Any, qn: Any, source: str, table: str) -> None:
    cur.execute(f"INSERT INTO {qn(table)} OVERRIDING SYSTEM VALUE SELECT * FROM {qn(source)}")
    cur.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {qn(table)}), 0) + 1, "
        f"false)",
        [table],
    )
    cur.execute(f"DROP TABLE {qn(source)}")


def _recreate(cur: Any, qn: Any, table: str, indexes: list, constraints: list, triggers: list) -> None:
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
