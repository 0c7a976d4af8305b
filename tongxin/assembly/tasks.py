"""The vote sweep (every 10 minutes): close the open votes past their deadline, tally them and move their matters
on. Idempotent (only open votes are closed, each under its row lock)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.assembly import services


@db_periodic_task(crontab(minute="*/10"))
@lock_task("assembly-close-votes")
def close_due_votes() -> int:
    return services.close_due_votes()
