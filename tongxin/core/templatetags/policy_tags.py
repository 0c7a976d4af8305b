"""``{% can "cases.resolve" case as may_resolve %}``: templates ask the policy, so a button is shown exactly when
the action would be allowed."""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core import policy

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context: Any, action: str, obj: Any = None) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None) if request is not None else context.get("user")
    return policy.can(user, action, obj)
