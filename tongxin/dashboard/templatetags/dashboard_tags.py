from __future__ import annotations

from django import template

from tongxin.dashboard.data import pct as _pct

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.8234 → '82.3%', None → '—' (a rate with an empty denominator)."""
    return _pct(value)
