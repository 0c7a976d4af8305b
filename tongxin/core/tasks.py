"""Background work of the core: the monthly partitions of case events, notifications and ledger entries; the
nightly purge of expired private files (uploaded import spreadsheets); the notification outbox (on commit and every
minute); the worker's heartbeat every minute (read by /healthz) and the count of failed tasks (/metrics)."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task, on_startup, periodic_task, signal
from huey.signals import SIGNAL_ERROR

from tongxin.core import notifications, partitions, retention, worker


@db_periodic_task(crontab(hour="3", minute="10"))
@lock_task("core-partitions")
def maintain_partitions() -> list[str]:
    """Keep three months of partitions ahead (PostgreSQL; nothing on SQLite). Idempotent."""
    return partitions.maintain()


@db_periodic_task(crontab(hour="3", minute="40"))
@lock_task("core-purge-private-files")
def purge_private_files() -> int:
    """Nightly at 03:40 Beijing time: delete private files past PRIVATE_FILE_RETENTION_DAYS (tongxin.core.retention).
    Idempotent; returns how many files went."""
    return len(retention.purge_private_files().deleted)


@db_task()
def send_outbox_now() -> int:
    """The notification outbox, asked for by a commit that filled it (tongxin.core.notifications.send_outbox)."""
    return _drain_outbox()


@db_periodic_task(crontab(minute="*"))
def send_outbox() -> int:
    """Every minute: whatever the outbox still holds (a queue that was down, a worker that stopped)."""
    return _drain_outbox()


def _drain_outbox(rounds: int = 50) -> int:
    sent = 0
    for _ in range(rounds):
        done = notifications.send_outbox()
        sent += done
        if not done:
            break
    return sent


@periodic_task(crontab(minute="*"))
def worker_heartbeat() -> None:
    worker.beat()


@on_startup()
def heartbeat_at_start() -> None:
    # a worker that just started is alive before the first periodic run
    worker.beat()


@signal(SIGNAL_ERROR)
def count_failure(signal_name: str, task: Any, exc: BaseException | None = None) -> None:
    worker.record_failure(getattr(task, "name", "unknown"))
