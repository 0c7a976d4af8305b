"""``{% dwelling_leaders dwelling %}``: the leaders on the household page (people's template loads it, so people's
view needs no change); the grid page loads its leaders table from ``notices:grid_leaders`` (htmx), keeping the
roster page within its query budget."""

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


def grid_leaders_context(user: Any, grid: Any) -> dict[str, Any]:
    """The leaders of every building of ``grid`` the user may see (two queries)."""
    if not policy.can(user, "notices.view_leaders"):
        return {"rows": None}
    buildings = list(
        Region.objects.visible_to(user)
        .filter(kind=RegionKind.BUILDING, grid=grid)
        .select_related("parent")
        .order_by("parent__name", "path")
    )
    found = leaders.by_building([b.pk for b in buildings])
    rows = []
    for b in buildings:
        pl = found.get(b.pk, leaders.PlaceLeaders())
        entrance = [a for lst in pl.by_entrance.values() for a in lst]
        rows.append((b, pl, entrance))
    return {"rows": rows}
