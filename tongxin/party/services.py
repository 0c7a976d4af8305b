"""Read helpers for the party pages, scoped like everything else.

A user sees the party units serving places or grids in their scope, with the units below them; the units above
are shown as the way there. Members are people, so they go through ``PartyMember.objects.visible_to``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost
from tongxin.regions.models import Grid, Region
from tongxin.regions.scoping import NOTHING, scope_for
from tongxin.regions.services import visible_community_ids


def _top_paths(paths: list[str]) -> list[str]:
    """Drop paths lying under another path of the list, so the filter stays short for a subdistrict admin."""
    top: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(t) for t in top):
            top.append(p)
    return top


def visible_organisations(user: Any) -> QuerySet[Organisation]:
    """Units serving a region or grid in the user's scope, and every unit below them."""
    scope = scope_for(user)
    if scope.everything:
        return Organisation.objects.all()
    own = Organisation.objects.filter(
        Q(region__in=Region.objects.visible_to(user).values("pk"))
        | Q(grid__in=Grid.objects.visible_to(user).values("pk"))
    )
    q = Q()
    for path in _top_paths(list(own.values_list("path", flat=True))):
        q |= Q(path__startswith=path)
    return Organisation.objects.filter(q if q else NOTHING)


@dataclass
class OrgNode:
    org: Organisation
    visible: bool
    children: list[OrgNode] = field(default_factory=list)
    total: int = 0


def organisation_tree(user: Any) -> list[OrgNode]:
    """The visible units with their member counts, under the (context-only) units above them."""
    visible = list(
        visible_organisations(user)
        .select_related("region", "grid", "secretary__resident")
        .annotate(member_count=Count("members", filter=Q(members__active=True)))
        .order_by("path")
    )
    visible_ids = {o.pk for o in visible}
    above_ids = {int(p) for o in visible for p in o.path.strip("/").split("/") if p} - visible_ids
    above = list(Organisation.objects.filter(pk__in=sorted(above_ids)).order_by("path"))
    nodes = {o.pk: OrgNode(o, o.pk in visible_ids) for o in sorted([*above, *visible], key=lambda o: o.path)}
    roots: list[OrgNode] = []
    for node in sorted(
        nodes.values(), key=lambda n: n.org.pk
    ):  # creation order, not the string order of paths
        parent = nodes.get(node.org.parent_id) if node.org.parent_id else None
        (parent.children if parent else roots).append(node)
    for node in roots:
        _total(node)
    return roots


def _total(node: OrgNode) -> int:
    """Members of the unit and every unit below it (as ``node.total``)."""
    own = getattr(node.org, "member_count", 0) if node.visible else 0
    node.total = own + sum(_total(child) for child in node.children)
    return node.total


def visible_service_posts(user: Any) -> QuerySet[ServicePost]:
    return ServicePost.objects.filter(community_id__in=sorted(visible_community_ids(user))).order_by(
        "community_id", "name"
    )


def visible_co_building_units(user: Any) -> QuerySet[CoBuildingUnit]:
    """Units that adopt a community the user works in, with how many of their members live in the scope."""
    scope = scope_for(user)
    communities = sorted(visible_community_ids(user))
    units = (
        CoBuildingUnit.objects.all()
        if scope.everything
        else CoBuildingUnit.objects.filter(communities__in=communities).distinct()
    )
    return units.annotate(
        member_count=Count(
            "members",
            filter=scope.q("members__resident__dwelling__") & Q(members__active=True),
            distinct=True,
        )
    ).order_by("-committee_member", "name")


def member_list(
    user: Any,
    *,
    member_type: str = "",
    organisation: Organisation | None = None,
    service_post_id: int | None = None,
    employer_id: int | None = None,
    q: str = "",
) -> QuerySet[PartyMember]:
    qs = PartyMember.objects.visible_to(user).filter(active=True)
    if member_type:
        qs = qs.filter(member_type=member_type)
    if organisation is not None:
        qs = qs.filter(organisation__path__startswith=organisation.path)
    if service_post_id:
        qs = qs.filter(service_post_id=service_post_id)
    if employer_id:
        qs = qs.filter(employer_id=employer_id)
    if q:
        qs = qs.filter(resident__name__startswith=q.strip())
    return qs.select_related(
        "resident__dwelling__estate",
        "resident__dwelling__building",
        "resident__dwelling__entrance",
        "organisation",
        "service_post",
        "employer",
    ).order_by("pk")
