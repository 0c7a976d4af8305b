"""``{% case_panels %}``: the panels other apps registered for the case page (tongxin.cases.panels)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from tongxin.cases import panels

register = template.Library()


@register.simple_tag(takes_context=True)
def case_panels(context: Any) -> SafeString:
    flat = context.flatten()
    request = flat.get("request")
    return mark_safe("".join(get_template(name).render(flat, request) for name in panels.registered()))
