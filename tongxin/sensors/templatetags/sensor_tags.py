"""Snippets other pages include (each asks the policy itself and renders nothing for a user who may not see it):

* the case page:        ``{% load sensor_tags %}{% sensor_case_chart case %}`` — the reading history of a sensor case
* the dashboard:        ``{% load sensor_tags %}{% sensor_tiles %}`` — devices online/offline, open alerts per estate
* the grid map:         ``{% load sensor_tags %}{% sensor_map_markers %}`` — device markers (after map.js)
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from tongxin.core import policy

register = template.Library()


def _user(context: Any) -> Any:
    request = context.get("request")
    return getattr(request, "user", None) if request is not None else context.get("user")


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.inclusion_tag("sensors/_case_readings.html", takes_context=True)
def sensor_case_chart(context: Any, case: Any) -> dict[str, Any]:
    from tongxin.sensors.models import Alert

    user = _user(context)
    if case is None or not policy.can(user, "sensors.view_case_readings", case):
        return {"show": False}
    alert = Alert.objects.select_related("device").filter(case_id=case.pk).order_by("-opened_at").first()
    if alert is None:
        return {"show": False}
    return {"show": True, "alert": alert, "url": reverse("sensors:case_readings", args=[case.pk])}


@register.inclusion_tag("sensors/_tiles.html", takes_context=True)
def sensor_tiles(context: Any) -> dict[str, Any]:
    from tongxin.sensors import overview
    from tongxin.sensors.models import Alert, Device

    user = _user(context)
    if not policy.can(user, "sensors.view_overview"):
        return {"show": False}
    devices = policy.restrict(Device.objects.all(), user, "sensors.view_device")
    alerts = policy.restrict(Alert.objects.all(), user, "sensors.view_alert")
    return {
        "show": True,
        "counts": overview.counts(devices),
        "estates": overview.open_alerts_by_estate(alerts)[:10],
    }


@register.inclusion_tag("sensors/_map_markers.html", takes_context=True)
def sensor_map_markers(context: Any) -> dict[str, Any]:
    if not policy.can(_user(context), "sensors.view_overview"):
        return {"show": False}
    return {"show": True, "url": reverse("sensors:markers")}
