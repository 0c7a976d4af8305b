"""Panels that apps above cases add to the staff case page, without cases importing them.

An app registers a template in its ``AppConfig.ready`` (``panels.register("sensors/_case_panel.html")``); the case
page renders every registered template with the page's context (``case``, ``request``, ``user``) through
``{% load case_panels %}{% case_panels %}``. A panel decides for itself, through the policy, whether it shows
anything for this user and case, and renders nothing otherwise.
"""

from __future__ import annotations

_PANELS: list[str] = []


def register(template_name: str) -> None:
    if template_name not in _PANELS:
        _PANELS.append(template_name)


def registered() -> tuple[str, ...]:
    return tuple(_PANELS)
