"""Monthly partitions of the readings table on PostgreSQL (declarative partitioning by range of ``measured_at``).

Migration 0001 creates ``sensors_reading`` as a partitioned table with a DEFAULT partition (so an insert never
fails for want of a partition) and the partitions from last month to three months ahead. The nightly task
(:func:`tongxin.sensors.tasks.maintain_partitions`) keeps three months ahead and, when
``SENSORS_RETENTION_MONTHS`` is set, drops whole months past it (a ``DROP TABLE``, not a ``DELETE``).

Months are local months (``TIME_ZONE``, Asia/Shanghai): the bounds carry the offset, so a reading at 00:30 on the
1st (local) lands in the new month's partition, the same month the meter reports count it in.

On SQLite the table is a plain table and these functions do nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import connection as default_connection
from django.utils import timezone

from tongxin.core import partitions as core_partitions
from tongxin.core.partitions import add_months

logger = logging.getLogger("tongxin.sensors")

TABLE = "sensors_reading"
DEFAULT_PARTITION = f"{TABLE}_default"
READINGS = core_partitions.MonthlyTable(TABLE, "measured_at")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def partition_name(month: dt.date) -> str:
    return f"{TABLE}_{month:%Y%m}"


def bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local-time start of ``month`` and of the next month, as aware datetimes."""
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(month, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(add_months(month, 1), dt.time.min, tzinfo=tz)
    return start, end


def existing(connection: Any = None) -> list[str]:
    """Names of the partitions attached to the readings table (PostgreSQL), oldest first."""
    return core_partitions.existing(READINGS, connection)


def ensure(
    today: dt.date | None = None, *, behind: int = 1, ahead: int = 3, connection: Any = None
) -> list[str]:
    """Create the monthly partitions from ``behind`` months ago to ``ahead`` months ahead; return those created.

    Idempotent. Rows that already landed in the DEFAULT partition for a new month (a reading far in the future
    or past) are moved into the new partition in the same transaction, so attaching never fails."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    today = today or timezone.localdate()
    have = set(existing(connection))
    created = []
    first = add_months(month_start(today), -behind)
    for i in range(behind + ahead + 1):
        month = add_months(first, i)
        name = partition_name(month)
        if name in have:
            continue
        _create(connection, month, name)
        created.append(name)
    if created:
        logger.info("readings partitions created: %s", ", ".join(created))
    return created


def _create(connection: Any, month: dt.date, name: str) -> None:
    start, end = bounds(month)
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT EXISTS (SELECT 1 FROM {qn(DEFAULT_PARTITION)} WHERE measured_at >= %s AND measured_at < %s)",
            [start, end],
        )
        stray = cur.fetchone()[0]
        if not stray:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {qn(name)} PARTITION OF {qn(TABLE)} "
                f"FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            return
        # Move the month's rows out of the default partition, then attach (validates against the default).
        cur.execute(f"CREATE TABLE {qn(name)} (LIKE {qn(TABLE)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cur.execute(
            f"WITH moved AS (DELETE FROM {qn(DEFAULT_PARTITION)} WHERE measured_at >= %s AND measured_at < %s "
            f"RETURNING device_id, measured_at, value) "
            f"INSERT INTO {qn(name)} (device_id, measured_at, value) SELECT device_id, measured_at, value FROM moved",
            [start, end],
        )
        cur.execute(
            f"ALTER TABLE {qn(TABLE)} ATTACH PARTITION {qn(name)} FOR VALUES FROM (%s) TO (%s)", [start, end]
        )


def drop_older_than(months: int, today: dt.date | None = None, *, connection: Any = None) -> list[str]:
    """Drop the monthly partitions wholly older than ``months`` months (retention); return those dropped."""
    connection = connection or default_connection
    if connection.vendor != "postgresql" or months <= 0:
        return []
    today = today or timezone.localdate()
    keep_from = partition_name(add_months(month_start(today), -months))
    dropped = []
    with connection.cursor() as cur:
        for name in existing(connection):
            if name == DEFAULT_PARTITION or name >= keep_from:
                continue
            cur.execute(f"DROP TABLE {connection.ops.quote_name(name)}")
            dropped.append(name)
    if dropped:
        logger.info("readings partitions dropped (retention %s months): %s", months, ", ".join(dropped))
    return dropped
