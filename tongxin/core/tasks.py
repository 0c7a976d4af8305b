"""Background work of the core: the monthly partitions of case events, notifications and ledger entries."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.core import partitions


@db_periodic_task(crontab(hour="3", minute="10"))
@lock_task("core-partitions")
def maintain_partitions() -> list[str]:
    """Keep three months of partitions ahead (PostgreSQL; nothing on SQLite). Idempotent."""
    return partitions.maintain()
