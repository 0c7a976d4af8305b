"""The party organisation over the API: members, the organisation tree and co-building units, within scope.

Members are scoped through the resident's dwelling (``PartyMember.objects.visible_to``). Organisations are
visible when the region or grid they serve is; co-building units when one of their communities is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tongxin.core.api import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Ref, paginate
from tongxin.party.choices import CoBuildingKind, MemberType, OrganisationKind
from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Grid, Region

router = Router(tags=["party"])


# --- schemas ----------------------------------------------------------------------------------------------


class MemberOut(Schema):
    id: int
    resident: Ref
    member_type: MemberType
    organisation: Ref | None
    service_post: Ref | None
    employer: Ref | None = Field(
        description="Co-building unit the member works for (dual-registered members)"
    )
    employer_name: str
    joined_on: dt.date | None
    reported_in_on: dt.date | None = Field(description="Date of 双报到 (reporting to the community)")
    active: bool
    grid_id: int | None

    @staticmethod
    def resolve_grid_id(obj: PartyMember) -> int | None:
        dwelling = obj.resident.dwelling
        return dwelling.grid_id if dwelling is not None else None


class MemberPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[MemberOut]


class OrganisationNode(Schema):
    id: int
    kind: OrganisationKind
    name: str
    parent_id: int | None
    region: Ref | None
    grid_id: int | None
    secretary: Ref | None = Field(description="The member leading it (secretary or group leader)")
    member_count: int = Field(description="Active members registered in this unit (not its children)")
    children: list[OrganisationNode]


OrganisationNode.model_rebuild()


class OrganisationTreeOut(Schema):
    count: int = Field(description="Number of visible units in the tree")
    roots: list[OrganisationNode] = Field(description="Visible units whose parent I cannot see (or the top)")


class UnitMemberOut(Schema):
    id: int
    name: str
    member_type: MemberType

    @staticmethod
    def resolve_name(obj: PartyMember) -> str:
        return obj.resident.name


class CoBuildingUnitOut(Schema):
    id: int
    name: str
    kind: CoBuildingKind
    committee_member: bool = Field(description="Member unit of the community party committee (大党委)")
    liaison_name: str
    liaison_phone_masked: str
    communities: list[Ref]
    members: list[UnitMemberOut] = Field(description="Its party members who report to communities I see")

    @staticmethod
    def resolve_communities(obj: CoBuildingUnit) -> list[Any]:
        return list(obj.communities.all())

    @staticmethod
    def resolve_members(obj: CoBuildingUnit) -> list[Any]:
        return list(obj.members.all())


class CoBuildingUnitPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[CoBuildingUnitOut]


# --- scoping helpers --------------------------------------------------------------------------------------


def _visible_communities(user: Any) -> QuerySet[Region]:
    """Communities I see whole (staff) or in part (grid workers, property staff)."""
    visible = Region.objects.visible_to(user)
    return Region.objects.filter(kind=RegionKind.COMMUNITY).filter(
        Q(pk__in=visible.filter(kind=RegionKind.COMMUNITY).values("pk"))
        | Q(pk__in=Dwelling.objects.visible_to(user).values("community_id"))
    )


def _visible_organisations(user: Any) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        Q(region__in=Region.objects.visible_to(user)) | Q(grid__in=Grid.objects.visible_to(user))
    )


def _members(user: Any) -> QuerySet[PartyMember]:
    return PartyMember.objects.visible_to(user).select_related(
        "resident__dwelling", "organisation", "service_post", "employer"
    )


# --- endpoints --------------------------------------------------------------------------------------------


@router.get("/members/", response=MemberPage, summary="Party members living in my scope")
def list_members(
    request: HttpRequest,
    member_type: MemberType | None = None,
    organisation: int | None = Query(None, description="This unit and the units under it"),
    service_post: int | None = None,
    active: bool = Query(True, description="Members on the roll (false: those who left)"),
    q: str = Query("", max_length=50, description="Beginning of the name"),
    page: int = Query(1, ge=1),
    page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"at most {MAX_PAGE_SIZE}"),
) -> dict:
    qs = _members(request.user).filter(active=active)
    if member_type:
        qs = qs.filter(member_type=member_type)
    if organisation is not None:
        path = Organisation.objects.filter(pk=organisation).values_list("path", flat=True).first()
        qs = qs.filter(organisation__path__startswith=path) if path else qs.none()
    if service_post is not None:
        qs = qs.filter(service_post_id=service_post)
    if q.strip():
        qs = qs.filter(resident__name__startswith=q.strip())
    return paginate(qs.order_by("id"), page, page_size)


@router.get(
    "/organisations/", response=OrganisationTreeOut, summary="The party organisation tree (what I see)"
)
def organisation_tree(request: HttpRequest) -> dict:
    rows = list(
        _visible_organisations(request.user)
        .select_related("region", "secretary__resident")
        .annotate(member_count=Count("members", filter=Q(members__active=True)))
        .order_by("path")
    )
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for org in rows:  # ordered by path: a parent always comes before its children
        secretary = org.secretary
        node = {
            "id": org.pk,
            "kind": org.kind,
            "name": org.name,
            "parent_id": org.parent_id,
            "region": org.region,
            "grid_id": org.grid_id,
            "secretary": {"id": secretary.pk, "name": secretary.resident.name} if secretary else None,
            "member_count": org.member_count,  # type: ignore[attr-defined]
            "children": [],
        }
        nodes[org.pk] = node
        parent = nodes.get(org.parent_id) if org.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    return {"count": len(rows), "roots": roots}


@router.get("/co-building-units/", response=CoBuildingUnitPage, summary="Co-building units of my communities")
def list_co_building_units(
    request: HttpRequest,
    kind: CoBuildingKind | None = None,
    committee_member: bool | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description=f"at most {MAX_PAGE_SIZE}"),
) -> dict:
    communities = _visible_communities(request.user)
    members = PartyMember.objects.visible_to(request.user).select_related("resident").order_by("id")
    qs = (
        CoBuildingUnit.objects.filter(
            pk__in=CoBuildingUnit.objects.filter(communities__in=communities).values("pk")
        )
        .prefetch_related(
            Prefetch("communities", queryset=Region.objects.order_by("path")),
            Prefetch("members", queryset=members),
        )
        .order_by("name", "id")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if committee_member is not None:
        qs = qs.filter(committee_member=committee_member)
    return paginate(qs, page, page_size)
