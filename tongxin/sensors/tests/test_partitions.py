"""The readings table is partitioned by local month on PostgreSQL: readings land in their month, partitions are kept
ahead, rows that fell into the default partition move when their month gets one, and retention drops months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongxin.sensors import partitions
from tongxin.sensors.ingest import insert_readings
from tongxin.sensors.models import Reading

PG = pytest.mark.skipif(not settings.IS_POSTGRES, reason="declarative partitioning is PostgreSQL's")


def where(device_id: int, t: dt.datetime) -> str:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tableoid::regclass::text FROM sensors_reading WHERE device_id = %s AND measured_at = %s",
            [device_id, t],
        )
        return cur.fetchone()[0]


@pytest.mark.postgres_only
@PG
def test_readings_land_in_their_local_month(pump):
    # given a reading at 00:30 local time on the first of this month (still the previous month in UTC)
    month = timezone.localdate().replace(day=1)
    t = timezone.make_aware(dt.datetime.combine(month, dt.time(0, 30)))
    insert_readings([(pump.pk, t, 0.3)])
    # then it is stored in this month's partition, not last month's
    assert where(pump.pk, t) == partitions.partition_name(month)
    assert set(partitions.existing()) >= {
        partitions.partition_name(partitions.add_months(month, i)) for i in range(-1, 4)
    }


@pytest.mark.postgres_only
@PG
def test_a_new_month_takes_its_rows_out_of_the_default_partition(pump):
    # given a reading far ahead, with no partition for its month yet: it lands in the default partition
    far = partitions.add_months(timezone.localdate().replace(day=1), 10)
    t = timezone.make_aware(dt.datetime.combine(far, dt.time(12)))
    insert_readings([(pump.pk, t, 0.3)])
    assert where(pump.pk, t) == partitions.DEFAULT_PARTITION
    # when the partitions are kept ahead far enough to reach that month
    created = partitions.ensure(ahead=10, behind=0)
    # then the month has its partition and the row moved into it
    assert partitions.partition_name(far) in created
    assert where(pump.pk, t) == partitions.partition_name(far)
    assert Reading.objects.filter(device=pump).count() == 1
    assert partitions.ensure(ahead=10, behind=0) == []  # idempotent


@pytest.mark.postgres_only
@PG
def test_retention_drops_whole_old_months(pump):
    month = timezone.localdate().replace(day=1)
    partitions.ensure(behind=4, ahead=0)
    old = partitions.partition_name(partitions.add_months(month, -4))
    assert old in partitions.existing()
    dropped = partitions.drop_older_than(3)
    assert old in dropped and old not in partitions.existing()
    assert partitions.partition_name(month) in partitions.existing()


def test_sqlite_has_a_plain_table(pump):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    assert partitions.ensure() == [] and partitions.existing() == []
    insert_readings([(pump.pk, timezone.now(), 0.3)])
    assert Reading.objects.count() == 1
