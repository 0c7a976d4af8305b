"""``{% dwelling_leaders dwelling %}`` and ``{% grid_leaders grid %}``: the leaders on the household page and the
grid roster (people's templates load these, so people's views need no change)."""

from __future__ import annotations

from typing import Any

from django import template

from tongxin.core import policy
from tongxin.notices import leaders
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Region

register = template.Library()


def _user(context: Any) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("notices/_dwelling_leaders.html", takes_context=True)
def dwelling_leaders(context: Any, dwelling: Any) -> dict[str, Any]:
    user = _user(context)
    if not policy.can(user, "notices.view_leaders", dwelling):
        return {"leaders": None}
    found = leaders.for_dwelling(dwelling)
    return {"leaders": [(a, leaders.leader_label(a)) for a in found], "building_id": dwelling.building_id}


@register.inclusion_tag("notices/_grid_leaders.html", takes_context=True)
def grid_leaders(context: Any, grid: Any) -> dict[str, Any]:
    user = _user(context)
    if not policy.can(user, "notices.view_leaders"):
        return {"rows": None}
    buildings = list(
        Region.objects.visible_to(user).filter(kind=RegionKind.BUILDING, grid=grid).select_related("parent")
        .order_by("parent__name", "path")
    )  # fmt: skip
    found = leaders.by_building([b.pk for b in buildings])
    rows = []
    for b in buildings:
        pl = found.get(b.pk, leaders.PlaceLeaders())
        entrance = [a for lst in pl.by_entrance.values() for a in lst]
        rows.append((b, pl, entrance))
    return {"rows": rows}
