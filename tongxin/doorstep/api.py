"""Doorstep over the API (thin: the policy and doorstep.services decide; refusals answer the one error body).

Residents (token or session of a phone account): the catalogue of their community, open slots, booking, their
appointments and requests, errands, rooms and piecework. Staff: the back office's requests and finishing them,
calling the next number at a window, the rooms' bookings and the yearly hours per unit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from tongxin.core import policy
from tongxin.core.api import ERRORS, ApiError, Paged, PageNumber, PageSize, paginate, paginate_list
from tongxin.doorstep import reports, services
from tongxin.doorstep.choices import OPEN_REQUEST_STATES, RequestState
from tongxin.doorstep.models import (
    Appointment,
    PieceworkOrder,
    ServiceFunction,
    ServiceRequest,
    ServiceWindow,
    Slot,
    Venue,
    VenueBooking,
)
from tongxin.doorstep.policy import serving_community_id
from tongxin.ledger.policy import resident_of

router = Router(tags=["doorstep"])


class FunctionOut(Schema):
    id: int
    window_id: int
    window_number: int = Field(description="Number of the window that handles it")
    name: str
    category: str
    materials: list[str] = Field(description="What to bring, one item each")
    in_person: bool = Field(description="The resident must come in person (no errand)")
    promised_days: int
    back_office: str
    appointable: bool
    errand: bool

    @staticmethod
    def resolve_window_number(obj: ServiceFunction) -> int:
        return obj.window.number

    @staticmethod
    def resolve_materials(obj: ServiceFunction) -> list[str]:
        return obj.material_list


class SlotOut(Schema):
    id: int
    function_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int


class AppointmentOut(Schema):
    id: int
    function_id: int
    window_id: int
    slot_id: int | None
    day: dt.date
    queue_number: str
    state: str
    name: str


class RequestOut(Schema):
    id: int
    kind: str
    title: str
    name: str
    function_id: int | None
    back_office: str
    due_on: dt.date
    state: str
    result: str
    runner_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None


class ErrandIn(Schema):
    title: str = Field("", max_length=120)
    detail: str = ""
    function_id: int | None = None


class FinishIn(Schema):
    result: str = Field(min_length=1)


class VenueOut(Schema):
    id: int
    name: str
    capacity: int
    opens_at: dt.time
    closes_at: dt.time
    rules: str


class VenueBookingIn(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    purpose: str = Field(min_length=1, max_length=100)
    attendees: int = Field(ge=1)


class VenueBookingOut(Schema):
    id: int
    venue_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    organiser: str
    purpose: str
    attendees: int
    cancelled: bool


class OrderOut(Schema):
    id: int
    factory: str
    item: str
    quantity: int
    claimed: int
    left: int
    unit_price: Decimal
    deadline: dt.date
    quality_notes: str
    state: str


class ClaimIn(Schema):
    quantity: int = Field(ge=1)


class ClaimOut(Schema):
    id: int
    order_id: int
    quantity: int
    state: str


class UnitHoursOut(Schema):
    unit_id: int | None
    name: str
    hours: Decimal
    members: list[dict[str, Any]] = Field(description="name, post_title, sinking_cadre, hours")


def _home(request: HttpRequest) -> int:
    community = serving_community_id(request.user)
    if community is None:
        raise ApiError(409, "no_resident", _("您的账号尚未关联居民信息"))
    return community


# --- resident ------------------------------------------------------------------------------------------------


@router.get(
    "/mine/functions", response={200: Paged[FunctionOut], **ERRORS}, summary="Services of my community"
)
@policy.operation("doorstep.my_services")
def my_functions(
    request: HttpRequest, category: str = "", page: int = PageNumber, page_size: int = PageSize
) -> Any:
    qs = ServiceFunction.objects.filter(community_id=_home(request), active=True).select_related("window")
    if category:
        qs = qs.filter(category=category)
    return paginate(qs.order_by("window__number", "pk"), page, page_size)


@router.get(
    "/mine/slots",
    response={200: Paged[SlotOut], **ERRORS},
    summary="Open slots of a service (``function``) in the next days",
)
@policy.operation("doorstep.my_services")
def my_slots(
    request: HttpRequest,
    function: int = Query(..., description="Service id"),
    days: int = Query(7, ge=1, le=31),
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    found = ServiceFunction.objects.filter(pk=function, community_id=_home(request)).first()
    if found is None:
        raise ApiError(422, "not_found", _("事项不存在"), "function")
    return paginate(services.open_slots_for(resident_of(request.user), found, days), page, page_size)


@router.post(
    "/mine/slots/{int:slot_id}/book",
    response={201: AppointmentOut, **ERRORS},
    summary="Book a slot for myself",
)
@policy.operation("doorstep.book_appointment", model="doorstep.Slot")
def book_slot(request: HttpRequest, slot_id: int) -> Any:
    slot = policy.get_or_deny(
        Slot.objects.select_related("function"), request.user, "doorstep.book_appointment", pk=slot_id
    )
    return Status(201, services.book(request.user, slot))


@router.get("/mine/appointments", response={200: Paged[AppointmentOut], **ERRORS}, summary="My appointments")
@policy.operation("doorstep.view_own")
def my_appointments(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(Appointment.objects.all(), request.user, "doorstep.view_own")
    return paginate(qs.order_by("-day", "-pk"), page, page_size)


@router.get("/mine/requests", response={200: Paged[RequestOut], **ERRORS}, summary="My requests and errands")
@policy.operation("doorstep.view_own")
def my_requests(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = policy.restrict(ServiceRequest.objects.all(), request.user, "doorstep.view_own")
    return paginate(qs.order_by("-created_at", "-pk"), page, page_size)


@router.post("/mine/errands", response={201: RequestOut, **ERRORS}, summary="Ask an errand (代办)")
@policy.operation("doorstep.ask_errand")
def ask_errand(request: HttpRequest, payload: ErrandIn) -> Any:
    function = None
    if payload.function_id is not None:
        function = ServiceFunction.objects.filter(pk=payload.function_id, community_id=_home(request)).first()
        if function is None:
            raise ApiError(422, "not_found", _("事项不存在"), "function_id")
    return Status(
        201, services.ask_errand(request.user, title=payload.title, detail=payload.detail, function=function)
    )


@router.get("/mine/venues", response={200: Paged[VenueOut], **ERRORS}, summary="Rooms I may book")
@policy.operation("doorstep.my_services")
def my_venues(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = Venue.objects.filter(community_id=_home(request), active=True)
    return paginate(qs.order_by("name", "pk"), page, page_size)


@router.post(
    "/mine/venues/{int:venue_id}/bookings",
    response={201: VenueBookingOut, **ERRORS},
    summary="Book a room (refused when it clashes)",
)
@policy.operation("doorstep.book_venue", model="doorstep.Venue")
def book_venue(request: HttpRequest, venue_id: int, payload: VenueBookingIn) -> Any:
    venue = policy.get_or_deny(Venue.objects.all(), request.user, "doorstep.book_venue", pk=venue_id)
    booking = services.book_venue(
        request.user,
        venue,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        purpose=payload.purpose,
        attendees=payload.attendees,
    )
    return Status(201, booking)


@router.get("/mine/piecework", response={200: Paged[OrderOut], **ERRORS}, summary="Open piecework orders")
@policy.operation("doorstep.my_services")
def my_piecework(request: HttpRequest, page: int = PageNumber, page_size: int = PageSize) -> Any:
    qs = PieceworkOrder.objects.filter(community_id=_home(request), state="open")
    return paginate(qs.order_by("deadline", "pk"), page, page_size)


@router.post(
    "/mine/piecework/{int:order_id}/claims",
    response={201: ClaimOut, **ERRORS},
    summary="Claim pieces of an order (never more than is left)",
)
@policy.operation("doorstep.claim_piecework", model="doorstep.PieceworkOrder")
def claim_piecework(request: HttpRequest, order_id: int, payload: ClaimIn) -> Any:
    order = policy.get_or_deny(
        PieceworkOrder.objects.all(), request.user, "doorstep.claim_piecework", pk=order_id
    )
    return Status(201, services.claim(request.user, order, payload.quantity))


# --- staff ---------------------------------------------------------------------------------------------------


@router.get("/requests", response={200: Paged[RequestOut], **ERRORS}, summary="Window requests and errands")
@policy.operation("doorstep.view_requests")
def list_requests(
    request: HttpRequest,
    state: str = Query("open", description="'open', or one state"),
    kind: str = "",
    overdue: bool = False,
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    qs = services.visible_requests(request.user)
    if state == "open":
        qs = qs.filter(state__in=OPEN_REQUEST_STATES)
    elif state in RequestState.values:
        qs = qs.filter(state=state)
    else:
        raise ApiError(422, "invalid", _("状态无效"), "state")
    if kind:
        qs = qs.filter(kind=kind)
    if overdue:
        qs = qs.filter(Q(due_on__lt=timezone.localdate()), state__in=OPEN_REQUEST_STATES)
    return paginate(qs.order_by("due_on", "pk"), page, page_size)


@router.post(
    "/requests/{int:request_id}/finish",
    response={200: RequestOut, **ERRORS},
    summary="The back office finishes a window request",
)
@policy.operation("doorstep.handle_request", model="doorstep.ServiceRequest")
def finish_request(request: HttpRequest, request_id: int, payload: FinishIn) -> Any:
    obj = policy.get_or_deny(
        ServiceRequest.objects.all(), request.user, "doorstep.handle_request", pk=request_id
    )
    return services.finish(request.user, obj, result=payload.result)


@router.post(
    "/windows/{int:window_id}/call-next",
    response={200: AppointmentOut | None, **ERRORS},
    summary="Call the next number at a window (null when nobody waits)",
)
@policy.operation("doorstep.work_window", model="doorstep.ServiceWindow")
def call_next(request: HttpRequest, window_id: int) -> Any:
    window = policy.get_or_deny(
        ServiceWindow.objects.all(), request.user, "doorstep.work_window", pk=window_id
    )
    return services.call_next(request.user, window)


@router.get(
    "/venues/{int:venue_id}/bookings",
    response={200: Paged[VenueBookingOut], **ERRORS},
    summary="Current bookings of a room",
)
@policy.operation("doorstep.view_venues", model="doorstep.Venue")
def venue_bookings(
    request: HttpRequest, venue_id: int, page: int = PageNumber, page_size: int = PageSize
) -> Any:
    venue = policy.get_or_deny(Venue.objects.all(), request.user, "doorstep.view_venues", pk=venue_id)
    qs = VenueBooking.objects.filter(venue=venue, cancelled=False, ends_at__gt=timezone.now())
    return paginate(qs.order_by("starts_at", "pk"), page, page_size)


@router.get(
    "/hours",
    response={200: Paged[UnitHoursOut], **ERRORS},
    summary="Yearly service hours of dual-registered members, by unit",
)
@policy.operation("doorstep.export_hours")
def yearly_hours(
    request: HttpRequest,
    year: int = Query(None, ge=2000, le=2100),  # type: ignore[assignment]
    page: int = PageNumber,
    page_size: int = PageSize,
) -> Any:
    units = reports.yearly_hours(request.user, year or timezone.localdate().year)
    rows = [
        {
            "unit_id": u.unit_id,
            "name": u.name,
            "hours": u.hours,
            "members": [
                {
                    "name": m.member.resident.name,
                    "post_title": m.member.post_title,
                    "sinking_cadre": m.member.sinking_cadre,
                    "hours": str(m.hours),
                }
                for m in u.members
            ],
        }
        for u in units
    ]
    return paginate_list(rows, page, page_size)
