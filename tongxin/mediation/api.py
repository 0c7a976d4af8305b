"""Mediation over the API (thin: the policy and mediation.services decide). Parties' phones are masked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate
from tongxin.mediation import services
from tongxin.mediation.choices import DisputeKind, DisputeSource, DisputeState, PartyRole
from tongxin.mediation.models import Dispute
from tongxin.regions.models import Grid

router = Router(tags=["mediation"])


class PartyOut(Schema):
    id: int
    role: str
    name: str
    phone_masked: str


class DisputeOut(Schema):
    id: int
    number: str
    title: str
    kind: str
    source: str
    state: str
    community_id: int
    grid_id: int
    case_id: int | None
    mediator_id: int | None
    outcome: str
    created_at: dt.datetime


class DisputeDetail(DisputeOut):
    description: str
    parties: list[PartyOut]


class PartyIn(Schema):
    role: PartyRole = PartyRole.APPLICANT
    name: str = Field(min_length=1, max_length=50)
    phone: str = ""


class DisputeIn(Schema):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)
    kind: DisputeKind
    source: DisputeSource = DisputeSource.PATROL
    grid_id: int
    parties: list[PartyIn] = Field(min_length=1)


class SessionIn(Schema):
    notes: str = Field(min_length=1)
    location: str = ""


@router.get("/disputes", response={200: Paged[DisputeOut], **ERRORS}, summary="The dispute register")
@policy.operation("mediation.view")
def list_disputes(
    request: HttpRequest, state: DisputeState | None = None, page: int = PageNumber, page_size: int = PageSize
) -> Any:
    qs = policy.restrict(Dispute.objects.all(), request.user, "mediation.view")
    if state:
        qs = qs.filter(state=state)
    return paginate(qs.order_by("-created_at", "-pk"), page, page_size)


@router.get("/disputes/{int:dispute_id}", response={200: DisputeDetail, **ERRORS}, summary="One dispute")
@policy.operation("mediation.view", model="mediation.Dispute")
def get_dispute(request: HttpRequest, dispute_id: int) -> Any:
    d = policy.get_or_deny(
        Dispute.objects.prefetch_related("parties"), request.user, "mediation.view", pk=dispute_id
    )
    return {
        **DisputeOut.model_validate(d).model_dump(),
        "description": d.description,
        "parties": list(d.parties.all()),
    }


@router.post("/disputes", response={201: DisputeOut, **ERRORS}, summary="Register a dispute")
@policy.operation("mediation.register")
def register(request: HttpRequest, payload: DisputeIn) -> Any:
    grid = Grid.objects.filter(pk=payload.grid_id).select_related("community").first()
    if grid is None:
        raise ApiError(422, "invalid", "网格不存在", "grid_id")
    if payload.source == DisputeSource.CASE:
        raise ApiError(422, "invalid", "由诉求转入请使用诉求页面", "source")
    d = services.register(
        request.user,
        title=payload.title,
        description=payload.description,
        kind=payload.kind,
        source=payload.source,
        grid=grid,
        parties=[p.model_dump() for p in payload.parties],
    )
    return Status(201, d)


@router.post(
    "/disputes/{int:dispute_id}/sessions", response={201: dict, **ERRORS}, summary="Record a session"
)
@policy.operation("mediation.mediate", model="mediation.Dispute")
def record_session(request: HttpRequest, dispute_id: int, payload: SessionIn) -> Any:
    d = policy.get_or_deny(Dispute.objects.all(), request.user, "mediation.mediate", pk=dispute_id)
    s = services.record_session(request.user, d, notes=payload.notes, location=payload.location)
    return Status(201, {"id": s.pk, "dispute_id": d.pk})
