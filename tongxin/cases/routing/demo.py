"""Demo data for routing help: a few staff confirmations/corrections and a first trained suggestion model.

Runs after the cases demo (``tongxin.cases`` comes before ``tongxin.cases.routing`` in INSTALLED_APPS), so the model
learns from the demo's resolved and closed cases, as the nightly Huey task would.
"""

from __future__ import annotations

import random
from typing import Any


def load(rng: random.Random, out: Any) -> None:
    from tongxin.cases import suggest
    from tongxin.cases.choices import CaseState
    from tongxin.cases.models import Case
    from tongxin.core.models import User
    from tongxin.regions.models import RoleAssignment

    staff = (
        User.objects.filter(pk__in=RoleAssignment.objects.filter(role="community_staff").values("user_id"))
        .order_by("pk")
        .first()
    )
    decided = list(
        Case.objects.filter(state__in=[CaseState.RESOLVED, CaseState.CLOSED])
        .select_related("category")
        .order_by("pk")[:400]
    )
    # staff looked at the suggestions of some cases: most confirmed, a few corrected
    for case in rng.sample(decided, min(20, len(decided))):
        shown = [s.code for s in suggest.suggest(case.description, fresh=False)]
        suggest.record_feedback(
            text=case.description, suggested=shown, chosen=case.category, user=staff, case=case
        )
    row = suggest.retrain()
    suggest.model_cache.clear()
    if row is None:
        out.write("  routing: too few decided cases to train a suggestion model (keywords answer)\n")
    else:
        out.write(f"  routing: suggestion model v{row.pk} trained on {row.examples} decisions\n")
