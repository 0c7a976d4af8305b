"""Places over the API: the region tree, grids, dwellings and address resolution, all within the caller's scope.

Every queryset goes through ``.visible_to(request.user)``; anything outside the scope answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from tongxin.core import policy
from tongxin.core.api import ERRORS, ObjectId, Paged, PageNumber, PageSize, Ref, paginate
from tongxin.regions.address import resolve_address
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Grid, Region

router = Router(tags=["regions"])


# --- schemas ----------------------------------------------------------------------------------------------


class RegionOut(Schema):
    id: int
    kind: RegionKind
    name: str
    number: str
    code: str
    parent_id: int | None
    depth: int
    grid_id: int | None
    latitude: float | None
    longitude: float | None


class RegionDetailOut(RegionOut):
    ancestors: list[Ref] = Field(description="From the subdistrict down to the parent (only those visible)")
    children: list[Ref] = Field(description="Visible child nodes")


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj)


class BuildingRef(Schema):
    id: int
    name: str
    estate_id: int | None = Field(alias="parent_id")


class GridOut(Schema):
    id: int
    code: str = Field(description="15 digits: 6 admin division + 3 subdistrict + 3 community + 3 sequence")
    name: str
    community: Ref
    chief: UserRef | None
    workers: list[UserRef]
    buildings: list[BuildingRef]

    @staticmethod
    def resolve_workers(obj: Grid) -> list[Any]:
        return list(obj.workers.all())

    @staticmethod
    def resolve_buildings(obj: Grid) -> list[Any]:
        return list(obj.regions.all())


class GridDetailOut(GridOut):
    polygon: dict | None = Field(description="GeoJSON geometry of the grid, if drawn")


class DwellingOut(Schema):
    id: int
    number: str
    floor: int | None
    floor_area: float | None = Field(description="Floor area in m²")
    address: str
    entrance_id: int
    building_id: int
    estate_id: int
    community_id: int
    subdistrict_id: int
    grid_id: int


class ResolvedAddressOut(Schema):
    level: str = Field(description="The most precise level found: estate, building, entrance or dwelling")
    estate: Ref
    building: Ref | None
    entrance: Ref | None
    dwelling: DwellingOut | None


# --- helpers ----------------------------------------------------------------------------------------------


def _dwellings(request: HttpRequest) -> QuerySet[Dwelling]:
    return policy.restrict(Dwelling.objects.all(), request.user, "regions.list_dwellings").select_related(
        "estate", "building", "entrance"
    )


def _grids(request: HttpRequest) -> QuerySet[Grid]:
    buildings = Region.objects.filter(kind=RegionKind.BUILDING).order_by("path")
    return (
        policy.restrict(Grid.objects.all(), request.user, "regions.view_grid")
        .select_related("community", "chief")
        .prefetch_related("workers", Prefetch("regions", queryset=buildings))
        .order_by("code")
    )


# --- endpoints --------------------------------------------------------------------------------------------


@router.get("", response={200: Paged[RegionOut], **ERRORS}, summary="Region tree nodes visible to me")
@policy.operation("regions.view_tree")
def list_regions(
    request: HttpRequest,
    kind: RegionKind | None = None,
    parent: int | None = Query(None, description="Only the children of this node"),
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    qs = Region.objects.visible_to(request.user).order_by("path")
    if kind:
        qs = qs.filter(kind=kind)
    if parent is not None:
        qs = qs.filter(parent_id=parent)
    return paginate(qs, page, page_size)


@router.get("/{int:region_id}", response={200: RegionDetailOut, **ERRORS}, summary="One region node")
@policy.operation("regions.view_node", model="regions.Region")
def get_region(request: HttpRequest, region_id: int) -> Any:
    visible = Region.objects.visible_to(request.user)
    region = policy.get_or_deny(Region.objects.all(), request.user, "regions.view_node", pk=region_id)
    out = RegionOut.model_validate(region).model_dump()
    out["ancestors"] = list(visible.filter(pk__in=region.ancestor_ids()[:-1]).order_by("depth"))
    out["children"] = list(visible.filter(parent=region).order_by("path"))
    return out


@router.get("/grids/", response={200: Paged[GridOut], **ERRORS}, summary="Grids visible to me")
@policy.operation("regions.view_grid")
def list_grids(
    request: HttpRequest,
    community: int | None = None,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    qs = _grids(request)
    if community is not None:
        qs = qs.filter(community_id=community)
    return paginate(qs, page, page_size)


@router.get(
    "/grids/{int:grid_id}",
    response={200: GridDetailOut, **ERRORS},
    summary="One grid: code, chief, workers, buildings, polygon",
)
@policy.operation("regions.view_grid", model="regions.Grid")
def get_grid(request: HttpRequest, grid_id: int) -> Any:
    grid = _grids(request).filter(pk=grid_id).first()
    if grid is None:
        raise Http404
    return grid


@router.get("/dwellings/", response={200: Paged[DwellingOut], **ERRORS}, summary="Dwellings visible to me")
@policy.operation("regions.list_dwellings")
def list_dwellings(
    request: HttpRequest,
    building: int | None = ObjectId,
    entrance: int | None = ObjectId,
    estate: int | None = ObjectId,
    grid: int | None = ObjectId,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    qs = _dwellings(request)
    for name, value in (("building", building), ("entrance", entrance), ("estate", estate), ("grid", grid)):
        if value is not None:
            qs = qs.filter(**{f"{name}_id": value})
    return paginate(qs.order_by("entrance_id", "number", "id"), page, page_size)


@router.get("/dwellings/{int:dwelling_id}", response={200: DwellingOut, **ERRORS}, summary="One dwelling")
@policy.operation("regions.list_dwellings", model="regions.Dwelling")
def get_dwelling(request: HttpRequest, dwelling_id: int) -> Any:
    dwelling = _dwellings(request).filter(pk=dwelling_id).first()
    if dwelling is None:
        raise Http404
    return dwelling


@router.get(
    "/resolve",
    response={200: ResolvedAddressOut, **ERRORS},
    summary="Resolve address text such as 锦绣江山3栋2单元501",
)
@policy.operation("regions.resolve_address")
def resolve(
    request: HttpRequest,
    address: str = Query(..., min_length=1, max_length=200, description="e.g. 锦绣江山3栋2单元501"),
) -> Any:
    """The most precise place the text names, if I may see it; otherwise (or if nothing matches) 404."""
    visible = Region.objects.visible_to(request.user)
    # A grid worker sees the buildings of their grid but not the whole estate: the estates they can search
    # are those they see plus those holding a building they see.
    estates = Region.objects.filter(kind=RegionKind.ESTATE).filter(
        Q(pk__in=visible.filter(kind=RegionKind.ESTATE).values("pk"))
        | Q(pk__in=visible.filter(kind=RegionKind.BUILDING).values("parent_id"))
    )
    place = resolve_address(address, estates=estates)
    if not place.found:
        raise Http404
    dwelling = None
    if place.dwelling is not None:
        dwelling = _dwellings(request).filter(pk=place.dwelling.pk).first()  # type: ignore[attr-defined]
        if dwelling is None:
            raise Http404
    else:
        most_precise = place.entrance or place.building
        if most_precise is not None and not visible.filter(pk=most_precise.pk).exists():  # type: ignore[attr-defined]
            raise Http404
    return {
        "level": place.level,
        "estate": place.estate,
        "building": place.building,
        "entrance": place.entrance,
        "dwelling": dwelling,
    }
