"""``{% disputes_for_case case as disputes %}``: the disputes a case was handed over to, for the case page's
mediation panel (``mediation/_case_panel.html``), limited to what the user may see."""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core import policy
from tongxin.mediation.models import Dispute

register = template.Library()


@register.simple_tag(takes_context=True)
def disputes_for_case(context: Any, case: Any) -> Any:
    user = context["request"].user
    return list(
        policy.restrict(Dispute.objects.filter(case=case), user, "mediation.view").order_by("-pk")[:5]
    )
