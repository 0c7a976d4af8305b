"""Cases API (mounted at /api/v1/cases/): intake with Idempotency-Key, lists, queue, detail, transitions,
routing help (category suggestion, address resolution, likely duplicates), categories, receipt lookup.

Thin: every write is a :mod:`tongxin.cases.services` call; every read goes through
``Case.objects.visible_to(user)`` (out of scope → 404). Errors are JSON ``{"code", "message", "field"}``:
400 bad input, 403 not allowed, 404 not found or out of scope, 409 the case's state does not allow it,
422 malformed request (schema). Nothing is changed when an error is returned.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from tongxin.cases import duplicates, services, suggest
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
from tongxin.regions.scoping import scope_for

router = Router(tags=["cases"])

MAX_PAGE_SIZE = 100
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 9


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class ErrorOut(Schema):
    code: str
    message: str
    field: str = ""


def error_response(status: int, code: str, message: str, field: str = "") -> Status:
    return Status(status, {"code": code, "message": str(message), "field": field})


def _status_for(e: CaseError) -> int:
    if isinstance(e, TransitionError):
        return 409
    return {"forbidden": 403, "already_claimed": 409, "already_whistled": 409}.get(e.code, 400)


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
    "same_category": "category",
}


def call_service(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service and turn its errors into :class:`ApiError` (the service rolled everything back)."""
    try:
        return fn(*args, **kwargs)
    except CaseError as e:
        raise ApiError(_status_for(e), e.code, e.message, _FIELD_OF_CODE.get(e.code, "")) from None
    except ValidationError as e:
        raise ApiError(400, "invalid", "; ".join(str(m) for m in e.messages)) from None


def _guard(view: Any) -> Any:
    """Map :class:`ApiError` to the JSON error body (decorator below each route)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except ApiError as e:
            return error_response(e.status, e.code, e.message, e.field)

    return wrapped


ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}

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


class CaseIn(Schema):
    category: str
    description: str
    title: str = ""
    channel: (
        Literal["api", "resident_app", "hotline", "grid_patrol", "front_desk", "window", "suggestion_box"]
        | None
    ) = None
    dwelling_id: int | None = None
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    contact_name: str = ""
    contact_phone: str = ""
    attributes: dict[str, Any] = {}


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


class CasePage(Schema):
    items: list[CaseRow]
    page: int
    page_size: int
    has_next: bool


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
    receipt_code: str
    photos: list[str]
    whistle_calls: list[WhistleOut]
    timeline: list[EventOut]


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
    category: str = ""


class ListFilters(Schema):
    state: str | None = None
    category: str | None = None
    grid: int | None = None
    channel: str | None = None
    overdue: bool | None = None
    supervision: str | None = None
    page: int = 1
    page_size: int = 20


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
        "title": c.title,
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


def _visible(request: HttpRequest) -> Any:
    return Case.objects.visible_to(request.user)


def _get_case(request: HttpRequest, case_id: int) -> Case:
    case = _visible(request).filter(pk=case_id).first()
    if case is None:
        raise ApiError(404, "not_found", _("工单不存在或不在您的权限范围内"))
    return case


def _resident_of(user: Any) -> Any:
    from tongxin.people.models import Resident

    if not getattr(user, "is_authenticated", False):
        return None
    return Resident.objects.filter(user_id=user.pk).select_related("dwelling").first()


def _details(e: CaseEvent) -> dict[str, Any]:
    keep = ("note", "reason", "comment", "result", "plan", "rating", "text", "departments", "primary_number")
    return {k: v for k, v in (e.payload or {}).items() if k in keep and v not in (None, "", [])}


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
        "description": c.description,
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
        "result": c.result,
        "rating": c.rating,
        "rating_comment": c.rating_comment,
        "state_reason": c.state_reason,
        "merged_into": c.merged_into.number if c.merged_into_id else None,
        "receipt_code": c.receipt_code,
        "photos": [] if new else [p.file.url for p in c.photos.all()],
        "whistle_calls": [
            {
                "id": w.pk,
                "department_id": w.department_id,
                "department": str(w.department.short_name or w.department.name),
                "whistled_at": w.whistled_at,
                "report_by": w.report_by,
                "reported_at": w.reported_at,
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
                "details": _details(e),
            }
            for e in events
        ],
    }


def _detail_qs(request: HttpRequest) -> Any:
    return _visible(request).select_related(*LIST_RELATED, "merged_into")


# ---------------------------------------------------------------------------------------------------------
# Reference data and routing help


@router.get("/categories/", response=list[CategoryOut], summary="Active categories (for intake forms)")
def categories(request: HttpRequest) -> list[dict[str, Any]]:
    rows = (
        Category.objects.filter(active=True).select_related("parent", "policy").order_by("sort_order", "id")
    )
    return [
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
@_guard
def suggest_view(
    request: HttpRequest,
    text: str = "",
    address: str = "",
    lat: float | None = None,
    long: float | None = None,
    category: str = "",
    dwelling_id: int | None = None,
) -> Any:
    """Top-3 categories with confidence, the place the address resolves to, and likely duplicates
    (open cases of the last days, same building or nearby, similar text, visible to the caller)."""
    from tongxin.regions.address import resolve_address
    from tongxin.regions.models import Dwelling

    if len(text) > 4000:
        raise ApiError(400, "description_too_long", _("诉求内容不能超过4000字"), "text")
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
@_guard
def suggest_feedback(request: HttpRequest, payload: FeedbackIn) -> Any:
    """Staff confirm or correct a suggested category; corrections become training data."""
    scope = scope_for(request.user)
    if not scope.has_role("subdistrict_admin", "community_staff", "grid_worker"):
        raise ApiError(403, "forbidden", _("只有工作人员可以确认类别"))
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
    """The channels a caller may submit through: everyone the API and the phone; registry staff (subdistrict,
    community, grid workers) also 热线, 网格巡查, 服务窗口 and the suggestion box they empty."""
    allowed: set[str] = {Channel.API, Channel.RESIDENT_APP}
    if scope_for(user).has_role("subdistrict_admin", "community_staff", "grid_worker"):
        allowed |= {*STAFF_CHANNELS, Channel.SUGGESTION_BOX}
    return allowed


def _same_request(case: Case, payload: CaseIn) -> bool:
    return case.category.service_code == payload.category and case.description == payload.description.strip()


@router.post(
    "/",
    response={200: CaseDetail, 201: CaseDetail, **ERRORS},
    summary="Submit a case (Idempotency-Key honoured)",
)
@_guard
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
    if created:  # the caller just made it: no need to re-check its scope
        fresh = Case.objects.select_related(*LIST_RELATED, "merged_into").get(pk=case.pk)
        return Status(201, _detail(request, fresh, new=True))
    full = _detail_qs(request).filter(pk=case.pk).first() or case
    return Status(200, _detail(request, full))


@router.post("/{case_id}/photos", response={201: dict, **ERRORS})
@_guard
def upload_photos(
    request: HttpRequest,
    case_id: int,
    files: list[UploadedFile] = File(...),  # noqa: B008
    stage: str = Form("intake"),
) -> Any:
    """Photos for a case (multipart, field ``files``; images only, ≤ 10 MB each, ≤ 9 per case)."""
    case = _get_case(request, case_id)
    if case.photos.count() + len(files) > MAX_PHOTOS:
        raise ApiError(400, "too_many_photos", _("每个工单最多%(n)d张照片") % {"n": MAX_PHOTOS}, "files")
    for f in files:
        if not (f.content_type or "").startswith("image/"):
            raise ApiError(400, "not_an_image", _("只能上传图片：%(f)s") % {"f": f.name}, "files")
        if f.size and f.size > MAX_PHOTO_BYTES:
            raise ApiError(400, "photo_too_large", _("图片不能超过10MB：%(f)s") % {"f": f.name}, "files")
    if stage not in ("intake", "result"):
        raise ApiError(400, "bad_stage", _("stage 只能是 intake 或 result"), "stage")
    from django.db import transaction

    with transaction.atomic():
        photos = [call_service(services.add_photo, case.pk, request.user, f, stage=stage) for f in files]
    return Status(201, {"photos": [p.file.url for p in photos]})


# ---------------------------------------------------------------------------------------------------------
# Lists


@router.get("/", response={200: CasePage, **ERRORS}, summary="Cases visible to the caller, filtered")
@_guard
def list_cases(request: HttpRequest, filters: Query[ListFilters]) -> Any:  # type: ignore[type-arg]
    """Newest first. ``has_next`` instead of a total count: counting millions of rows per page is not worth it."""
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
    size = max(1, min(f.page_size, MAX_PAGE_SIZE))
    page = max(1, f.page)
    start = (page - 1) * size
    rows = list(qs.select_related(*LIST_RELATED).order_by("-submitted_at", "-id")[start : start + size + 1])
    return {
        "items": [_row(c) for c in rows[:size]],
        "page": page,
        "page_size": size,
        "has_next": len(rows) > size,
    }


@router.get("/queue", response=CasePage, summary="The caller's own open cases, most urgent first")
def queue(request: HttpRequest, page: int = 1, page_size: int = 50) -> dict[str, Any]:
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    start = (page - 1) * size
    rows = list(Case.objects.queue_for(request.user).select_related(*LIST_RELATED)[start : start + size + 1])
    return {
        "items": [_row(c) for c in rows[:size]],
        "page": page,
        "page_size": size,
        "has_next": len(rows) > size,
    }


# ---------------------------------------------------------------------------------------------------------
# Anonymous outcome lookup


@router.get("/receipt/{code}", auth=None, response={200: ReceiptOut, **ERRORS})
@_guard
def receipt(request: HttpRequest, code: str, number: str = "") -> Any:
    """Anyone holding a receipt code sees the outcome; no personal data (no contact, no address)."""
    from tongxin.cases.open311 import mask_personal

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
        "result": mask_personal(outcome.result),
        "merged_into": c.merged_into.number if c.merged_into_id else None,
        "rating": c.rating,
    }


# ---------------------------------------------------------------------------------------------------------
# One case and its transitions


@router.get("/{case_id}", response={200: CaseDetail, **ERRORS}, summary="A case with its timeline")
@_guard
def case_detail(request: HttpRequest, case_id: int) -> Any:
    c = _detail_qs(request).filter(pk=case_id).first()
    if c is None:
        raise ApiError(404, "not_found", _("工单不存在或不在您的权限范围内"))
    return _detail(request, c)


Action = Literal[
    "accept",
    "reject",
    "dispatch",
    "round-robin",
    "open-for-claiming",
    "claim",
    "start",
    "on-site",
    "plan",
    "return",
    "transfer",
    "whistle",
    "report-in",
    "rate-department",
    "resolve",
    "rate",
    "not-fixed",
    "follow-up",
    "close",
    "merge",
    "comment",
    "reclassify",
]


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


def _whistle_call(case: Case, body: ActionIn, user: Any) -> WhistleCall:
    calls = WhistleCall.objects.filter(case=case)
    if body.call_id is not None:
        calls = calls.filter(pk=body.call_id)
    elif body.department_id is not None:
        calls = calls.filter(department_id=body.department_id)
    else:
        depts = scope_for(user).department_ids
        if depts:
            calls = calls.filter(department_id__in=sorted(depts))
    found = list(calls.order_by("pk")[:2])
    if len(found) != 1:
        raise ApiError(
            400,
            "which_whistle_call",
            _("请指明吹哨记录（call_id 或 department_id）") if found else _("没有对应的吹哨记录"),
            "call_id",
        )
    return found[0]


def _run_action(request: HttpRequest, case: Case, action: str, body: ActionIn) -> Any:
    user = request.user
    s = services
    if action == "accept":
        return call_service(s.accept, case.pk, user)
    if action == "reject":
        return call_service(s.reject, case.pk, user, body.reason)
    if action in ("dispatch", "round-robin"):
        if action == "round-robin" or body.round_robin:
            return call_service(s.round_robin, case.pk, user)
        return call_service(s.dispatch, case.pk, user, note=body.note, **_targets(body))
    if action == "open-for-claiming":
        return call_service(s.open_for_claiming, case.pk, user, note=body.note)
    if action == "claim":
        return call_service(s.claim, case.pk, user)
    if action == "start":
        return call_service(s.start, case.pk, user)
    if action == "on-site":
        return call_service(s.mark_on_site, case.pk, user)
    if action == "plan":
        return call_service(s.record_plan, case.pk, user, body.plan)
    if action == "return":
        return call_service(s.return_case, case.pk, user, body.reason)
    if action == "transfer":
        return call_service(s.transfer, case.pk, user, reason=body.reason or body.note, **_targets(body))
    if action == "whistle":
        from tongxin.regions.models import Department

        ids = body.department_ids or ([body.department_id] if body.department_id else [])
        depts = list(Department.objects.filter(pk__in=ids).order_by("pk"))
        if len(depts) != len(set(ids)):
            raise ApiError(400, "unknown_department", _("部门不存在"), "department_ids")
        return call_service(s.whistle, case.pk, user, depts, note=body.note)
    if action == "report-in":
        return call_service(s.report_in, _whistle_call(case, body, user).pk, user, note=body.note)
    if action == "rate-department":
        if not isinstance(body.rating, int) or not 1 <= body.rating <= 5:
            raise ApiError(400, "bad_rating", _("部门评分应为1到5"), "rating")
        call = _whistle_call(case, body, user)
        return call_service(s.rate_department, call.pk, user, body.rating, body.comment)
    if action == "resolve":
        return call_service(s.resolve, case.pk, user, body.result)
    if action in ("rate", "follow-up"):
        rating = str(body.rating or "")
        if action == "rate":
            return call_service(
                s.confirm_and_rate, case.pk, user, rating, body.comment, receipt_code=body.receipt_code
            )
        return call_service(s.follow_up_call, case.pk, user, rating, body.comment)
    if action == "not-fixed":
        return call_service(s.not_fixed, case.pk, user, body.comment, receipt_code=body.receipt_code)
    if action == "close":
        return call_service(s.close, case.pk, user, note=body.note)
    if action == "merge":
        if body.primary_id is None:
            raise ApiError(400, "primary_required", _("请指明合并到的主工单"), "primary_id")
        primary = _visible(request).filter(pk=body.primary_id).first()
        if primary is None:
            raise ApiError(404, "not_found", _("主工单不存在或不在您的权限范围内"), "primary_id")
        return call_service(s.merge, case.pk, primary.pk, user)
    if action == "comment":
        return call_service(s.comment, case.pk, user, body.comment or body.note)
    if action == "reclassify":
        if not body.category:
            raise ApiError(400, "category_required", _("请指明新类别"), "category")
        return call_service(s.reclassify, case.pk, user, body.category, reason=body.reason)
    raise ApiError(404, "unknown_action", _("未知的操作：%(a)s") % {"a": action})  # pragma: no cover


@router.post(
    "/{case_id}/{action}",
    response={200: CaseDetail, **ERRORS},
    summary="A transition (accept, dispatch, claim, whistle, resolve, rate ...)",
)
@_guard
def case_action(request: HttpRequest, case_id: int, action: Action, body: ActionIn | None = None) -> Any:
    """Run one service on the case. Errors say what is wrong; the case is unchanged when one is returned."""
    case = _get_case(request, case_id)
    _run_action(request, case, action, body or ActionIn())
    fresh = _detail_qs(request).filter(pk=case.pk).first()
    if fresh is None:  # e.g. a member who returned a claimed case no longer sees it
        fresh = Case.objects.select_related(*LIST_RELATED, "merged_into").get(pk=case.pk)
    return _detail(request, fresh)
