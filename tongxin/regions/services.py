"""Read helpers for navigating the region tree within a user's scope.

Users see the subtrees they are assigned to; a grid worker or property clerk sees buildings and entrances, and
the estates, community and subdistrict above them are shown as the way there (their dwellings stay filtered by
``Dwelling.objects.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Grid, Region
from tongxin.regions.scoping import scope_for

# The tree page stops at estates so it stays small for a whole subdistrict; a node page shows the rest.
TREE_KINDS = (
    RegionKind.CITY,
    RegionKind.DISTRICT,
    RegionKind.SUBDISTRICT,
    RegionKind.COMMUNITY,
    RegionKind.ESTATE,
)


@dataclass
class TreeNode:
    region: Region
    children: list[TreeNode] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)


def _ids_in_paths(paths: Any) -> set[int]:
    return {int(p) for path in paths for p in path.strip("/").split("/") if p}


def reachable(user: Any) -> QuerySet[Region]:
    """Regions the user may open: those visible to them and those above something visible (one query)."""
    visible = Region.objects.visible_to(user)
    return Region.objects.filter(Exists(visible.filter(path__startswith=OuterRef("path"))))


def may_open(user: Any, region: Region) -> bool:
    return Region.objects.visible_to(user).filter(path__startswith=region.path).exists()


def tree(user: Any) -> list[TreeNode]:
    """Subdistrict → community → estate nodes the user may open, with each community's visible grids."""
    scope = scope_for(user)
    if scope.is_empty:
        return []
    paths = (
        Region.objects.visible_to(user)
        .filter(kind__in=[*TREE_KINDS, RegionKind.BUILDING])
        .values_list("path", flat=True)
    )
    ids = _ids_in_paths(paths)
    regions = list(Region.objects.filter(pk__in=sorted(ids), kind__in=TREE_KINDS).order_by("path"))
    nodes = {r.pk: TreeNode(r) for r in regions}
    roots: list[TreeNode] = []
    for r in regions:
        parent = nodes.get(r.parent_id) if r.parent_id else None
        (parent.children if parent else roots).append(nodes[r.pk])
    for g in Grid.objects.visible_to(user).order_by("code"):
        if g.community_id in nodes:
            nodes[g.community_id].grids.append(g)
    return roots


def visible_community_ids(user: Any) -> set[int]:
    """Communities the user works in (any node inside a community counts), for co-building units and posts."""
    scope = scope_for(user)
    if scope.everything:
        return set(Region.objects.filter(kind=RegionKind.COMMUNITY).values_list("pk", flat=True))
    ids: set[int] = set()
    for kind, region_ids in scope.regions.items():
        if kind == RegionKind.SUBDISTRICT:
            ids |= set(Region.objects.filter(parent_id__in=sorted(region_ids)).values_list("pk", flat=True))
        elif kind == RegionKind.COMMUNITY:
            ids |= set(region_ids)
        else:
            ids |= _communities_of(region_ids)
    if scope.grid_ids:
        ids |= set(Grid.objects.filter(pk__in=sorted(scope.grid_ids)).values_list("community_id", flat=True))
    if scope.estate_ids:
        ids |= _communities_of(scope.estate_ids)
    return ids


def _communities_of(region_ids: Any) -> set[int]:
    """The communities above nodes below the community level (one query; any number of levels above)."""
    above = _ids_in_paths(Region.objects.filter(pk__in=sorted(region_ids)).values_list("path", flat=True))
    return set(
        Region.objects.filter(pk__in=sorted(above), kind=RegionKind.COMMUNITY).values_list("pk", flat=True)
    )


def visible_grid_ids(user: Any) -> QuerySet[Grid, dict[str, Any]]:
    return Grid.objects.visible_to(user).values("pk")
