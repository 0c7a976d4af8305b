"""Residents and households over the API, with the same search, scope and masking as the staff pages.

Reads go through ``.visible_to(request.user)`` (out of scope: 404). Writes and reveals call
:mod:`tongxin.people.services`, which holds every rule and writes the audit records; this module only parses
and renders. Responses carry masked id numbers and phones only, except the reveal endpoint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, Ref, paginate
from tongxin.people import services
from tongxin.people.choices import Gender, IdKind, Relation, ResidenceStatus, ResidentStatus
from tongxin.people.models import Household, Membership, Resident
from tongxin.people.policy import visible_tag_levels
from tongxin.people.search import ResidentFilters, search_residents
from tongxin.regions.models import Dwelling

router = Router(tags=["people"])


# --- schemas ----------------------------------------------------------------------------------------------


class TagOut(Schema):
    code: str
    name: str


def _visible_tags(obj: Resident, context: Any) -> list[Any]:
    """Restricted tags (watched person) only for roles that may see them."""
    request = context["request"] if context else None
    levels = visible_tag_levels(getattr(request, "user", None))
    return [t for t in obj.tags.all() if t.sensitivity in levels]


def _member_type(obj: Resident) -> str | None:
    try:
        member = obj.party_member  # type: ignore[attr-defined]
    except Resident.party_member.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None
    return member.member_type if member.active else None


class DwellingBrief(Schema):
    id: int
    address: str
    grid_id: int
    community_id: int


class ResidentOut(Schema):
    id: int
    name: str
    id_kind: IdKind
    id_number_masked: str = Field(
        description="First 3 and last 4 characters; use /reveal for the clear value"
    )
    gender: Gender | Literal[""]
    birth_date: dt.date | None
    age: int | None
    phone_masked: str
    residence_status: ResidenceStatus
    status: ResidentStatus
    dwelling: DwellingBrief | None
    household_id: int | None
    relation: Relation | Literal[""]
    tags: list[TagOut]
    member_type: str | None = Field(description="Party member type, if an active party member")

    @staticmethod
    def resolve_tags(obj: Resident, context: Any) -> list[Any]:
        return _visible_tags(obj, context)

    @staticmethod
    def resolve_member_type(obj: Resident) -> str | None:
        return _member_type(obj)


class StayOut(Schema):
    household_id: int
    address: str
    relation: Relation
    moved_in_on: dt.date
    moved_out_on: dt.date | None

    @staticmethod
    def resolve_address(obj: Membership) -> str:
        return obj.household.dwelling.address


class PartyInfoOut(Schema):
    member_type: str
    organisation: Ref | None
    service_post: Ref | None
    employer_name: str
    joined_on: dt.date | None
    reported_in_on: dt.date | None
    active: bool


class ResidentDetailOut(ResidentOut):
    skills: str
    stays: list[StayOut] = Field(description="Households lived in, oldest first")
    party_member: PartyInfoOut | None

    @staticmethod
    def resolve_stays(obj: Resident) -> list[Any]:
        return list(obj.memberships.all())

    @staticmethod
    def resolve_party_member(obj: Resident) -> Any:
        try:
            return obj.party_member  # type: ignore[attr-defined]
        except Resident.party_member.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
            return None


class ResidentBrief(Schema):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str
    gender: Gender | Literal[""]
    age: int | None
    status: ResidentStatus


class HouseholdMemberOut(Schema):
    resident: ResidentBrief
    relation: Relation
    moved_in_on: dt.date
    moved_out_on: dt.date | None


class HouseholdDwellingOut(Schema):
    id: int
    address: str
    floor_area: float | None = Field(description="Floor area in m²")
    grid_id: int


class HouseholdOut(Schema):
    id: int
    number: str
    dwelling: HouseholdDwellingOut
    head: Ref | None
    started_on: dt.date
    ended_on: dt.date | None
    members: list[HouseholdMemberOut] = Field(description="Current and past members visible to me")

    @staticmethod
    def resolve_members(obj: Household) -> list[Any]:
        return list(obj.memberships.all())


class ResidentIn(Schema):
    name: str = Field(max_length=50)
    dwelling: int = Field(description="Id of the dwelling the resident lives in")
    id_kind: IdKind = IdKind.ID_CARD
    id_number: str = Field("", max_length=40, description="身份证号 (GB 11643 checked) or document number")
    phone: str = Field("", max_length=30)
    residence_status: ResidenceStatus = ResidenceStatus.REGISTERED
    skills: str = Field("", max_length=200)
    relation: Relation = Field(Relation.HEAD, description="Relation to the head when joining a household")
    start_household: bool = Field(False, description="Start a new household even if the dwelling has one")
    tags: list[str] = Field(default_factory=list, description="Tag codes")


class ResidentPatch(Schema):
    """Only the fields sent are changed. ``id_number``/``phone`` left out keep their stored values."""

    name: str | None = Field(None, max_length=50)
    id_kind: IdKind | None = None
    id_number: str | None = Field(None, max_length=40)
    phone: str | None = Field(None, max_length=30)
    residence_status: ResidenceStatus | None = None
    skills: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, description="Replaces the tags I can see")


class MoveInIn(Schema):
    dwelling: int = Field(description="Id of the dwelling moved into")
    relation: Relation = Field(Relation.HEAD, description="Relation to the head when joining its household")
    start_household: bool = Field(False, description="Start a new household even if the dwelling has one")
    on: dt.date | None = Field(None, description="Date of the move (default today)")


class MoveOutIn(Schema):
    status: Literal["moved_out", "deceased"] = "moved_out"
    on: dt.date | None = Field(None, description="Date of leaving (default today)")


class RevealIn(Schema):
    what: Literal["id_number", "phone"]


class RevealOut(Schema):
    id: int
    what: str
    value: str


# --- querysets --------------------------------------------------------------------------------------------


def _residents(request: HttpRequest) -> QuerySet[Resident]:
    return (
        Resident.objects.visible_to(request.user)
        .select_related("dwelling__estate", "dwelling__building", "dwelling__entrance", "party_member")
        .prefetch_related("tags")
    )


def _detail(request: HttpRequest, resident_id: int) -> Resident:
    stays = Membership.objects.select_related(
        "household__dwelling__estate", "household__dwelling__building", "household__dwelling__entrance"
    ).order_by("moved_in_on", "id")
    resident = (
        _residents(request)
        .select_related("party_member__organisation", "party_member__service_post")
        .prefetch_related(Prefetch("memberships", queryset=stays))
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise Http404
    return resident


def _visible_or_404(request: HttpRequest, resident_id: int) -> Resident:
    resident = (
        Resident.objects.visible_to(request.user).select_related("dwelling").filter(pk=resident_id).first()
    )
    if resident is None:
        raise Http404
    return resident


def _sent_or(sent: dict[str, Any], key: str, current: Any) -> Any:
    value = sent.get(key)
    return current if value is None else value


TAG_QUERY = Query(None, description="Tag codes (repeat for several: ?tag=a&tag=b); all must match")


# --- endpoints --------------------------------------------------------------------------------------------


@router.get(
    "/residents/", response={200: Paged[ResidentOut], **ERRORS}, summary="Search residents visible to me"
)
@policy.operation("people.list_residents")
def list_residents(
    request: HttpRequest,
    q: str = Query("", max_length=100, description="Name, last 4 of id/phone, whole id/phone, or address"),
    tag: list[str] | None = TAG_QUERY,
    residence_status: ResidenceStatus | None = None,
    member_type: str = Query("", max_length=20, description="Party member type"),
    grid: int | None = None,
    region: int | None = Query(None, description="Any region node (community, estate, building, entrance)"),
    status: ResidentStatus = ResidentStatus.ACTIVE,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> dict:
    filters = ResidentFilters(
        q=q,
        tags=tuple(tag or ()),
        residence_status=residence_status or "",
        member_type=member_type,
        grid_id=grid,
        region_id=region,
        status=status,
    )
    qs = search_residents(_residents(request), filters, tag_levels=visible_tag_levels(request.user))
    return paginate(qs.order_by("id"), page, page_size)


@router.get(
    "/residents/{int:resident_id}", response={200: ResidentDetailOut, **ERRORS}, summary="One resident"
)
@policy.operation("people.view_resident", model="people.Resident")
def get_resident(request: HttpRequest, resident_id: int) -> Any:
    return _detail(request, resident_id)


@router.post(
    "/residents/",
    response={201: ResidentDetailOut, **ERRORS},
    summary="Register a resident (subdistrict admin, community staff, grid worker in scope)",
)
@policy.operation("people.create_resident")
def create_resident(request: HttpRequest, payload: ResidentIn) -> Any:
    # An unknown id and an id outside my scope must answer alike, so the service decides both.
    dwelling = Dwelling.objects.filter(pk=payload.dwelling).first() or Dwelling(pk=payload.dwelling)
    resident = services.create_resident(
        request.user,
        name=payload.name,
        dwelling=dwelling,
        id_number=payload.id_number,
        id_kind=payload.id_kind,
        phone=payload.phone,
        residence_status=payload.residence_status,
        skills=payload.skills,
        relation=payload.relation,
        start_household=payload.start_household,
        tags=payload.tags,
    )
    return Status(201, _detail(request, resident.pk))


@router.patch(
    "/residents/{int:resident_id}",
    response={200: ResidentDetailOut, **ERRORS},
    summary="Change a resident's fields and tags (roles that may write here)",
)
@policy.operation("people.edit_resident", model="people.Resident")
def update_resident(request: HttpRequest, resident_id: int, payload: ResidentPatch) -> Any:
    resident = _visible_or_404(request, resident_id)
    sent = payload.model_dump(exclude_unset=True)
    try:
        with transaction.atomic():
            own = {k: v for k, v in sent.items() if k != "tags"}
            if own:
                services.update_resident(
                    request.user,
                    resident,
                    name=_sent_or(own, "name", resident.name),
                    id_kind=_sent_or(own, "id_kind", resident.id_kind),
                    id_number=own.get("id_number"),
                    phone=own.get("phone"),
                    residence_status=_sent_or(own, "residence_status", resident.residence_status),
                    skills=_sent_or(own, "skills", resident.skills),
                )
            if sent.get("tags") is not None:
                services.set_tags(request.user, resident, sent["tags"])
    except PermissionDenied:
        # I may see this resident (else 404 above) but my role may not change them here.
        raise ApiError(403, "forbidden", policy.reason("people.edit_resident")) from None
    return _detail(request, resident.pk)


@router.post(
    "/residents/{int:resident_id}/move-in",
    response={200: ResidentDetailOut, **ERRORS},
    summary="Move a resident into a dwelling (joining its household or starting one); history is kept",
)
@policy.operation("people.edit_resident", model="people.Resident")
def move_in(request: HttpRequest, resident_id: int, payload: MoveInIn) -> Any:
    resident = _visible_or_404(request, resident_id)
    dwelling = Dwelling.objects.filter(pk=payload.dwelling).first() or Dwelling(pk=payload.dwelling)
    try:
        services.move_in(
            request.user,
            resident,
            dwelling,
            relation=payload.relation,
            start_household=payload.start_household,
            on=payload.on,
        )
    except PermissionDenied:
        raise ApiError(403, "forbidden", policy.reason("people.edit_resident")) from None
    return _detail(request, resident.pk)


@router.post(
    "/residents/{int:resident_id}/move-out",
    response={200: ResidentDetailOut, **ERRORS},
    summary="Record that a resident moved out or died; the person and their history are kept",
)
@policy.operation("people.edit_resident", model="people.Resident")
def move_out(request: HttpRequest, resident_id: int, payload: MoveOutIn) -> Any:
    resident = _visible_or_404(request, resident_id)
    try:
        services.move_out(request.user, resident, on=payload.on, status=payload.status)
    except PermissionDenied:
        raise ApiError(403, "forbidden", policy.reason("people.edit_resident")) from None
    return _detail(request, resident.pk)


@router.post(
    "/residents/{int:resident_id}/reveal",
    response={200: RevealOut, **ERRORS},
    summary="Reveal one clear id number or phone (audited; 404 for roles that may not)",
)
@policy.operation("people.view_resident", model="people.Resident", reveals=True)
def reveal(request: HttpRequest, resident_id: int, payload: RevealIn, response: HttpResponse) -> Any:
    resident = _visible_or_404(request, resident_id)
    try:
        value = services.reveal(request.user, resident, payload.what)
    except PermissionDenied:
        raise Http404 from None
    response["Cache-Control"] = "no-store"
    return {"id": resident.pk, "what": payload.what, "value": value}


@router.get("/households/{int:household_id}", response={200: HouseholdOut, **ERRORS}, summary="One household")
@policy.operation("people.view_resident", model="people.Household")
def get_household(request: HttpRequest, household_id: int) -> Any:
    members = (
        Membership.objects.filter(resident__in=Resident.objects.visible_to(request.user))
        .select_related("resident")
        .order_by("moved_in_on", "id")
    )
    household = (
        Household.objects.visible_to(request.user)
        .select_related("dwelling__estate", "dwelling__building", "dwelling__entrance", "head")
        .prefetch_related(Prefetch("memberships", queryset=members))
        .filter(pk=household_id)
        .first()
    )
    if household is None:
        raise Http404
    return household
