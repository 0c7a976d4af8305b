"""Self-governance over the API (thin: the policy and assembly.services decide): matters and their stages,
supports and comments, votes with their result sheet, online ballots and paper entries, bodies and meetings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from tongxin.assembly import services
from tongxin.assembly.choices import Choice, Electorate, OwnersItem, PaperState, Stage
from tongxin.assembly.models import Body, Elector, Matter, Meeting, Vote
from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate
from tongxin.regions.models import Region

router = Router(tags=["assembly"])


class MatterOut(Schema):
    id: int
    title: str
    description: str
    source: str
    stage: str
    place_id: int
    community_id: int
    estate_id: int | None
    building_id: int | None
    entrance_id: int | None
    owners_matter: bool
    supports: int
    deadline: dt.date | None
    responsible: str
    progress: int
    result: str
    created_at: dt.datetime


class MatterIn(Schema):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1)
    place_id: int
    owners_matter: bool = False
    deadline: dt.date | None = None


class AdvanceIn(Schema):
    to: Stage
    note: str = ""


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=2000)


class VoteOut(Schema):
    id: int
    matter_id: int
    title: str
    electorate: str
    owners_item: str
    state: str
    closes_at: dt.datetime
    passed: bool | None


class VoteIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    electorate: Electorate
    owners_item: OwnersItem | None = None
    place_id: int | None = None
    body_id: int | None = None
    closes_at: dt.datetime


class BallotIn(Schema):
    choice: Choice


class PaperIn(Schema):
    elector_id: int
    choice: Choice


class PaperOut(Schema):
    id: int
    elector_id: int
    choice: str
    state: str


class BodyOut(Schema):
    id: int
    kind: str
    name: str
    community_id: int
    estate_id: int | None
    term_start: dt.date | None
    term_end: dt.date | None


class MeetingOut(Schema):
    id: int
    kind: str
    title: str
    community_id: int
    starts_at: dt.datetime
    location: str
    state: str
    minutes: str


@router.get("/matters", response={200: Paged[MatterOut], **ERRORS}, summary="Matters of my communities")
@policy.operation("assembly.list")
def list_matters(
    request: HttpRequest, stage: Stage | None = None, page: int = PageNumber, page_size: int = PageSize
) -> Any:
    qs = policy.restrict(Matter.objects.all(), request.user, "assembly.list")
    if stage:
        qs = qs.filter(stage=stage)
    return paginate(qs.order_by("-created_at", "-pk"), page, page_size)


@router.get(
    "/matters/mine", response={200: Paged[MatterOut], **ERRORS}, summary="Matters of the places I live in"
)
@policy.operation("assembly.my_matters")
def my_matters(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    return paginate(services.matters_for(request.user).order_by("-created_at", "-pk"), page, page_size)


@router.get("/matters/{int:matter_id}", response={200: MatterOut, **ERRORS}, summary="One matter")
@policy.operation("assembly.view", model="assembly.Matter")
def get_matter(request: HttpRequest, matter_id: int) -> Any:
    return policy.get_or_deny(Matter.objects.all(), request.user, "assembly.view", pk=matter_id)


@router.post("/matters", response={201: MatterOut, **ERRORS}, summary="Raise a matter")
@policy.operation("assembly.propose")
def raise_matter(request: HttpRequest, payload: MatterIn) -> Any:
    place = Region.objects.filter(pk=payload.place_id).first()
    if place is None:
        raise ApiError(422, "invalid", "范围不存在", "place_id")
    matter = services.raise_matter(
        request.user,
        title=payload.title,
        description=payload.description,
        place=place,
        owners_matter=payload.owners_matter,
        deadline=payload.deadline,
    )
    return Status(201, matter)


@router.post(
    "/matters/{int:matter_id}/support", response={200: MatterOut, **ERRORS}, summary="Support (附议)"
)
@policy.operation("assembly.support", model="assembly.Matter")
def support(request: HttpRequest, matter_id: int) -> Any:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.support", pk=matter_id)
    services.support(request.user, matter)
    matter.refresh_from_db()
    return matter


@router.post("/matters/{int:matter_id}/comments", response={201: dict, **ERRORS}, summary="Comment")
@policy.operation("assembly.comment", model="assembly.Matter")
def comment(request: HttpRequest, matter_id: int, payload: CommentIn) -> Any:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.comment", pk=matter_id)
    c = services.comment(request.user, matter, payload.body)
    return Status(201, {"id": c.pk, "stage": c.stage, "body": c.body})


@router.post("/matters/{int:matter_id}/advance", response={200: MatterOut, **ERRORS}, summary="Next stage")
@policy.operation("assembly.manage", model="assembly.Matter")
def advance(request: HttpRequest, matter_id: int, payload: AdvanceIn) -> Any:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.manage", pk=matter_id)
    return services.advance(request.user, matter, payload.to, payload.note)


@router.post("/matters/{int:matter_id}/votes", response={201: VoteOut, **ERRORS}, summary="Open a vote")
@policy.operation("assembly.manage", model="assembly.Matter")
def open_vote(request: HttpRequest, matter_id: int, payload: VoteIn) -> Any:
    matter = policy.get_or_deny(Matter.objects.all(), request.user, "assembly.manage", pk=matter_id)
    place = Region.objects.filter(pk=payload.place_id).first() if payload.place_id else None
    body = (
        Body.objects.filter(pk=payload.body_id, community_id=matter.community_id).first()
        if payload.body_id
        else None
    )
    vote = services.open_vote(
        request.user,
        matter,
        title=payload.title,
        electorate=payload.electorate,
        owners_item=payload.owners_item or "",
        place=place,
        body=body,
        closes_at=payload.closes_at,
    )
    return Status(201, vote)


@router.get("/votes", response={200: Paged[VoteOut], **ERRORS}, summary="Votes of my communities")
@policy.operation("assembly.view_votes")
def list_votes(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Vote.objects.all(), request.user, "assembly.view_votes")
    return paginate(qs.order_by("-created_at", "-pk"), page, page_size)


@router.get("/votes/mine", response={200: Paged[VoteOut], **ERRORS}, summary="Votes I am an elector of")
@policy.operation("assembly.my_votes")
def my_votes(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Vote.objects.all(), request.user, "assembly.my_votes")
    return paginate(qs.order_by("-created_at", "-pk"), page, page_size)


@router.get(
    "/votes/{int:vote_id}/result", response={200: dict, **ERRORS}, summary="Result sheet (live tally)"
)
@policy.operation("assembly.view_votes", model="assembly.Vote")
def vote_result(request: HttpRequest, vote_id: int) -> Any:
    vote = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.view_votes", pk=vote_id)
    return vote.result if vote.result else services.tally(vote).as_dict()


@router.post("/votes/{int:vote_id}/ballot", response={200: dict, **ERRORS}, summary="Vote online (or change)")
@policy.operation("assembly.cast_ballot", model="assembly.Vote")
def cast(request: HttpRequest, vote_id: int, payload: BallotIn) -> Any:
    vote = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.cast_ballot", pk=vote_id)
    ballots = services.cast(request.user, vote, payload.choice)
    return {"vote_id": vote.pk, "choice": payload.choice, "units": [b.elector_id for b in ballots]}


@router.post("/votes/{int:vote_id}/paper", response={200: PaperOut, **ERRORS}, summary="Enter a paper ballot")
@policy.operation("assembly.enter_paper", model="assembly.Vote")
def enter_paper(request: HttpRequest, vote_id: int, payload: PaperIn) -> Any:
    vote = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.enter_paper", pk=vote_id)
    elector = Elector.objects.filter(vote=vote, pk=payload.elector_id).first()
    if elector is None:
        raise ApiError(422, "invalid", "表决单位不存在", "elector_id")
    entry = services.enter_paper(request.user, vote, elector, payload.choice)
    if entry.state == PaperState.CONFLICT:
        # the entry is kept for review; the paper ballot is not counted
        raise ApiError(409, "already_voted", "该表决单位已投票，纸质选票不计票，已保留待复核", "elector_id")
    return {"id": entry.pk, "elector_id": elector.pk, "choice": entry.choice, "state": entry.state}


@router.post("/votes/{int:vote_id}/close", response={200: VoteOut, **ERRORS}, summary="Close and tally")
@policy.operation("assembly.manage_votes", model="assembly.Vote")
def close_vote(request: HttpRequest, vote_id: int) -> Any:
    vote = policy.get_or_deny(Vote.objects.all(), request.user, "assembly.manage_votes", pk=vote_id)
    return services.close_vote(request.user, vote)


@router.get("/bodies", response={200: Paged[BodyOut], **ERRORS}, summary="Owners' committees and councils")
@policy.operation("assembly.view_bodies")
def list_bodies(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Body.objects.all(), request.user, "assembly.view_bodies")
    return paginate(qs.order_by("community_id", "kind", "name", "pk"), page, page_size)


@router.get("/meetings", response={200: Paged[MeetingOut], **ERRORS}, summary="Joint meetings and councils")
@policy.operation("assembly.view_meetings")
def list_meetings(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Meeting.objects.all(), request.user, "assembly.view_meetings")
    return paginate(qs.order_by("-starts_at", "-pk"), page, page_size)
