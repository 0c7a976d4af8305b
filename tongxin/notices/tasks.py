"""Notice work in the background: the direct messages of big sends, in batches; and every ten minutes, remind
laggards once two thirds of the way to a notice's deadline and escalate to the level above once past it (both
idempotent: ``reminded_at`` / ``escalated_at``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tongxin.notices import services


@db_periodic_task(crontab(minute="*/10"))
@lock_task("notices-sweep")
def sweep_notices() -> dict[str, int]:
    return services.sweep()


@db_task(retries=2, retry_delay=30)
def deliver_batch(notice_id: int, user_ids: list[int], subject: str) -> None:
    """Direct messages of a big send, one batch of accounts (enqueued when the send commits)."""
    services.deliver(notice_id, user_ids, subject)
