"""Cases API (mounted at /api/v1/cases/): intake with Idempotency-Key, lists, queue, detail, transitions,
routing help (category suggestion, address resolution, likely duplicates), categories, receipt lookup.

Thin: every operation declares its policy action (``cases/policy.py``); every write is one action of the case
action table (:mod:`tongxin.cases.actions`, one route per action: ``POST /{case_id}/<action>``), whose service
asks the same rule; every read goes through the policy (out of scope → 404). Lists answer the one envelope
(``Paged``), errors the one body (``tongxin.core.api.ErrorOut``): 400 bad input, 401 not signed in, 403 not
allowed (the rule's reason), 404 not found or out of scope, 409 the case's state does not allow it, 422 malformed
request (schema). Nothing is changed when an error is returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import field_validator

from tongxin.cases import actions, duplicates, services, suggest
from tongxin.cases.choices import (
    CHANNEL_ALIASES,
    OPEN_STATES,
    STAFF_CHANNELS,
    CaseError,
    CaseState,
    Channel,
    EventType,
    Supervision,
    TransitionError,
)
from tongxin.cases.models import Case, CaseEvent, Category, WhistleCall
from tongxin.core import pii, policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.regions.scoping import scope_for

router = Router(tags=["cases"])

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 9


def _status_for(e: CaseError) -> int:
    if isinstance(e, TransitionError):
        return 409
    return {
        "forbidden": 403,
        "not_found": 404,
        "primary_not_found": 404,
        "already_claimed": 409,
        "already_whistled": 409,
        "already_reported": 409,
        "already_rated": 409,
        "rate_limited": 429,
    }.get(e.code, 400)


_FIELD_OF_CODE = {
    "unknown_category": "category",
    "unknown_location": "location",
    "description_too_long": "description",
    "empty_description": "description",
    "bad_phone": "contact_phone",
    "missing_attribute": "attributes",
    "bad_attribute": "attributes",
    "unknown_channel": "channel",
    "reason_required": "reason",
    "bad_rating": "rating",
    "unknown_department": "department_ids",
    "which_whistle_call": "call_id",
    "primary_required": "primary_id",
    "primary_not_found": "primary_id",
    "plan_required": "plan",
    "result_required": "result",
    "comment_required": "comment",
    "same_category": "category",
}


def call_service(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service and turn its errors into :class:`ApiError` (the service rolled everything back)."""
    try:
        return fn(*args, **kwargs)
    except CaseError as e:
        field = _FIELD_OF_CODE.get(e.code) or (
            e.code.removesuffix("_required") if e.code.endswith("_required") else ""
        )
        raise ApiError(_status_for(e), e.code, e.message, field) from None
    except ValidationError as e:
        raise ApiError(400, "invalid", "; ".join(str(m) for m in e.messages)) from None


# ---------------------------------------------------------------------------------------------------------
# Schemas


class CategoryOut(Schema):
    code: str
    name: str
    parent: str | None
    description: str
    handler_kind: str
    policy: str
    resolve_within_minutes: int
    keywords: list[str]
    attributes: list[dict]


ATTRIBUTES_MAX_BYTES = 16_384  # a category's extra fields: a few short answers, never a file


class CaseIn(Schema):
    """Validated at the edge: what is too long is refused (422 naming the field), never cut."""

    category: str = Field(max_length=60)
    description: str  # the service refuses too long a text with its own message (description_too_long)
    title: str = Field("", max_length=100)
    channel: (
        Literal["api", "resident_app", "hotline", "grid_patrol", "front_desk", "window", "suggestion_box"]
        | None
    ) = None
    dwelling_id: int | None = Field(None, ge=1, le=2**53)
    address: str = Field("", max_length=200)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    anonymous: bool = False
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)
    attributes: dict[str, Any] = {}

    @field_validator("attributes")
    @classmethod
    def _attributes_small(cls, value: dict[str, Any]) -> dict[str, Any]:
        import json

        if len(json.dumps(value, ensure_ascii=False).encode()) > ATTRIBUTES_MAX_BYTES:
            raise ValueError(f"attributes larger than {ATTRIBUTES_MAX_BYTES} bytes")
        return value


class CaseRow(Schema):
    id: int
    number: str
    state: str
    state_label: str
    channel: str
    category: str
    category_name: str
    title: str
    location: str
    grid_id: int | None
    grid: str
    supervision: str
    due_soon: bool
    overdue: bool
    resolve_by: dt.datetime | None
    submitted_at: dt.datetime
    assignee: str


class EventOut(Schema):
    type: str
    label: str
    at: dt.datetime
    actor: str
    from_state: str
    to_state: str
    details: dict


class WhistleOut(Schema):
    id: int
    department_id: int
    department: str
    whistled_at: dt.datetime
    report_by: dt.datetime
    reported_at: dt.datetime | None
    report_note: str = ""
    late: bool | None
    active: bool
    rating: int | None


class CaseDetail(CaseRow):
    description: str
    attributes: dict
    anonymous: bool
    contact_name: str
    contact_phone: str
    respond_by: dt.datetime | None
    on_site_by: dt.datetime | None
    plan_by: dt.datetime | None
    accepted_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    plan: str
    result: str
    rating: str
    rating_comment: str
    state_reason: str
    merged_into: str | None
    receipt_code: str = Field(
        "", description="Only for the reporter (who rates with it); empty for everyone else"
    )
    actions: list[str] = Field(default_factory=list, description="The actions the caller can do now")
    photos: list[str]
    whistle_calls: list[WhistleOut]
    timeline: list[EventOut]


class CaseReceipt(Schema):
    """What a client needs right after intake (issue 15): the number and receipt code to quote, the state and
    the deadlines. The case with its timeline is ``GET /api/v1/cases/{id}`` (``url``)."""

    id: int
    number: str
    receipt_code: str
    state: str
    state_label: str
    channel: str
    category: str
    submitted_at: dt.datetime
    respond_by: dt.datetime | None
    on_site_by: dt.datetime | None
    plan_by: dt.datetime | None
    resolve_by: dt.datetime | None
    grid_id: int | None
    url: str


def _receipt(c: Case) -> dict[str, Any]:
    """From the case the intake service returned: no reload, no timeline query."""
    return {
        "id": c.pk,
        "number": c.number,
        "receipt_code": c.receipt_code,
        "state": c.state,
        "state_label": c.get_state_display(),
        "channel": c.channel,
        "category": c.category.service_code,
        "submitted_at": c.submitted_at,
        "respond_by": c.respond_by,
        "on_site_by": c.on_site_by,
        "plan_by": c.plan_by,
        "resolve_by": c.resolve_by,
        "grid_id": c.grid_id,
        "url": f"/api/v1/cases/{c.pk}",
    }


class ActionIn(Schema):
    """Fields used by the actions; each action reads the ones it needs."""

    reason: str = ""
    note: str = ""
    result: str = ""
    plan: str = ""
    comment: str = ""
    rating: str | int | None = None
    receipt_code: str = ""
    assignee_id: int | None = None
    team_kind: str = ""
    property_company_id: int | None = None
    department_id: int | None = None
    department_ids: list[int] = []
    call_id: int | None = None
    primary_id: int | None = None
    round_robin: bool = False
    at: dt.datetime | None = None  # on-site: when, if recorded afterwards
    latitude: float | None = None  # on-site: where the phone was
    longitude: float | None = None
    category: str = ""


class ListFilters(Schema):
    state: str | None = None
    category: str | None = None
    grid: int | None = None
    channel: str | None = None
    overdue: bool | None = None
    supervision: str | None = None


class SuggestionOut(Schema):
    code: str
    name: str
    confidence: float
    source: str


class PlaceOut(Schema):
    level: str
    estate_id: int | None = None
    building_id: int | None = None
    entrance_id: int | None = None
    dwelling_id: int | None = None
    grid_id: int | None = None
    label: str = ""


class DuplicateOut(Schema):
    id: int
    number: str
    state: str
    category: str | None
    submitted_at: str | None
    description: str
    score: float
    similarity: float
    reason: str
    distance_m: float | None


class SuggestOut(Schema):
    suggestions: list[SuggestionOut]
    location: PlaceOut | None
    duplicates: list[DuplicateOut]


class FeedbackIn(Schema):
    text: str
    chosen: str
    suggested: list[str] = []
    case_id: int | None = None


class ReceiptOut(Schema):
    number: str
    category: str
    state: str
    state_label: str
    submitted_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    result: str
    merged_into: str | None
    rating: str


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _row(c: Any) -> dict[str, Any]:
    parts = [c.estate.name if c.estate_id else "", c.building.name if c.building_id else ""]
    location = "".join(p for p in parts if p) or c.address
    return {
        "id": c.pk,
        "number": c.number,
        "state": c.state,
        "state_label": str(c.get_state_display()),
        "channel": c.channel,
        "category": c.category.service_code,
        "category_name": str(c.category.name),
        "title": pii.mask_in_text(c.title),
        "location": location,
        "grid_id": c.grid_id,
        "grid": str(c.grid.name) if c.grid_id else "",
        "supervision": c.supervision,
        "due_soon": c.due_soon,
        "overdue": c.overdue,
        "resolve_by": c.resolve_by,
        "submitted_at": c.submitted_at,
        "assignee": str(c.assignee) if c.assignee_id else "",
    }


LIST_RELATED = ("category", "grid", "estate", "building", "assignee")
# The columns a list row (``_row``) reads: a case row has ~45 columns (the description, attributes, contact…) and
# each joined row its own; reading only these halves the Python of a 50-row page (docs/bench/cases.md).
LIST_FIELDS = (
    "number",
    "state",
    "channel",
    "title",
    "address",
    "supervision",
    "due_soon",
    "overdue",
    "resolve_by",
    "submitted_at",
    "category__service_code",
    "category__name",
    "grid__name",
    "estate__name",
    "building__name",
    "assignee__username",
    "assignee__display_name",
)


def _visible(request: HttpRequest) -> Any:
    return policy.restrict(Case.objects.all(), request.user, "cases.read")


def _get_case(request: HttpRequest, case_id: int, action: str = "cases.read") -> Case:
    case = policy.restrict(Case.objects.all(), request.user, action).filter(pk=case_id).first()
    if case is None:
        raise ApiError(404, "not_found", _("工单不存在或不在您的权限范围内"))
    return case


def _resident_of(user: Any) -> Any:
    from tongxin.people.services import resident_of

    return resident_of(user)


def _details(e: CaseEvent) -> dict[str, Any]:
    keep = ("note", "reason", "comment", "result", "plan", "rating", "text", "departments", "primary_number")
    out = {k: v for k, v in (e.payload or {}).items() if k in keep and v not in (None, "", [])}
    return {k: pii.mask_in_text(v) if isinstance(v, str) else v for k, v in out.items()}


def _detail(request: HttpRequest, c: Any, *, new: bool = False) -> dict[str, Any]:
    """The case with its timeline; ``new``: just submitted, so no photos or whistle calls to read yet."""
    events = (
        CaseEvent.objects.filter(case=c)
        .exclude(type=EventType.COMMENT, payload__isnull=True)
        .select_related("actor")
        .order_by("at", "id")
    )
    calls: Any = (
        []
        if new
        else WhistleCall.objects.filter(case=c).select_related("department").order_by("whistled_at", "id")
    )
    type_labels = dict(EventType.choices)
    return {
        **_row(c),
        "description": pii.mask_in_text(c.description),
        "attributes": c.attributes or {},
        "anonymous": c.anonymous,
        "contact_name": c.contact_name,
        "contact_phone": c.contact_phone_masked,
        "respond_by": c.respond_by,
        "on_site_by": c.on_site_by,
        "plan_by": c.plan_by,
        "accepted_at": c.accepted_at,
        "resolved_at": c.resolved_at,
        "closed_at": c.closed_at,
        "plan": c.plan,
        "result": pii.mask_in_text(c.result),
        "rating": c.rating,
        "rating_comment": pii.mask_in_text(c.rating_comment),
        "state_reason": c.state_reason,
        "merged_into": c.merged_into.number if c.merged_into_id else None,
        "receipt_code": c.receipt_code if policy.can(request.user, "cases.rate", c) else "",
        "actions": [a.name for a in actions.available(c, request.user, web=False)],
        "photos": [] if new else [p.file.url for p in c.photos.all()],
        "whistle_calls": [
            {
                "id": w.pk,
                "department_id": w.department_id,
                "department": str(w.department.short_name or w.department.name),
                "whistled_at": w.whistled_at,
                "report_by": w.report_by,
                "reported_at": w.reported_at,
                "report_note": w.report_note,
                "late": w.late,
                "active": w.active,
                "rating": w.rating,
            }
            for w in calls
        ],
        "timeline": [
            {
                "type": e.type,
                "label": str(type_labels.get(e.type, e.type)),
                "at": e.at,
                "actor": str(e.actor) if e.actor_id else "",
                "from_state": e.from_state,
                "to_state": e.to_state,
                "details": _details(e),  # masked
            }
            for e in events
        ],
    }


def _detail_qs(request: HttpRequest) -> Any:
    return _visible(request).select_related(*LIST_RELATED, "merged_into")


# ---------------------------------------------------------------------------------------------------------
# Reference data and routing help


@router.get(
    "/categories/",
    response={200: Paged[CategoryOut], **ERRORS},
    summary="Active categories (for intake forms)",
)
@policy.operation("cases.reference")
def categories(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    rows = (
        Category.objects.filter(active=True).select_related("parent", "policy").order_by("sort_order", "id")
    )
    items = [
        {
            "code": c.service_code,
            "name": str(c.name),
            "parent": c.parent.service_code if c.parent is not None else None,
            "description": c.description,
            "handler_kind": c.handler_kind,
            "policy": str(c.policy.name),
            "resolve_within_minutes": int(c.policy.resolve_within.total_seconds() // 60),
            "keywords": suggest.split_keywords(c.keywords),
            "attributes": list(c.attributes or []),
        }
        for c in rows
    ]
    return paginate_list(items, page, page_size)


def _place_out(found: Any) -> dict[str, Any] | None:
    if not found.found:
        return None
    label = "".join(str(x.name) for x in (found.estate, found.building, found.entrance) if x is not None)
    if found.dwelling is not None:
        label += str(found.dwelling.number)
    grid_id = getattr(found.dwelling, "grid_id", None) or getattr(found.building, "grid_id", None)
    return {
        "level": found.level,
        "estate_id": getattr(found.estate, "pk", None),
        "building_id": getattr(found.building, "pk", None),
        "entrance_id": getattr(found.entrance, "pk", None),
        "dwelling_id": getattr(found.dwelling, "pk", None),
        "grid_id": grid_id,
        "label": label,
    }


@router.get("/suggest", response={200: SuggestOut, **ERRORS}, summary="Routing help for intake")
@policy.operation("cases.reference")
def suggest_view(
    request: HttpRequest,
    text: str = "",
    address: str = "",
    lat: float | None = Query(None, ge=-90, le=90),
    long: float | None = Query(None, ge=-180, le=180),
    category: str = "",
    dwelling_id: int | None = Query(None, ge=1, le=2**53),
) -> Any:
    """Top-3 categories with confidence, the place the address resolves to, and likely duplicates
    (open cases of the last days, same building or nearby, similar text, visible to the caller)."""
    from tongxin.regions.address import resolve_address
    from tongxin.regions.models import Dwelling

    if len(text) > 4000:
        raise ApiError(400, "description_too_long", _("诉求内容不能超过4000字"), "text")
    if (lat is None) != (long is None):
        raise ApiError(422, "invalid", _("经度和纬度须同时提供"), "long" if long is None else "lat")
    suggestions = suggest.suggest(text)
    found = resolve_address(address) if address.strip() else None
    place = _place_out(found) if found is not None else None
    dwelling: Any = None
    if dwelling_id is not None:
        dwelling = Dwelling.objects.filter(pk=dwelling_id).first()
    elif found is not None:
        dwelling = found.dwelling
    building = found.building if found is not None else None
    cat: Any = None
    if category:
        cat = Category.objects.filter(service_code=category, active=True).first()
    elif suggestions and suggestions[0].confidence >= 0.5:
        cat = Category.objects.filter(service_code=suggestions[0].code).first()
    dups = duplicates.likely_duplicates(
        request.user,
        text=text,
        category=cat,
        dwelling=dwelling,
        building=building,
        latitude=lat,
        longitude=long,
    )
    return {
        "suggestions": [s.as_dict() for s in suggestions],
        "location": place,
        "duplicates": [d.as_dict() for d in dups],
    }


@router.post("/suggest/feedback", response={201: dict, **ERRORS})
@policy.operation("cases.intake")
def suggest_feedback(request: HttpRequest, payload: FeedbackIn) -> Any:
    """Staff confirm or correct a suggested category; corrections become training data."""
    chosen = Category.objects.filter(service_code=payload.chosen, active=True).first()
    if chosen is None:
        raise ApiError(400, "unknown_category", _("未知的诉求类别：%(c)s") % {"c": payload.chosen}, "chosen")
    case = _get_case(request, payload.case_id) if payload.case_id else None
    fb = suggest.record_feedback(
        text=payload.text or (case.description if case else ""),
        suggested=payload.suggested,
        chosen=chosen,
        user=request.user,
        case=case,
    )
    from tongxin.cases.ml_tasks import maybe_retrain

    maybe_retrain(fb)
    return Status(201, {"id": fb.pk, "corrected": fb.corrected})


# ---------------------------------------------------------------------------------------------------------
# Intake


def channels_for(user: Any) -> set[str]:
    """The channels a caller may submit through: everyone the API and the phone; those who may take calls and
    visits at the desk (the policy's ``cases.intake``) also 热线, 网格巡查, 服务窗口 and the suggestion box."""
    allowed: set[str] = {Channel.API, Channel.RESIDENT_APP}
    if policy.can(user, "cases.intake"):
        allowed |= {*STAFF_CHANNELS, Channel.SUGGESTION_BOX}
    return allowed


def _same_request(case: Case, payload: CaseIn) -> bool:
    return case.category.service_code == payload.category and case.description == payload.description.strip()


@router.post(
    "/",
    response={200: CaseReceipt, 201: CaseReceipt, **ERRORS},
    summary="Submit a case (Idempotency-Key honoured); answers the receipt (number, code, state, deadlines)",
)
@policy.operation("cases.submit")
def create_case(request: HttpRequest, payload: CaseIn) -> Any:
    """Intake through the API or the resident's phone. Send an ``Idempotency-Key`` header: a retried
    submission with the same key returns the same case (200) instead of creating a second one (201)."""
    from tongxin.regions.models import Dwelling

    user = request.user
    resident = _resident_of(user)
    asked: str = payload.channel or (Channel.RESIDENT_APP if resident is not None else Channel.API)
    channel = CHANNEL_ALIASES.get(asked, asked)
    if channel not in channels_for(user):
        raise ApiError(
            403,
            "channel_not_allowed",
            _("您不能以「%(c)s」渠道登记诉求") % {"c": Channel(channel).label},
            "channel",
        )
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > 128:
        raise ApiError(400, "bad_idempotency_key", _("Idempotency-Key 不能超过128个字符"), "Idempotency-Key")
    dwelling = None
    if payload.dwelling_id is not None:
        scope = scope_for(user)
        dwelling = Dwelling.objects.filter(
            Q(pk=payload.dwelling_id) & (scope.q() | Q(pk=getattr(resident, "dwelling_id", None)))
        ).first()
        if dwelling is None:
            raise ApiError(400, "unknown_location", _("房屋不存在或不在您的权限范围内"), "dwelling_id")
    now = timezone.now()
    case = call_service(
        services.submit,
        channel=channel,
        category=payload.category,
        description=payload.description,
        actor=user,
        reporter=resident,
        anonymous=payload.anonymous,
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        dwelling=dwelling,
        address=payload.address,
        latitude=payload.latitude,
        longitude=payload.longitude,
        title=payload.title,
        attributes=payload.attributes,
        idempotency_key=key,
        now=now,
    )
    created = case.submitted_at == now
    if not created and not _same_request(case, payload):
        raise ApiError(
            422,
            "idempotency_key_reused",
            _("该 Idempotency-Key 已用于另一条不同的诉求"),
            "Idempotency-Key",
        )
    # The receipt, not a reload of the case and its timeline: that was 2 of the ~25 statements per intake and
    # most of its serialisation (issue 15).
    return Status(201 if created else 200, _receipt(case))


@router.post("/{case_id}/photos", response={201: dict, **ERRORS})
@policy.operation("cases.add_photo", model="cases.Case")
def upload_photos(
    request: HttpRequest,
    case_id: int,
    files: list[UploadedFile] = File(...),  # noqa: B008
    stage: str = Form("intake"),
) -> Any:
    """Photos for a case (multipart, field ``files``; images only, ≤ 10 MB each, ≤ 9 per case)."""
    case = _get_case(request, case_id, "cases.add_photo")
    if case.photos.count() + len(files) > MAX_PHOTOS:
        raise ApiError(400, "too_many_photos", _("每个工单最多%(n)d张照片") % {"n": MAX_PHOTOS}, "files")
    for f in files:
        if not (f.content_type or "").startswith("image/"):
            raise ApiError(400, "not_an_image", _("只能上传图片：%(f)s") % {"f": f.name}, "files")
        if f.size and f.size > MAX_PHOTO_BYTES:
            raise ApiError(400, "photo_too_large", _("图片不能超过10MB：%(f)s") % {"f": f.name}, "files")
    if stage not in ("intake", "on_site", "result"):
        raise ApiError(400, "bad_stage", _("stage 只能是 intake、on_site 或 result"), "stage")
    from django.db import transaction

    with transaction.atomic():
        photos = [call_service(services.add_photo, case.pk, request.user, f, stage=stage) for f in files]
    return Status(201, {"photos": [p.file.url for p in photos]})


# ---------------------------------------------------------------------------------------------------------
# Lists


# Case lists count at most 1,000 rows (``count_capped`` says when there are more), not the registry's 10,000: a
# filter that matches one case in twenty (overdue, a channel) would otherwise read ~200,000 cases of a city's
# 10 M to count 10,001, for a number nobody pages through — past the first pages people narrow the filter.
LIST_COUNT_CAP = 1_000


@router.get("/", response={200: Paged[CaseRow], **ERRORS}, summary="Cases visible to the caller, filtered")
@policy.operation("cases.read")
def list_cases(
    request: HttpRequest,
    filters: Query[ListFilters],  # type: ignore[type-arg]
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    """Newest first; ``count`` stops at the cap (``count_capped``), as on every list."""
    qs = _visible(request)
    f = filters
    if f.state:
        states = [s for s in f.state.split(",") if s]
        if states == ["open"]:
            states = list(OPEN_STATES)
        bad = [s for s in states if s not in CaseState.values]
        if bad:
            raise ApiError(400, "bad_state", _("未知的状态：%(s)s") % {"s": ",".join(bad)}, "state")
        qs = qs.filter(state__in=states)
    if f.category:
        cat = Category.objects.filter(service_code=f.category).values_list("pk", flat=True).first()
        if cat is None:
            raise ApiError(
                400, "unknown_category", _("未知的诉求类别：%(c)s") % {"c": f.category}, "category"
            )
        qs = qs.filter(category_id=cat)
    if f.grid is not None:
        qs = qs.filter(grid_id=f.grid)
    if f.channel:
        if f.channel not in Channel.values:
            raise ApiError(400, "unknown_channel", _("未知的受理渠道：%(c)s") % {"c": f.channel}, "channel")
        qs = qs.filter(channel=f.channel)
    if f.overdue is not None:
        qs = qs.filter(overdue=f.overdue)
    if f.supervision:
        if f.supervision not in Supervision.values:
            raise ApiError(400, "bad_supervision", _("未知的督办级别"), "supervision")
        qs = qs.filter(supervision=f.supervision)
    out = paginate(
        qs.select_related(*LIST_RELATED).only(*LIST_FIELDS).order_by("-submitted_at", "-id"),
        page,
        page_size,
        cap=LIST_COUNT_CAP,
    )
    return {**out, "items": [_row(c) for c in out["items"]]}


@router.get(
    "/queue",
    response={200: Paged[CaseRow], **ERRORS},
    summary="我的待办: what waits for the caller, most urgent first",
)
@policy.operation("cases.workbench")
def queue(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    """The workbench's default list: assigned to the caller or their unit, whistled to their department, open
    for claiming, or waiting at the desk — open cases only, the nearest deadline first."""
    qs = (
        Case.objects.todo_for(request.user)
        .select_related(*LIST_RELATED)
        .only(*LIST_FIELDS)
        .order_by("resolve_by", "id")
    )
    out = paginate(qs, page, page_size, cap=LIST_COUNT_CAP)
    return {**out, "items": [_row(c) for c in out["items"]]}


# ---------------------------------------------------------------------------------------------------------
# Anonymous outcome lookup


@router.get("/receipt/{code}", auth=None, response={200: ReceiptOut, **ERRORS})
@policy.operation("cases.receipt", sample={"code": "WALKERCODE"})
def receipt(request: HttpRequest, code: str, number: str = "") -> Any:
    """Anyone holding a receipt code sees the outcome; no personal data (no contact, no address)."""
    code = code.strip().upper()
    c: Any
    if number:
        c = services.lookup_by_receipt(number, code)
    else:
        c = (
            Case.objects.select_related("category", "merged_into").filter(receipt_code=code).first()
            if code
            else None
        )
    if c is None:
        raise ApiError(404, "not_found", _("查询码无效"))
    outcome = c.merged_into if c.merged_into_id else c
    return {
        "number": c.number,
        "category": str(c.category.name),
        "state": outcome.state,
        "state_label": str(outcome.get_state_display()),
        "submitted_at": c.submitted_at,
        "resolved_at": outcome.resolved_at,
        "closed_at": outcome.closed_at,
        "result": pii.mask_in_text(outcome.result),
        "merged_into": c.merged_into.number if c.merged_into_id else None,
        "rating": c.rating,
    }


# ---------------------------------------------------------------------------------------------------------
# One case and its transitions


@router.get("/{case_id}", response={200: CaseDetail, **ERRORS}, summary="A case with its timeline")
@policy.operation("cases.read", model="cases.Case")
def case_detail(request: HttpRequest, case_id: int) -> Any:
    c = _detail_qs(request).filter(pk=case_id).first()
    if c is None:
        raise ApiError(404, "not_found", _("工单不存在或不在您的权限范围内"))
    return _detail(request, c)


def _targets(body: ActionIn) -> dict[str, Any]:
    from tongxin.core.models import User
    from tongxin.regions.models import Department, PropertyCompany

    out: dict[str, Any] = {"team_kind": body.team_kind}
    if body.assignee_id is not None:
        out["assignee"] = User.objects.filter(pk=body.assignee_id, is_active=True).first()
        if out["assignee"] is None:
            raise ApiError(400, "unknown_assignee", _("承办人不存在"), "assignee_id")
    if body.property_company_id is not None:
        out["property_company"] = PropertyCompany.objects.filter(pk=body.property_company_id).first()
        if out["property_company"] is None:
            raise ApiError(400, "unknown_property_company", _("物业公司不存在"), "property_company_id")
    if body.department_id is not None:
        out["department"] = Department.objects.filter(pk=body.department_id).first()
        if out["department"] is None:
            raise ApiError(400, "unknown_department", _("部门不存在"), "department_id")
    return out


def _input(name: str, body: ActionIn) -> actions.Input:
    """The action table's input from the API body (the same fields as the case page's forms)."""
    targets = _targets(body) if name in ("dispatch", "transfer") else {}
    return actions.Input.of(
        lambda field: getattr(body, field),
        target=targets,
        round_robin=body.round_robin,
        department_ids=list(body.department_ids),
        call_id=body.call_id,
        department_id=body.department_id,
        primary=str(body.primary_id) if body.primary_id is not None else "",
        at=body.at,
        latitude=body.latitude,
        longitude=body.longitude,
    )


def _action_route(action: actions.CaseAction) -> None:
    """``POST /{case_id}/<name>``: one operation per action of the table, gated by the action's rule."""

    def run(request: HttpRequest, case_id: int, body: ActionIn | None = None) -> Any:
        case = _get_case(request, case_id, action.rule)
        call_service(
            actions.perform, action.name, case, request.user, _input(action.name, body or ActionIn())
        )
        fresh = _detail_qs(request).filter(pk=case.pk).first()
        if fresh is None:  # e.g. a member who returned a claimed case no longer sees it
            fresh = Case.objects.select_related(*LIST_RELATED, "merged_into").get(pk=case.pk)
        return _detail(request, fresh)

    run.__name__ = "case_" + action.name.replace("-", "_")
    run.__doc__ = (
        f"{action.label} (policy action ``{action.rule}``). Errors say what is wrong; the case is unchanged "
        "when one is returned."
    )
    decorated = policy.operation(action.rule, model="cases.Case")(run)
    router.post(
        f"/{{case_id}}/{action.name}",
        response={200: CaseDetail, **ERRORS},
        summary=f"{action.name}: {action.label}",
        operation_id=f"cases_action_{action.name.replace('-', '_')}",
    )(decorated)


for _action in actions.ACTIONS:
    _action_route(_action)
