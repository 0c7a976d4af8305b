"""Read traffic on the replica (tongxin/core/replica.py).

The router's decisions are tested everywhere (SQLite included). The tests marked ``replica`` run when
``DATABASE_REPLICA_URL`` is set (a second alias on the same server: in tests it mirrors the test database) and show
real queries going to the replica connection: a dashboard read goes to the replica, a write-then-read stays on
the primary.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from tongxin.core import replica
from tongxin.core.replica import ReplicaRouter, replica_reads
from tongxin.regions.models import Region

needs_replica = pytest.mark.skipif(
    "replica" not in settings.DATABASES, reason="DATABASE_REPLICA_URL is not set (no replica alias)"
)


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
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_block_reads_run_on_the_replica_connection_and_writes_pin_the_primary():
    """Given a real replica alias, when a block reads a region, then the query runs on the replica connection;
    after the block creates a region its next read runs on the primary and sees the new row."""
    Region.objects.create(kind="subdistrict", name="甲街道")
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
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_dashboard_reads_from_the_replica():
    """Given the shared world (committed), when community staff open the dashboard, then its rate queries run on
    the replica connection."""
    from tongxin.conftest import build_world

    world = build_world()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        response = world.client("staff_a").get("/dashboard/", {"region": world.community_a.pk})
    assert response.status_code == 200
    assert any("cases_caserollup" in q["sql"] for q in on_replica.captured_queries)
    assert replica.configured()
