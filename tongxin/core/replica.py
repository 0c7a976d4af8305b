"""Read traffic on a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``), writes and everything else on the
primary.

Only code that says so reads from the replica: a view or endpoint wrapped in :func:`reads_from_replica` (the
dashboard, its exports, rate queries) or a block inside :func:`replica_reads`. Everything else — in particular a
page shown right after the POST that changed it — reads from the primary, so nobody misses their own write to
replication lag. Inside a replica block reads go back to the primary as soon as

* the block writes anything (the router is asked for a write database: the block is *pinned* to the primary for
  the rest of it, so it reads its own write), or
* a transaction is open on the primary (``transaction.atomic``): a read inside it must see the transaction.

Without ``DATABASE_REPLICA_URL`` there is no ``replica`` alias and the router answers ``None`` (Django's
default database) for everything. Migrations run on the primary only; the replica gets them by replication.
``make test-replica`` tests this against a real hot standby started for the run (``.ci/pg_replica``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
READ, PINNED = "read", "pinned"
_state: ContextVar[str | None] = ContextVar("tongxin_replica_reads", default=None)


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside the block go to the replica (when one is configured), until the block writes."""
    token = _state.set(READ)
    try:
        yield
    finally:
        _state.reset(token)


def reads_from_replica(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for read-only views and endpoints (dashboards, exports, rates)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry: see the module docstring."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _state.get() != READ or not configured():
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        if _state.get() == READ:
            _state.set(PINNED)  # reset with the block (replica_reads restores the token)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is the same data

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA
