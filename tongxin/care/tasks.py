"""The daily care run (00:20): schedule every active visit plan, then turn yesterday's missed visits overdue and
tell their grid workers. Idempotent (open visits are unique per plan and recipient; only ``due`` turns overdue)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.care import services


@db_periodic_task(crontab(hour="0", minute="20"))
@lock_task("care-daily")
def care_daily() -> dict[str, int]:
    return services.daily()
