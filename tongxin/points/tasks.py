"""Background work for points: nightly expiry where a community's policy sets one (idempotent per day)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.points.models import PointsPolicy
from tongxin.points.services import expire_points

logger = logging.getLogger("tongxin.points")


@db_periodic_task(crontab(hour="2", minute="15"))
@lock_task("points-expiry")
def expire_points_nightly() -> int:
    total = 0
    for policy in PointsPolicy.objects.filter(expiry_months__isnull=False).select_related("community"):
        total += expire_points(policy.community)
    logger.info("expired points on %s household accounts", total)
    return total
