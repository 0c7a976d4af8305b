"""What the task worker tells the web processes: that it is alive (a heartbeat) and how many tasks failed.

Both live in the task queue's own key/value store (Redis, or the SQLite queue file), which the web processes and
the worker share whatever the deployment: no table, no extra service. ``tongxin.core.tasks`` writes them.
"""

from __future__ import annotations

import threading
import time

from huey.contrib.djhuey import HUEY

HEARTBEAT_KEY = "tongxin:worker:heartbeat"
FAILURES_KEY = "tongxin:worker:task-failures"
_failures_lock = threading.Lock()


def beat(now: float | None = None) -> None:
    HUEY.put(HEARTBEAT_KEY, now if now is not None else time.time())


def last_beat() -> float | None:
    """Unix time of the worker's last heartbeat, or None when none was ever written."""
    value = HUEY.get(HEARTBEAT_KEY, peek=True)
    return float(value) if value is not None else None


def record_failure(task_name: str) -> None:
    """Count a failed task run (the counter survives restarts, as a Prometheus counter may)."""
    with _failures_lock:
        counts = dict(HUEY.get(FAILURES_KEY, peek=True) or {})
        counts[task_name] = counts.get(task_name, 0) + 1
        HUEY.put(FAILURES_KEY, counts)


def failures() -> dict[str, int]:
    return dict(HUEY.get(FAILURES_KEY, peek=True) or {})


def queue_depth() -> int:
    """Tasks waiting in the queue (not counting those scheduled for later)."""
    return int(HUEY.pending_count())


def scheduled_count() -> int:
    return int(HUEY.scheduled_count())
