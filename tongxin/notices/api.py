"""Notices and leaders over the API: the same services and policy as the pages (thin endpoints)."""

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, Paged, PageNumber, PageSize, paginate
from tongxin.notices import coverage as cov
from tongxin.notices import leaders, services
from tongxin.notices.choices import Action, Audience, LeaderRole, ReceiptChannel, ReceiptStatus
from tongxin.notices.models import LeaderAssignment, Notice, Receipt, Relay
from tongxin.notices.policy import own_household_id
from tongxin.people.choices import TagSensitivity
from tongxin.people.models import Resident, Tag
from tongxin.regions.models import Grid, Region

router = Router(tags=["notices"])


class NoticeOut(Schema):
    id: int
    title: str
    body: str
    action: str
    audience: str
    state: str
    target_id: int
    target_grid_id: int | None
    deadline: dt.datetime | None
    sent_at: dt.datetime | None
    households: int
    reply_fields: list[dict[str, str]]


class NoticeIn(Schema):
    title: str = Field(max_length=100)
    body: str
    target_id: int
    target_grid_id: int | None = None
    audience: Audience = Audience.HOUSEHOLDS
    tags: list[str] = Field(default_factory=list, description="Tag codes, for audience 'tagged'")
    action: Action = Action.READ
    reply_fields: list[str] = Field(default_factory=list, description="Labels of the reply form")
    deadline: dt.datetime | None = None
    send: bool = Field(False, description="Send at once instead of saving a draft")


class RowOut(Schema):
    region_id: int
    name: str
    level: str
    households: int
    reached: int
    by_app: int
    by_leader: int
    confirmed: int
    replied: int
    entrances: int
    entrances_passed: int
    relay_id: int | None
    relay_state: str
    passed_on_by: str
    passed_on_at: dt.datetime | None
    leaders: list[str]
    lagging: bool


class CoverageOut(Schema):
    node_id: int
    child_level: str
    total: RowOut
    rows: list[RowOut]


class ReceiptIn(Schema):
    channel: ReceiptChannel
    reply: dict[str, str] = Field(default_factory=dict)


class RespondIn(Schema):
    status: ReceiptStatus = ReceiptStatus.CONFIRMED
    reply: dict[str, str] = Field(default_factory=dict)


class MyNoticeOut(Schema):
    notice: NoticeOut
    status: str
    channel: str
    at: dt.datetime | None


class LeaderOut(Schema):
    id: int
    role: str
    resident_id: int
    name: str
    place_id: int
    building_id: int
    entrance_id: int | None
    floor: int | None
    cadre: bool
    started_on: dt.date


class LeaderIn(Schema):
    role: LeaderRole
    resident_id: int
    place_id: int
    floor: int | None = None
    cadre: bool = False


class Done(Schema):
    moved: bool


def _leader(a: LeaderAssignment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "role": a.role,
        "resident_id": a.resident_id,
        "name": a.resident.name,
        "place_id": a.place_id,
        "building_id": a.building_id,
        "entrance_id": a.entrance_id,
        "floor": a.floor,
        "cadre": a.cadre,
        "started_on": a.started_on,
    }


@router.get("/", response={200: Paged[NoticeOut], **ERRORS}, summary="Notices that reach my area")
@policy.operation("notices.list")
def list_notices(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Notice.objects.all(), request.user, "notices.list").order_by("-created_at", "-pk")
    return paginate(qs, page, page_size)


@router.post("/", response={201: NoticeOut, **ERRORS}, summary="Draft (and optionally send) a notice")
@policy.operation("notices.create")
def create_notice(request: HttpRequest, payload: NoticeIn) -> Status:
    target = Region.objects.filter(pk=payload.target_id).first()
    if target is None:
        raise Http404
    grid = Grid.objects.filter(pk=payload.target_grid_id).first() if payload.target_grid_id else None
    notice = services.create(
        request.user,
        title=payload.title,
        body=payload.body,
        target=target,
        target_grid=grid,
        audience=payload.audience,
        tags=list(Tag.objects.filter(code__in=payload.tags).exclude(sensitivity=TagSensitivity.RESTRICTED)),
        action=payload.action,
        reply_fields=services.parse_reply_fields("\n".join(payload.reply_fields)),
        deadline=payload.deadline,
    )
    if payload.send:
        notice = services.send(request.user, notice)
    return Status(201, notice)


@router.get("/mine", response={200: Paged[MyNoticeOut], **ERRORS}, summary="Notices to my household")
@policy.operation("notices.my_notices")
def my_notices(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    household_id = own_household_id(request.user) or 0
    receipts = (
        Receipt.objects.filter(household_id=household_id, notice__sent_at__isnull=False)
        .select_related("notice")
        .order_by("-notice__sent_at", "-pk")
    )
    out = paginate(receipts, page, page_size)
    out["items"] = [
        {"notice": r.notice, "status": r.status, "channel": r.channel, "at": r.at} for r in out["items"]
    ]
    return out


@router.get("/leaders", response={200: Paged[LeaderOut], **ERRORS}, summary="Current leaders of a building")
@policy.operation("notices.view_leaders")
def list_leaders(
    request: HttpRequest,
    building: int = Query(...),  # type: ignore[assignment]
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    qs = policy.restrict(leaders.current().filter(building_id=building), request.user, "notices.view_leaders")
    out = paginate(qs.select_related("resident").order_by("role", "pk"), page, page_size)
    out["items"] = [_leader(a) for a in out["items"]]
    return out


@router.post(
    "/leaders", response={201: LeaderOut, **ERRORS}, summary="Assign a leader to a building or entrance"
)
@policy.operation("notices.assign_leader")
def assign_leader(request: HttpRequest, payload: LeaderIn) -> Status:
    resident = Resident.objects.visible_to(request.user).filter(pk=payload.resident_id).first()
    cadre_ok = payload.cadre and Resident.objects.filter(pk=payload.resident_id).exists()
    if resident is None and cadre_ok:
        resident = Resident.objects.get(pk=payload.resident_id)  # a cadre may live outside the user's scope
    place = Region.objects.visible_to(request.user).filter(pk=payload.place_id).first()
    if resident is None or place is None:
        raise Http404
    a = leaders.assign(
        request.user,
        role=payload.role,
        resident=resident,
        place=place,
        floor=payload.floor,
        cadre=payload.cadre,
    )
    return Status(201, _leader(a))


@router.get("/{int:notice_id}", response={200: NoticeOut, **ERRORS}, summary="One notice")
@policy.operation("notices.view", model="notices.Notice")
def get_notice(request: HttpRequest, notice_id: int) -> Any:
    return policy.get_or_deny(Notice.objects.all(), request.user, "notices.view", pk=notice_id)


@router.post("/{int:notice_id}/send", response={200: NoticeOut, **ERRORS}, summary="Send a draft")
@policy.operation("notices.send", model="notices.Notice")
def send_notice(request: HttpRequest, notice_id: int) -> Any:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.view", pk=notice_id)
    return services.send(request.user, notice)


@router.get(
    "/{int:notice_id}/coverage", response={200: CoverageOut, **ERRORS}, summary="Coverage below a node"
)
@policy.operation("notices.view_coverage", model="notices.Notice")
def notice_coverage(request: HttpRequest, notice_id: int, node: int | None = None) -> Any:
    notice = policy.get_or_deny(
        Notice.objects.select_related("target"), request.user, "notices.view_coverage", pk=notice_id
    )
    region: Region | None = notice.target
    if node:
        region = Region.objects.filter(pk=node, path__startswith=notice.target.path).first()
    if region is None:
        raise Http404
    report = cov.coverage(request.user, notice, region)
    rows = report.rows if report.child_level != "household" else []
    return {
        "node_id": region.pk,
        "child_level": report.child_level,
        "total": _row(report.total),
        "rows": [_row(r) for r in rows],
    }


def _row(r: cov.Row) -> dict[str, Any]:
    return {**r.__dict__, "by_app": r.by_app}


@router.post("/{int:notice_id}/respond", response={200: Done, **ERRORS}, summary="My household reads/answers")
@policy.operation("notices.respond", model="notices.Notice")
def respond(request: HttpRequest, notice_id: int, payload: RespondIn) -> Any:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.respond", pk=notice_id)
    return {"moved": services.respond(request.user, notice, payload.status, reply=payload.reply)}


class BatchIn(Schema):
    household_ids: list[int] = Field(max_length=5000)
    channel: ReceiptChannel
    status: ReceiptStatus = ReceiptStatus.CONFIRMED


class BatchOut(Schema):
    moved: int


@router.post(
    "/{int:notice_id}/receipts", response={200: BatchOut, **ERRORS}, summary="Record many households"
)
@policy.operation("notices.record_receipts", model="notices.Notice")
def record_receipts(request: HttpRequest, notice_id: int, payload: BatchIn) -> Any:
    notice = policy.get_or_deny(Notice.objects.all(), request.user, "notices.record_receipts", pk=notice_id)
    moved = services.record_for_households(
        request.user, notice, payload.household_ids, payload.channel, payload.status
    )
    return {"moved": moved}


@router.post("/relays/{int:relay_id}/pass-on", response={200: Done, **ERRORS}, summary="Confirm passing on")
@policy.operation("notices.pass_on", model="notices.Relay")
def pass_on(request: HttpRequest, relay_id: int) -> Any:
    relay = policy.get_or_deny(
        Relay.objects.select_related("notice"), request.user, "notices.pass_on", pk=relay_id
    )
    services.pass_on(request.user, relay)
    return {"moved": True}


@router.post(
    "/receipts/{int:receipt_id}/record",
    response={200: Done, **ERRORS},
    summary="Record on a household's behalf",
)
@policy.operation("notices.record_receipt", model="notices.Receipt")
def record_receipt(request: HttpRequest, receipt_id: int, payload: ReceiptIn) -> Any:
    receipt = policy.get_or_deny(
        Receipt.objects.select_related("notice"), request.user, "notices.record_receipt", pk=receipt_id
    )
    moved = services.record_for_household(request.user, receipt, payload.channel, reply=payload.reply)
    return {"moved": moved}
