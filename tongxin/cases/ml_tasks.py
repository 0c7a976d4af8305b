"""Background retraining of the category-suggestion model (Huey).

Runs nightly and after every ``CASES_SUGGEST_RETRAIN_EVERY`` staff corrections (see :func:`maybe_retrain`).
Training reads at most 200,000 recent decisions, so it stays within a minute even with millions of cases.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from tongxin.cases import suggest


@db_task()
def retrain_suggestion_model() -> int | None:
    """Train a new model version from the community's past decisions; returns its id (None: too little data)."""
    with lock_task("cases-suggest-retrain"):
        row = suggest.retrain()
        return row.pk if row is not None else None


@db_periodic_task(crontab(minute="30", hour="2"))
def nightly_retrain() -> None:
    retrain_suggestion_model.call_local()


def maybe_retrain(feedback: Any) -> None:
    """Queue a retrain every N corrections, so staff corrections show up within the day."""
    every = int(getattr(settings, "CASES_SUGGEST_RETRAIN_EVERY", 50))
    if feedback.corrected and every > 0 and feedback.pk % every == 0:
        retrain_suggestion_model()
