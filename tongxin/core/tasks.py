"""The worker's own tasks: a heartbeat every minute (read by /healthz) and counting task failures (/metrics)."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import on_startup, periodic_task, signal
from huey.signals import SIGNAL_ERROR

from tongxin.core import worker


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
