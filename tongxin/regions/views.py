"""Region tree navigation for staff: subdistrict → community → estate → building → entrance, and grids.

A node page lists its children and its dwellings (with the current head of household) inside the user's scope;
regions the user cannot reach answer 404.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from tongxin.regions import services
from tongxin.regions.choices import REGISTRY_ROLES, RegionKind
from tongxin.regions.models import Dwelling
from tongxin.regions.scoping import scope_for

PAGE_SIZE = 50


def _require_registry(request: HttpRequest) -> None:
    if not scope_for(request.user).has_role(*REGISTRY_ROLES):
        raise Http404


@login_required
def region_tree(request: HttpRequest) -> HttpResponse:
    _require_registry(request)
    return render(request, "regions/tree.html", {"roots": services.tree(request.user)})


@login_required
def region_node(request: HttpRequest, pk: int) -> HttpResponse:
    _require_registry(request)
    region = get_object_or_404(services.reachable(request.user), pk=pk)
    children = services.reachable(request.user).filter(parent=region).order_by("number", "name", "pk")
    dwellings = Dwelling.objects.visible_to(request.user).filter(**{f"{region.kind}_id": region.pk})
    # The dwelling list sits on the region page, so it reads households by name rather than importing people.
    household_model = apps.get_model("people", "Household")
    current = household_model.objects.filter(dwelling=OuterRef("pk"), ended_on__isnull=True).order_by(
        "-started_on"
    )
    dwellings = (
        dwellings.select_related("estate", "building", "entrance")
        .annotate(
            head_name=Subquery(current.values("head__name")[:1]),
            resident_count=Count("residents", filter=Q(residents__status="active")),
        )
        .order_by("estate_id", "building_id", "entrance_id", "number")
    )
    page = Paginator(dwellings, PAGE_SIZE).get_page(request.GET.get("page"))
    grids = []
    if region.kind == RegionKind.COMMUNITY:
        grids = list(region.grids.filter(pk__in=services.visible_grid_ids(request.user)).order_by("code"))
    return render(
        request,
        "regions/node.html",
        {
            "region": region,
            "ancestors": region.ancestors().exclude(pk=region.pk),
            "children": children,
            "grids": grids,
            "page": page,
        },
    )
