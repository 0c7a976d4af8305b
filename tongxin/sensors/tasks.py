"""Background work for sensors (Huey): the silence sweep every minute, care signals every hour, meter months and
readings partitions nightly. Each task is idempotent."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.sensors import partitions, services

logger = logging.getLogger("tongxin.sensors")


@db_periodic_task(crontab(minute="*"))
@lock_task("sensors-silence")
def silence_sweep() -> dict[str, int]:
    """Devices that stopped reporting go offline; those with a silence threshold raise an alert."""
    result = services.sweep_silence()
    if any(result.values()):
        logger.info("sensors silence sweep: %s", result)
    return result


@db_periodic_task(crontab(minute="7"))
@lock_task("sensors-care")
def care_signals() -> int:
    """Elderly people living alone whose water meter has not moved for 24 hours."""
    return len(services.detect_no_water_use())


@db_periodic_task(crontab(hour="1", minute="20"))
@lock_task("sensors-meter-months")
def meter_months() -> int:
    """This month so far, and last month once more (late readings), for every meter."""
    today = timezone.localdate()
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    return services.close_meter_months(last_month) + services.close_meter_months(this_month)


@db_periodic_task(crontab(hour="3", minute="5"))
@lock_task("sensors-partitions")
def maintain_partitions() -> dict[str, list[str]]:
    """Keep three months of readings partitions ahead; drop those past the retention (if one is set)."""
    return {
        "created": partitions.ensure(),
        "dropped": partitions.drop_older_than(settings.SENSORS_RETENTION_MONTHS),
    }
