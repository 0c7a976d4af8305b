"""The party organisation over the API: members, the organisation tree and co-building units, within scope.

Every operation declares its action (``party/policy.py``): the registry roles (subdistrict admin, community staff,
grid workers) see members living in their scope, the organisations serving it and the co-building units of their
communities; every other role gets 404. Lists are the one envelope of ``tongxin.core.api``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, Ref, paginate
from tongxin.party import services
from tongxin.party.choices import CoBuildingKind, MemberType, OrganisationKind
from tongxin.party.models import CoBuildingUnit, JointMeeting, Organisation, PartyMember
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids

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
    community_id: int | None = Field(
        description="Community the member reported in to (下沉 cadres living elsewhere)"
    )
    sinking_cadre: bool
    post_title: str

    @staticmethod
    def resolve_grid_id(obj: PartyMember) -> int | None:
        dwelling = obj.resident.dwelling
        return dwelling.grid_id if dwelling is not None else None


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


# --- scoping helpers --------------------------------------------------------------------------------------


def _members(user: Any) -> QuerySet[PartyMember]:
    return policy.restrict(PartyMember.objects.all(), user, "party.list_members").select_related(
        "resident__dwelling", "organisation", "service_post", "employer"
    )


# --- endpoints --------------------------------------------------------------------------------------------


@router.get(
    "/members/", response={200: Paged[MemberOut], **ERRORS}, summary="Party members living in my scope"
)
@policy.operation("party.list_members")
def list_members(
    request: HttpRequest,
    member_type: MemberType | None = None,
    organisation: int | None = Query(None, description="This unit and the units under it"),
    service_post: int | None = None,
    active: bool = Query(True, description="Members on the roll (false: those who left)"),
    q: str = Query("", max_length=50, description="Beginning of the name"),
    page: int = PageNumber,
    page_size: int = PageSize,
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
    "/organisations/",
    response={200: OrganisationTreeOut, **ERRORS},
    summary="The party organisation tree (what I see)",
)
@policy.operation("party.view_organisations")
def organisation_tree(request: HttpRequest) -> dict:
    rows = list(
        policy.restrict(Organisation.objects.all(), request.user, "party.view_organisations")
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


@router.get(
    "/co-building-units/",
    response={200: Paged[CoBuildingUnitOut], **ERRORS},
    summary="Co-building units of my communities",
)
@policy.operation("party.view_co_building_units")
def list_co_building_units(
    request: HttpRequest,
    kind: CoBuildingKind | None = None,
    committee_member: bool | None = None,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    members = policy.restrict(PartyMember.objects.all(), request.user, "party.list_members")
    qs = (
        policy.restrict(CoBuildingUnit.objects.all(), request.user, "party.view_co_building_units")
        .prefetch_related(
            Prefetch("communities", queryset=Region.objects.order_by("path")),
            Prefetch("members", queryset=members.select_related("resident").order_by("id")),
        )
        .order_by("name", "id")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if committee_member is not None:
        qs = qs.filter(committee_member=committee_member)
    return paginate(qs, page, page_size)


# --- writes: 双报到, a unit's report-in, joint meetings ---------------------------------------------------------


class RegisterIn(Schema):
    community_id: int = Field(description="Community the member reports in to")
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field("", max_length=18, description="A resident of the registry is found by it")
    phone: str = Field("", max_length=20)
    member_type: MemberType = MemberType.DUAL_REGISTERED
    sinking_cadre: bool = Field(False, description="下沉 cadre (may live outside the community)")
    employer_id: int | None = Field(None, description="Co-building unit he works for")
    employer_name: str = Field("", max_length=100)
    post_title: str = Field("", max_length=50)
    skills: str = Field("", max_length=200)
    reported_in_on: dt.date | None = None


class ReportInIn(Schema):
    community_id: int
    resources: str = ""
    needs: str = ""
    projects: str = ""


class ReportInOut(Schema):
    id: int
    unit_id: int
    community_id: int
    reported_on: dt.date
    resources: str
    needs: str
    projects: str


class MeetingIn(Schema):
    community_id: int
    held_on: dt.date
    topic: str = Field(min_length=1, max_length=200)
    unit_ids: list[int] = Field(min_length=1)
    decisions: str = ""


class MeetingOut(Schema):
    id: int
    community_id: int
    held_on: dt.date
    topic: str
    decisions: str
    unit_ids: list[int]

    @staticmethod
    def resolve_unit_ids(obj: JointMeeting) -> list[int]:
        return sorted(u.pk for u in obj.units.all())


def _community(user: Any, community_id: int, field: str = "community_id") -> Region:
    community = Region.objects.filter(pk=community_id, pk__in=community_ids(user)).first()
    if community is None:
        raise ApiError(422, "not_found", _("社区不存在或不在您的管辖范围内"), field)
    return community


@router.post("/members/", response={201: MemberOut, **ERRORS}, summary="Record a member's 双报到")
@policy.operation("party.register_member")
def register_member(request: HttpRequest, payload: RegisterIn) -> Any:
    community = _community(request.user, payload.community_id)
    employer = None
    if payload.employer_id is not None:
        employer = CoBuildingUnit.objects.filter(pk=payload.employer_id).first()
        if employer is None:
            raise ApiError(422, "not_found", _("单位不存在"), "employer_id")
    member = services.register_member(
        request.user,
        community=community,
        member_type=payload.member_type,
        name=payload.name,
        id_number=payload.id_number,
        phone=payload.phone,
        skills=payload.skills,
        employer=employer,
        employer_name=payload.employer_name,
        post_title=payload.post_title,
        sinking_cadre=payload.sinking_cadre,
        reported_in_on=payload.reported_in_on,
    )
    return Status(201, _members(request.user).get(pk=member.pk))


@router.post(
    "/co-building-units/{int:unit_id}/report-in",
    response={200: ReportInOut, **ERRORS},
    summary="A unit's 报到 with its resources, needs and projects",
)
@policy.operation("party.view_co_building_units", model="party.CoBuildingUnit")
def unit_report_in(request: HttpRequest, unit_id: int, payload: ReportInIn) -> Any:
    unit = policy.get_or_deny(
        CoBuildingUnit.objects.all(), request.user, "party.view_co_building_units", pk=unit_id
    )
    return services.record_unit_report_in(
        request.user,
        unit=unit,
        community=_community(request.user, payload.community_id),
        resources=payload.resources,
        needs=payload.needs,
        projects=payload.projects,
    )


@router.get(
    "/joint-meetings/",
    response={200: Paged[MeetingOut], **ERRORS},
    summary="Joint meetings of my communities",
)
@policy.operation("party.view_co_building_units")
def list_joint_meetings(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = JointMeeting.objects.filter(community_id__in=community_ids(request.user)).prefetch_related("units")
    return paginate(qs.order_by("-held_on", "-pk"), page, page_size)


@router.post("/joint-meetings/", response={201: MeetingOut, **ERRORS}, summary="Record a joint meeting")
@policy.operation("party.record_unit_work")
def record_joint_meeting(request: HttpRequest, payload: MeetingIn) -> Any:
    units = list(CoBuildingUnit.objects.filter(pk__in=payload.unit_ids))
    if len(units) != len(set(payload.unit_ids)):
        raise ApiError(422, "not_found", _("单位不存在"), "unit_ids")
    meeting = services.record_joint_meeting(
        request.user,
        community=_community(request.user, payload.community_id),
        held_on=payload.held_on,
        topic=payload.topic,
        units=units,
        decisions=payload.decisions,
    )
    return Status(201, meeting)
