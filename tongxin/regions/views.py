"""Region tree navigation for staff: subdistrict → community → estate → building → entrance, and grids.

A node page lists its children and its dwellings (with the current head of household) inside the user's scope;
regions the user cannot reach answer 404.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tongxin.core import policy
from tongxin.regions import services
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Region

PAGE_SIZE = 50


def _add_households(dwellings: list[Any]) -> None:
    """Set ``head_name`` and ``resident_count`` on one page of dwellings with two queries.

    Done for the page only, after paginating: correlated subqueries in the paginated query would be evaluated
    for every dwelling of the region before sorting.
    """
    # The region page reads households by model name rather than importing the people app (which sits above).
    household_model = apps.get_model("people", "Household")
    resident_model = apps.get_model("people", "Resident")
    ids = [d.pk for d in dwellings]
    heads = dict(
        household_model.objects.filter(dwelling_id__in=ids, ended_on__isnull=True)
        .order_by("dwelling_id", "started_on", "pk")
        .values_list("dwelling_id", "head__name")
    )
    counts = dict(
        resident_model.objects.filter(dwelling_id__in=ids)
        .order_by()
        .values("dwelling_id")
        .annotate(n=Count("pk", filter=Q(status="active")))
        .values_list("dwelling_id", "n")
    )
    for d in dwellings:
        d.head_name = heads.get(d.pk) or ""
        d.resident_count = counts.get(d.pk, 0)


@policy.page("regions.view_tree")
def region_tree(request: HttpRequest) -> HttpResponse:
    return render(request, "regions/tree.html", {"roots": services.tree(request.user)})


@policy.page("regions.view_node", model="regions.Region")
def region_node(request: HttpRequest, pk: int) -> HttpResponse:
    region = policy.get_or_deny(Region.objects.all(), request.user, "regions.view_node", pk=pk)
    # The regions above are reachable by definition; fetch them with the reachable children in one query.
    above_ids = [i for i in region.ancestor_ids() if i != region.pk]
    around = list(
        services.reachable(request.user)
        .filter(Q(pk__in=above_ids) | Q(parent=region))
        .order_by("depth", "number", "name", "pk")
    )
    ancestors = [r for r in around if r.pk in above_ids]
    children = [r for r in around if r.parent_id == region.pk]
    dwellings = (
        Dwelling.objects.visible_to(request.user)
        .filter(**{f"{region.kind}_id": region.pk})
        .select_related("estate", "building", "entrance")
        .order_by("estate_id", "building_id", "entrance_id", "number")
    )
    page = Paginator(dwellings, PAGE_SIZE).get_page(request.GET.get("page"))
    # Heads of household are registry data: property staff see the dwellings only.
    show_households = policy.can(request.user, "regions.view_household_heads")
    if show_households:
        _add_households(list(page.object_list))
    grids = []
    if region.kind == RegionKind.COMMUNITY:
        grids = list(region.grids.filter(pk__in=services.visible_grid_ids(request.user)).order_by("code"))
    return render(
        request,
        "regions/node.html",
        {
            "region": region,
            "ancestors": ancestors,
            "children": children,
            "grids": grids,
            "page": page,
            "show_households": show_households,
        },
    )
