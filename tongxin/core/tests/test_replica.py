"""Read traffic on the replica (tongxin/core/replica.py).

The router's decisions are tested everywhere (SQLite included). The tests marked with ``needs_replica`` run when
``DATABASE_REPLICA_URL`` is set, and are written for a *real* streaming replica: ``make test-replica``
(``.ci/pg_replica``) starts a throwaway PostgreSQL primary and a hot standby made by ``pg_basebackup -R`` on two
ports, and points ``DATABASE_URL`` and ``DATABASE_REPLICA_URL`` at them. In tests the ``replica`` alias mirrors the
test database's *name* (Django's TEST MIRROR) and keeps its own host and port: the test database pytest-django
creates on the primary reaches the standby by replication, and the replica connection reads it from the standby.

Replication is asynchronous, so a test that expects the replica to have a row first waits for the standby to
replay the primary's WAL up to now (:func:`caught_up`, bounded). To show that a read really comes from the
replica server (not merely through a connection named so), some tests pause the standby's replay
(``pg_wal_replay_pause()``): what the primary commits meanwhile is missing on the replica and present on the
primary, so which server answered shows in the data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.test.utils import CaptureQueriesContext

from tongxin.core import replica
from tongxin.core.replica import ReplicaRouter, replica_reads
from tongxin.regions.models import Region

# .ci/pg_replica sets TONGXIN_REPLICA_REQUIRED=1: there a missing alias fails these tests instead of skipping them
REQUIRED = os.environ.get("TONGXIN_REPLICA_REQUIRED") == "1"
needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES and not REQUIRED,
    reason="DATABASE_REPLICA_URL is not set (no replica alias)",
)
both = pytest.mark.django_db(transaction=True, databases=["default", "replica"])
REPLAY_TIMEOUT_S = 10.0


def scalar(alias: str, sql: str, params: list[str] | None = None) -> object:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def caught_up(timeout: float = REPLAY_TIMEOUT_S) -> float:
    """Wait until the standby has replayed everything the primary wrote so far; returns the seconds waited.
    Fails the test after ``timeout`` seconds (a standby that stopped streaming must not hang the suite)."""
    lsn = str(scalar("default", "SELECT pg_current_wal_lsn()::text"))
    started = time.monotonic()
    while not scalar("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the standby did not replay up to {lsn} within {timeout:.0f} s")
        time.sleep(0.01)
    return time.monotonic() - started


def pause_replay() -> None:
    """The standby holds everything the primary committed so far, then stops applying WAL (until resumed)."""
    caught_up()
    scalar("replica", "SELECT pg_wal_replay_pause()::text")
    deadline = time.monotonic() + REPLAY_TIMEOUT_S
    while scalar("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby did not pause its replay"
        time.sleep(0.01)


@pytest.fixture
def replay_control() -> Iterator[None]:
    """Whatever the test paused, the standby replays again after it (the next tests need a live replica)."""
    yield
    scalar("replica", "SELECT pg_wal_replay_resume()::text")


def test_reads_stay_on_the_primary_without_a_replica(monkeypatch):
    """Given no replica configured, when code reads inside a replica block, then it reads the default database."""
    monkeypatch.setattr(replica, "configured", lambda: False)
    with replica_reads():
        assert ReplicaRouter().db_for_read(Region) is None


@pytest.mark.django_db(transaction=True)
def test_router_sends_block_reads_to_the_replica_until_the_block_writes(monkeypatch):
    """Given a replica alias, when a block reads, then the router names the replica; outside a block, inside a
    transaction and after the block wrote something, it names the primary (read-your-writes)."""
    router = ReplicaRouter()
    monkeypatch.setattr(replica, "configured", lambda: True)
    assert router.db_for_read(Region) is None  # outside any block
    with replica_reads():
        assert router.db_for_read(Region) == "replica"
        with transaction.atomic():
            assert router.db_for_read(Region) is None
        assert router.db_for_write(Region) == "default"
        assert router.db_for_read(Region) is None  # pinned after the write
    with replica_reads():
        assert router.db_for_read(Region) == "replica"  # a new block starts unpinned
    assert not router.allow_migrate("replica", "regions")
    assert router.allow_migrate("default", "regions")


@needs_replica
@both
def test_the_replica_alias_is_a_streaming_standby_of_the_primary():
    """Given DATABASE_REPLICA_URL, when each connection is asked what it is, then the replica is another server in
    recovery (a hot standby) on the test database, and the primary streams to it."""
    assert scalar("replica", "SELECT pg_is_in_recovery()") is True
    assert scalar("default", "SELECT pg_is_in_recovery()") is False
    assert scalar("replica", "SELECT inet_server_port()") != scalar("default", "SELECT inet_server_port()")
    assert scalar("replica", "SELECT current_database()") == scalar("default", "SELECT current_database()")
    assert scalar("default", "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") >= 1
    assert scalar("replica", "SELECT status FROM pg_stat_wal_receiver") == "streaming"


@needs_replica
@both
def test_a_row_committed_on_the_primary_reaches_the_replica_and_an_open_one_does_not():
    """Given a region committed on the primary and another inserted in a transaction still open, when the standby
    has replayed the primary's WAL up to now, then the replica has the committed one and not the open one."""
    Region.objects.create(kind="subdistrict", name="已提交街道")
    with transaction.atomic():
        Region.objects.create(kind="subdistrict", name="未提交街道")
        waited = caught_up()
        on_replica = set(Region.objects.using("replica").values_list("name", flat=True))
    assert waited < REPLAY_TIMEOUT_S
    assert on_replica == {"已提交街道"}
    caught_up()
    assert Region.objects.using("replica").filter(name="未提交街道").exists()


@needs_replica
@both
def test_a_write_on_the_replica_is_refused():
    """Given the standby, when something writes through the replica connection, then PostgreSQL refuses it
    (read-only transaction) and neither server has the row."""
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Region.objects.using("replica").create(kind="subdistrict", name="写错库街道")
    caught_up()
    assert not Region.objects.filter(name="写错库街道").exists()
    assert not Region.objects.using("replica").filter(name="写错库街道").exists()


@needs_replica
@both
def test_block_reads_run_on_the_replica_connection_and_writes_pin_the_primary():
    """Given a region replicated to the standby, when a block reads it, then the query runs on the replica
    connection; after the block creates a region its next read runs on the primary and sees the new row."""
    Region.objects.create(kind="subdistrict", name="甲街道")
    caught_up()
    with replica_reads():
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            assert Region.objects.filter(name="甲街道").exists()
        assert len(on_replica.captured_queries) == 1
        Region.objects.create(kind="subdistrict", name="乙街道")
        with (
            CaptureQueriesContext(connections["replica"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            assert Region.objects.filter(name="乙街道").exists()
        assert not on_replica.captured_queries and len(on_primary.captured_queries) == 1


@needs_replica
@both
def test_write_then_read_in_one_block_sees_its_write_while_the_replica_lags(replay_control):
    """Given the standby's replay paused (it lags behind the primary), when a replica block writes a region and
    reads it back, then the read finds it (pinned to the primary); a read before the write, on the replica, does
    not see a row the primary committed after the pause; a read inside a transaction stays on the primary."""
    pause_replay()
    Region.objects.create(kind="subdistrict", name="滞后街道")
    with replica_reads():
        assert not Region.objects.filter(name="滞后街道").exists()  # the replica, behind the primary
        with transaction.atomic():
            assert Region.objects.filter(name="滞后街道").exists()  # in a transaction: the primary
        created = Region.objects.create(kind="subdistrict", name="自己写的街道")
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            assert Region.objects.get(name="自己写的街道") == created
            assert Region.objects.filter(name="滞后街道").exists()
        assert not on_replica.captured_queries
    with replica_reads():
        assert not Region.objects.filter(name="自己写的街道").exists()  # a new block reads the replica again


@needs_replica
@both
def test_dashboard_reads_from_the_replica(replay_control):
    """Given the shared world replicated to the standby and then a community renamed on the primary while the
    standby's replay is paused, when community staff open the dashboard, then the page shows the replica's name
    (the old one) and its rate queries ran on the replica connection; the primary answered only the session, the
    user and the access check around the view. Once the standby catches up the page shows the new name."""
    from tongxin.conftest import build_world

    world = build_world()
    staff = world.client("staff_a")
    pause_replay()  # the world and the session reach the replica, the rename does not
    Region.objects.filter(pk=world.community_a.pk).update(name="改名社区")

    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = staff.get("/dashboard/", {"region": world.community_a.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "满庭春社区" in page and "改名社区" not in page
    assert any("cases_caserollup" in q["sql"] for q in on_replica.captured_queries)
    # the primary: the session, the user and the access check around the view (policy.page, the menu)
    assert len(on_primary.captured_queries) <= 4, [q["sql"] for q in on_primary.captured_queries]
    assert not [q for q in on_primary.captured_queries if '"cases_' in q["sql"] or '"sensors_' in q["sql"]]
    # the rates, the trend, channels, categories, grids, departments … all on the replica
    assert len(on_replica.captured_queries) >= 10

    scalar("replica", "SELECT pg_wal_replay_resume()::text")
    caught_up()
    page = staff.get("/dashboard/", {"region": world.community_a.pk}).content.decode()
    assert "改名社区" in page
