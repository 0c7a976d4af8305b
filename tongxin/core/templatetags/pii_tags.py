"""``{% load pii_tags %}{{ text|mask_pii }}``: phones and id numbers typed into free text, masked however they are
written (:func:`tongxin.core.pii.mask_in_text`) — for staff pages that show what residents wrote."""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core.pii import mask_in_text

register = template.Library()


@register.filter
def mask_pii(value: Any) -> str:
    return mask_in_text(str(value)) if value not in (None, "") else ""
