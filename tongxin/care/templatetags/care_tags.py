"""``{% due_visits %}``: the user's due and overdue visits on a home page (empty for users who may not see visits).
The home page lives in a lower app (accounts) that cannot import care; the template asks care instead."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("care/_due_visits.html", takes_context=True)
def due_visits(context: Any) -> dict[str, Any]:
    from tongxin.care.views import due_visits_context

    request = context.get("request")
    return due_visits_context(getattr(request, "user", None))
