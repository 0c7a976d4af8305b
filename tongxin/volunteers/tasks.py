"""Background work for participation: a nightly check that every cached balance equals its entries."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from tongxin.ledger.services import check_balances, unbalanced_transactions

logger = logging.getLogger("tongxin.volunteers")


@db_periodic_task(crontab(hour="3", minute="30"))
@lock_task("ledger-check")
def check_ledger_nightly() -> int:
    """Report (never silently fix) accounts whose cache drifted and transactions that do not balance."""
    wrong = check_balances()
    unbalanced = unbalanced_transactions()
    if wrong or unbalanced:
        logger.error(
            "ledger check: %s balances differ, %s transactions unbalanced", len(wrong), len(unbalanced)
        )
    return len(wrong) + len(unbalanced)
