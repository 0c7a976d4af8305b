"""Doorstep pages. Staff (desktop): the window desk and its queue, the catalogue, the back office's requests,
errands, piecework, merchants, rooms and the yearly hours export. Residents (phone, 375 px): book an appointment,
ask an errand, book a room or a merchant, take piecework, follow their requests.

Views are thin: parse, call :mod:`tongxin.doorstep.services`, redirect with a message; a refusal by the services
is shown as the message it carries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Avg, Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.core import policy
from tongxin.core.exports import attachment, csv_row
from tongxin.doorstep import reports, services
from tongxin.doorstep.choices import (
    FREE_DELIVERY_AGE,
    OPEN_APPOINTMENT_STATES,
    OPEN_REQUEST_STATES,
    AppointmentState,
    BookingState,
    MerchantCategory,
    RequestKind,
    RequestState,
)
from tongxin.doorstep.models import (
    Appointment,
    Merchant,
    MerchantBooking,
    PieceworkClaim,
    PieceworkOrder,
    ServiceFunction,
    ServiceRequest,
    ServiceWindow,
    ShopItem,
    ShopOrder,
    Slot,
    Venue,
    VenueBooking,
)
from tongxin.ledger.policy import resident_of
from tongxin.party.models import CoBuildingUnit
from tongxin.regions.models import Region
from tongxin.regions.policy import community_ids

PAGE = 30


def _run(request: HttpRequest, fn: Callable[[], Any], success: str = "") -> Any:
    """Call a service; show its refusal as a message. Returns the result, or None when refused."""
    try:
        result = fn()
    except ValidationError as exc:
        messages.error(request, " ".join(str(m) for m in exc.messages))
        return None
    except policy.PolicyDenied as exc:
        if exc.decision is policy.Decision.NOT_FOUND:
            raise Http404 from exc
        raise PermissionDenied(exc.message) from exc
    if success:
        messages.success(request, success)
    return result


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _time(value: Any) -> dt.time | None:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        return None


def _aware(day: dt.date | None, at: dt.time | None) -> dt.datetime | None:
    if day is None or at is None:
        return None
    return dt.datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


def _communities(user: Any) -> list[Region]:
    return list(Region.objects.filter(pk__in=community_ids(user)).order_by("path"))


def _community_choice(request: HttpRequest) -> Region | None:
    """The community the staff page shows: ``?community=`` among the user's, else the first."""
    options = _communities(request.user)
    wanted = _int(request.GET.get("community") or request.POST.get("community"))
    return next((c for c in options if c.pk == wanted), options[0] if options else None)


# ------------------------------------------------------------------------------------------ the window desk
@policy.page("doorstep.work_window")
def desk(request: HttpRequest) -> HttpResponse:
    """The window's screen: today's queue of one window, call the next number, serve or mark absent, issue a
    number to a walk-in."""
    windows = list(
        policy.restrict(ServiceWindow.objects.filter(active=True), request.user, "doorstep.work_window")
        .select_related("community")
        .order_by("community_id", "number")
    )
    today = timezone.localdate()
    wanted = _int(request.GET.get("window"))
    if not wanted and windows:  # open on the window where people wait today
        wanted = (
            Appointment.objects.filter(
                window__in=windows, day=today, state__in=[AppointmentState.BOOKED, AppointmentState.WAITING]
            )
            .order_by("window__number")
            .values_list("window_id", flat=True)
            .first()
            or 0
        )
    window = next((w for w in windows if w.pk == wanted), windows[0] if windows else None)
    queue: list[Appointment] = []
    functions: list[ServiceFunction] = []
    if window is not None:
        queue = list(
            Appointment.objects.filter(window=window, day=today)
            .select_related("function", "slot", "request")
            .order_by("queue_number")
        )
        functions = list(window.functions.filter(active=True).order_by("pk"))
    waiting = sum(1 for a in queue if a.state in (AppointmentState.BOOKED, AppointmentState.WAITING))
    return render(
        request,
        "doorstep/desk.html",
        {
            "windows": windows,
            "window": window,
            "queue": queue,
            "functions": functions,
            "waiting": waiting,
            "today": today,
        },
    )


@require_POST
@policy.page("doorstep.work_window", model="doorstep.ServiceWindow")
def desk_action(request: HttpRequest, pk: int) -> HttpResponse:
    window = policy.get_or_deny(ServiceWindow.objects.all(), request.user, "doorstep.work_window", pk=pk)
    what = request.POST.get("do", "")
    if what == "call_next":
        called = _run(request, lambda: services.call_next(request.user, window))
        if called is not None:
            messages.success(
                request, _("已叫号：%(n)s %(name)s") % {"n": called.queue_number, "name": called.name}
            )
        elif not list(messages.get_messages(request)):
            messages.info(request, _("没有等候的号"))
    elif what == "ticket":
        function = window.functions.filter(pk=_int(request.POST.get("function"))).first()
        if function is None:
            messages.error(request, _("请选择事项"))
        else:
            t = _run(
                request,
                lambda: services.take_ticket(request.user, function, name=request.POST.get("name", "")),
            )
            if t is not None:
                messages.success(request, _("已取号：%(n)s") % {"n": t.queue_number})
    elif what in ("call", "serve", "no_show"):
        appointment = Appointment.objects.filter(
            window=window, pk=_int(request.POST.get("appointment"))
        ).first()
        if appointment is None:
            raise Http404
        if what == "call":
            _run(request, lambda: services.call(request.user, appointment), _("已叫号"))
        elif what == "no_show":
            _run(request, lambda: services.no_show(request.user, appointment), _("已记为未到"))
        else:
            _run(
                request,
                lambda: services.serve(request.user, appointment, detail=request.POST.get("detail", "")),
                _("已受理，转后台办理") if appointment.function.back_office else _("已办理"),
            )
    return redirect(f"{_url('doorstep:desk')}?window={window.pk}")


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


# -------------------------------------------------------------------------------------------- catalogue
@policy.page("doorstep.view_catalogue")
def catalogue(request: HttpRequest) -> HttpResponse:
    community = _community_choice(request)
    if request.method == "POST" and community is not None:
        what = request.POST.get("do")
        p = request.POST
        if what == "window":
            _run(
                request,
                lambda: services.create_window(
                    request.user, community=community, number=_int(p.get("number")), name=p.get("name", "")
                ),
                _("窗口已添加"),
            )
        elif what == "function":
            window = ServiceWindow.objects.filter(community=community, pk=_int(p.get("window"))).first()
            if window is None:
                messages.error(request, _("请选择窗口"))
            else:
                _run(
                    request,
                    lambda: services.create_function(
                        request.user,
                        window=window,
                        name=p.get("name", ""),
                        category=p.get("category", ""),
                        materials=p.get("materials", ""),
                        in_person=bool(p.get("in_person")),
                        promised_days=_int(p.get("promised_days"), 5),
                        back_office=p.get("back_office", ""),
                    ),
                    _("事项已添加"),
                )
        elif what == "slots":
            function = ServiceFunction.objects.filter(community=community, pk=_int(p.get("function"))).first()
            day = _date(p.get("day"))
            times = []
            start, end = _time(p.get("start")), _time(p.get("end"))
            minutes = _int(p.get("minutes"), 30)
            if function is None or day is None or start is None or end is None or minutes < 5:
                messages.error(request, _("请选择事项、日期和时间"))
            else:
                t = dt.datetime.combine(day, start)
                while (t + dt.timedelta(minutes=minutes)).time() <= end and t.date() == day:
                    times.append((t.time(), (t + dt.timedelta(minutes=minutes)).time()))
                    t += dt.timedelta(minutes=minutes)
                _run(
                    request,
                    lambda: services.open_slots(
                        request.user, function, day=day, times=times, capacity=_int(p.get("capacity"), 1)
                    ),
                    _("已开放%(n)d个时段") % {"n": len(times)},
                )
        return redirect(f"{_url('doorstep:catalogue')}?community={community.pk}")
    windows = []
    if community is not None:
        windows = list(
            ServiceWindow.objects.filter(community=community)
            .prefetch_related(Prefetch("functions", queryset=ServiceFunction.objects.order_by("pk")))
            .order_by("number")
        )
    n_functions = sum(len(w.functions.all()) for w in windows)
    return render(
        request,
        "doorstep/catalogue.html",
        {
            "communities": _communities(request.user),
            "community": community,
            "windows": windows,
            "n_functions": n_functions,
            "tomorrow": timezone.localdate() + dt.timedelta(days=1),
        },
    )


# ------------------------------------------------------------------------------------- requests and errands
@policy.page("doorstep.view_requests")
def request_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    kind = request.GET.get("kind", "")
    qs = services.visible_requests(request.user).select_related("function", "runner", "community")
    if state == "open":
        qs = qs.filter(state__in=OPEN_REQUEST_STATES).order_by("due_on", "pk")
    elif state in RequestState.values:
        qs = qs.filter(state=state).order_by("-created_at", "-pk")
    if kind in RequestKind.values:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "doorstep/request_list.html",
        {
            "page": page,
            "state": state,
            "kind": kind,
            "states": RequestState.choices,
            "query": f"state={state}&kind={kind}",
            "today": timezone.localdate(),
        },
    )


def _request_page(request: HttpRequest, obj: ServiceRequest, back: str) -> HttpResponse:
    return render(
        request,
        "doorstep/request_detail.html",
        {
            "obj": obj,
            "events": obj.events.select_related("actor").order_by("at", "pk"),
            "hand_overs": obj.hand_overs.order_by("signed_at", "pk"),
            "back": back,
            "phone": back == "errands",
        },
    )


_REQUEST_QS = ServiceRequest.objects.select_related(
    "function", "runner", "received_by", "resident", "community"
)


@policy.page("doorstep.view_requests", model="doorstep.ServiceRequest")
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = policy.get_or_deny(_REQUEST_QS, request.user, "doorstep.view_requests", pk=pk)
    if request.method == "POST":
        _request_post(request, obj)
        return redirect("doorstep:request", pk=obj.pk)
    return _request_page(request, obj, "requests")


@policy.page("doorstep.view_errands", model="doorstep.ServiceRequest")
def errand_detail(request: HttpRequest, pk: int) -> HttpResponse:
    obj = policy.get_or_deny(_REQUEST_QS, request.user, "doorstep.view_errands", pk=pk)
    if request.method == "POST":
        _request_post(request, obj)
        return redirect("doorstep:errand", pk=obj.pk)
    return _request_page(request, obj, "errands")


def _request_post(request: HttpRequest, obj: ServiceRequest) -> None:
    p, user = request.POST, request.user
    what = p.get("do", "")
    if what == "finish":
        _run(request, lambda: services.finish(user, obj, result=p.get("result", "")), _("已办结，已通知居民"))
    elif what == "return":
        _run(request, lambda: services.return_request(user, obj, reason=p.get("reason", "")), _("已退回"))
    elif what == "take":
        _run(request, lambda: services.take_errand(user, obj), _("已接单"))
    elif what == "hand_in":
        _run(
            request,
            lambda: services.hand_in(
                user, obj, documents=p.get("documents", ""), signed_by=p.get("signed_by", "")
            ),
            _("材料已签收"),
        )
    elif what == "hand_back":
        _run(
            request,
            lambda: services.hand_back(
                user,
                obj,
                documents=p.get("documents", ""),
                signed_by=p.get("signed_by", ""),
                hours=p.get("hours") or None,
            ),
            _("已签字交还"),
        )


@policy.page("doorstep.view_errands")
def errand_list(request: HttpRequest) -> HttpResponse:
    qs = policy.restrict(ServiceRequest.objects.all(), request.user, "doorstep.view_errands").select_related(
        "runner"
    )
    uid = request.user.pk
    open_rows = list(qs.filter(state=RequestState.REQUESTED).order_by("due_on", "pk")[:100])
    mine = list(
        qs.filter(
            runner_id=uid, state__in=[RequestState.TAKEN, RequestState.HANDLING, RequestState.DONE]
        ).order_by("due_on", "pk")[:100]
    )
    recent = list(qs.filter(runner_id=uid, state=RequestState.HANDED_BACK).order_by("-done_at", "-pk")[:20])
    return render(
        request, "doorstep/errand_list.html", {"open_rows": open_rows, "mine": mine, "recent": recent}
    )


# ---------------------------------------------------------------------------------------------- piecework
@policy.page("doorstep.view_piecework")
def piecework(request: HttpRequest) -> HttpResponse:
    community = _community_choice(request)
    if request.method == "POST" and community is not None:
        p = request.POST
        try:
            price = Decimal(p.get("unit_price") or "0")
        except InvalidOperation:
            price = Decimal("0")
        deadline = _date(p.get("deadline")) or timezone.localdate() - dt.timedelta(days=1)
        order = _run(
            request,
            lambda: services.create_order(
                request.user,
                community=community,
                factory=p.get("factory", ""),
                item=p.get("item", ""),
                quantity=_int(p.get("quantity")),
                unit_price=price,
                deadline=deadline,
                quality_notes=p.get("quality_notes", ""),
            ),
            _("订单已登记"),
        )
        if order is not None:
            return redirect("doorstep:piecework_order", pk=order.pk)
    orders = policy.restrict(
        PieceworkOrder.objects.select_related("community"), request.user, "doorstep.view_piecework"
    )
    page = Paginator(orders.order_by("-created_at", "-pk"), PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "doorstep/piecework.html",
        {"page": page, "community": community, "communities": _communities(request.user), "query": ""},
    )


@policy.page("doorstep.view_piecework", model="doorstep.PieceworkOrder")
def piecework_order(request: HttpRequest, pk: int) -> HttpResponse:
    order = policy.get_or_deny(PieceworkOrder.objects.all(), request.user, "doorstep.view_piecework", pk=pk)
    if request.method == "POST":
        p = request.POST
        what = p.get("do")
        if what == "hand_in":
            row = order.claims.filter(pk=_int(p.get("claim"))).first()
            if row is None:
                raise Http404
            _run(
                request,
                lambda: services.accept_hand_in(
                    request.user, row, accepted=_int(p.get("accepted"), -1), rejected=_int(p.get("rejected"))
                ),
                _("已验收"),
            )
        elif what == "paid":
            n = _run(request, lambda: services.mark_paid(request.user, order))
            if n is not None:
                messages.success(request, _("已结算%(n)d笔") % {"n": n})
        elif what == "close":
            _run(request, lambda: services.close_order(request.user, order), _("订单已结束"))
        return redirect("doorstep:piecework_order", pk=order.pk)
    claims = list(order.claims.select_related("resident").order_by("pk"))
    return render(
        request,
        "doorstep/piecework_order.html",
        {"order": order, "claims": claims, "pay": sum((c.pay for c in claims), Decimal("0"))},
    )


@policy.page("doorstep.manage_piecework", model="doorstep.PieceworkOrder")
def piecework_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The piece-pay sheet of an order for the finance office (CSV, opens in Excel)."""
    order = policy.get_or_deny(PieceworkOrder.objects.all(), request.user, "doorstep.manage_piecework", pk=pk)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["委托企业", "加工内容", "居民", "领取", "合格", "不合格", "单价", "计件工资", "状态"])
    for c in order.claims.select_related("resident").order_by("pk"):
        writer.writerow(
            csv_row(
                [
                    order.factory,
                    order.item,
                    c.resident.name,
                    c.quantity,
                    c.accepted,
                    c.rejected,
                    order.unit_price,
                    c.pay,
                    c.get_state_display(),
                ]
            )
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment(f"{order.factory}-{order.item}-计件工资.csv")
    return response


# ---------------------------------------------------------------------------------------------- merchants
@policy.page("doorstep.view_merchants")
def merchants(request: HttpRequest) -> HttpResponse:
    community = _community_choice(request)
    if request.method == "POST":
        p = request.POST
        if p.get("do") == "add" and community is not None:
            _run(
                request,
                lambda: services.add_merchant(
                    request.user,
                    community=community,
                    name=p.get("name", ""),
                    category=p.get("category", ""),
                    services=p.get("services", ""),
                    discount=p.get("discount", ""),
                    service_area=p.get("service_area", ""),
                    phone=p.get("phone", ""),
                ),
                _("商户已加入便民服务队"),
            )
        elif p.get("do") in (BookingState.DONE, BookingState.CANCELLED):
            booking = policy.get_or_deny(
                MerchantBooking.objects.all(),
                request.user,
                "doorstep.view_merchants",
                pk=_int(p.get("booking")),
            )
            _run(
                request,
                lambda: services.complete_booking(request.user, booking, to=p.get("do", "")),
                _("已更新"),
            )
        return redirect(f"{_url('doorstep:merchants')}?community={community.pk if community else ''}")
    rows = (
        policy.restrict(Merchant.objects.all(), request.user, "doorstep.view_merchants")
        .annotate(
            rating=Avg("bookings__rating"),
            done=Count("bookings", filter=Q(bookings__state=BookingState.DONE)),
        )
        .order_by("community_id", "category", "name")
    )
    bookings = (
        policy.restrict(MerchantBooking.objects.all(), request.user, "doorstep.view_merchants")
        .filter(state=BookingState.BOOKED)
        .select_related("merchant", "resident")
        .order_by("wanted_on", "pk")[:100]
    )
    return render(
        request,
        "doorstep/merchants.html",
        {
            "merchants": rows,
            "bookings": bookings,
            "community": community,
            "communities": _communities(request.user),
            "categories": MerchantCategory.choices,
        },
    )


# ------------------------------------------------------------------------------------------------- venues
@policy.page("doorstep.view_venues")
def venues(request: HttpRequest) -> HttpResponse:
    community = _community_choice(request)
    if request.method == "POST":
        p = request.POST
        if p.get("do") == "cancel":
            booking = policy.get_or_deny(
                VenueBooking.objects.all(), request.user, "doorstep.view_venues", pk=_int(p.get("booking"))
            )
            _run(request, lambda: services.cancel_venue_booking(request.user, booking), _("已取消预约"))
        elif p.get("do") == "book":
            venue = policy.get_or_deny(
                Venue.objects.all(), request.user, "doorstep.view_venues", pk=_int(p.get("venue"))
            )
            unit = CoBuildingUnit.objects.filter(
                pk=_int(p.get("unit")), communities=venue.community_id
            ).first()
            day = _date(p.get("day"))
            _run(
                request,
                lambda: services.book_venue(
                    request.user,
                    venue,
                    starts_at=_aware(day, _time(p.get("start"))) or timezone.now(),
                    ends_at=_aware(day, _time(p.get("end"))) or timezone.now(),
                    purpose=p.get("purpose", ""),
                    attendees=_int(p.get("attendees")),
                    organiser=p.get("organiser", ""),
                    co_building_unit=unit,
                ),
                _("预约成功"),
            )
        elif p.get("do") == "add" and community is not None:
            _run(
                request,
                lambda: services.create_venue(
                    request.user,
                    community=community,
                    name=p.get("name", ""),
                    capacity=_int(p.get("capacity")),
                    opens_at=_time(p.get("opens_at")) or dt.time(8),
                    closes_at=_time(p.get("closes_at")) or dt.time(21),
                    rules=p.get("rules", ""),
                ),
                _("场地已添加"),
            )
        return redirect(f"{_url('doorstep:venues')}?community={community.pk if community else ''}")
    now = timezone.now()
    rows = list(
        policy.restrict(Venue.objects.all(), request.user, "doorstep.view_venues")
        .filter(community=community)
        .prefetch_related(
            Prefetch(
                "bookings",
                queryset=VenueBooking.objects.filter(
                    cancelled=False, ends_at__gt=now, starts_at__lt=now + dt.timedelta(days=14)
                )
                .select_related("co_building_unit")
                .order_by("starts_at"),
                to_attr="upcoming",
            )
        )
        .order_by("name")
    )
    units = CoBuildingUnit.objects.filter(communities=community).order_by("name") if community else []
    return render(
        request,
        "doorstep/venues.html",
        {
            "venues": rows,
            "community": community,
            "communities": _communities(request.user),
            "units": units,
            "tomorrow": timezone.localdate() + dt.timedelta(days=1),
        },
    )


# -------------------------------------------------------------------------------------------- hours export
@policy.page("doorstep.export_hours")
def hours(request: HttpRequest) -> HttpResponse:
    """Yearly service hours of the members who reported in, by their unit (for the unit's appraisal)."""
    year = _int(request.GET.get("year"), timezone.localdate().year)
    units = reports.yearly_hours(request.user, year)
    if request.GET.get("format") == "csv":
        response = HttpResponse(reports.hours_csv(units, year), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = attachment(f"{year}年度服务时长.csv")
        return response
    return render(request, "doorstep/hours.html", {"units": units, "year": year})


# ------------------------------------------------------------------------------------------- resident phone
@policy.page("doorstep.my_services")
def my_services(request: HttpRequest) -> HttpResponse:
    resident = resident_of(request.user)
    appointments: list[Appointment] = []
    requests: list[ServiceRequest] = []
    if resident is not None:
        appointments = list(
            Appointment.objects.filter(
                resident=resident, day__gte=timezone.localdate() - dt.timedelta(days=7)
            )
            .select_related("function", "window", "slot")
            .order_by("-day", "-pk")[:10]
        )
        requests = list(
            ServiceRequest.objects.filter(resident=resident)
            .select_related("function")
            .order_by("-created_at", "-pk")[:10]
        )
    return render(
        request,
        "doorstep/my_services.html",
        {
            "resident": resident,
            "appointments": appointments,
            "requests": requests,
            "open_states": OPEN_APPOINTMENT_STATES,
        },
    )


def _home(request: HttpRequest) -> Any:
    resident = resident_of(request.user)
    if resident is None or resident.dwelling is None:
        return None
    return resident


@policy.page("doorstep.my_services")
def my_book(request: HttpRequest) -> HttpResponse:
    """Pick a function, then a slot with room; materials and whether to come in person are shown first."""
    resident = _home(request)
    functions = (
        ServiceFunction.objects.filter(
            community_id=resident.dwelling.community_id, active=True, appointable=True
        )
        .select_related("window")
        .order_by("category", "pk")
        if resident is not None
        else ServiceFunction.objects.none()
    )
    function = functions.filter(pk=_int(request.GET.get("function"))).first()
    slots = list(services.open_slots_for(resident, function)) if function is not None else []
    return render(
        request, "doorstep/my_book.html", {"functions": functions, "function": function, "slots": slots}
    )


@require_POST
@policy.page("doorstep.book_appointment", model="doorstep.Slot")
def my_book_slot(request: HttpRequest, pk: int) -> HttpResponse:
    slot = policy.get_or_deny(
        Slot.objects.select_related("function"), request.user, "doorstep.book_appointment", pk=pk
    )
    a = _run(request, lambda: services.book(request.user, slot))
    if a is None:
        return redirect(f"{_url('doorstep:my_book')}?function={slot.function_id}")
    messages.success(request, _("预约成功，排队号 %(n)s") % {"n": a.queue_number})
    return redirect("doorstep:my_services")


@require_POST
@policy.page("doorstep.view_own", model="doorstep.Appointment")
def my_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    a = policy.get_or_deny(Appointment.objects.all(), request.user, "doorstep.view_own", pk=pk)
    _run(request, lambda: services.cancel_appointment(request.user, a), _("已取消预约"))
    return redirect("doorstep:my_services")


@policy.page("doorstep.view_own", model="doorstep.ServiceRequest")
def my_request(request: HttpRequest, pk: int) -> HttpResponse:
    obj = policy.get_or_deny(
        ServiceRequest.objects.select_related("function", "runner"), request.user, "doorstep.view_own", pk=pk
    )
    return render(
        request,
        "doorstep/my_request.html",
        {
            "obj": obj,
            "events": obj.events.order_by("at", "pk"),
            "hand_overs": obj.hand_overs.order_by("signed_at"),
        },
    )


@policy.page("doorstep.my_services")
def my_errand(request: HttpRequest) -> HttpResponse:
    resident = _home(request)
    functions = (
        ServiceFunction.objects.filter(
            community_id=resident.dwelling.community_id, active=True, errand=True
        ).order_by("category", "pk")
        if resident is not None
        else ServiceFunction.objects.none()
    )
    if request.method == "POST":
        function = functions.filter(pk=_int(request.POST.get("function"))).first()
        r = _run(
            request,
            lambda: services.ask_errand(
                request.user,
                title=request.POST.get("title", ""),
                detail=request.POST.get("detail", ""),
                function=function,
            ),
            _("代办申请已提交，社区会安排人员联系您"),
        )
        if r is not None:
            return redirect("doorstep:my_services")
    return render(request, "doorstep/my_errand.html", {"functions": functions})


@policy.page("doorstep.my_services")
def my_venues(request: HttpRequest) -> HttpResponse:
    resident = _home(request)
    venues_qs = (
        Venue.objects.filter(community_id=resident.dwelling.community_id, active=True).order_by("name")
        if resident is not None
        else Venue.objects.none()
    )
    if request.method == "POST":
        venue = venues_qs.filter(pk=_int(request.POST.get("venue"))).first()
        if venue is None:
            messages.error(request, _("请选择场地"))
        else:
            p = request.POST
            day = _date(p.get("day"))
            b = _run(
                request,
                lambda: services.book_venue(
                    request.user,
                    venue,
                    starts_at=_aware(day, _time(p.get("start"))) or timezone.now(),
                    ends_at=_aware(day, _time(p.get("end"))) or timezone.now(),
                    purpose=p.get("purpose", ""),
                    attendees=_int(p.get("attendees")),
                ),
                _("场地预约成功"),
            )
            if b is not None:
                return redirect("doorstep:my_venues")
    now = timezone.now()
    rows = list(
        venues_qs.prefetch_related(
            Prefetch(
                "bookings",
                queryset=VenueBooking.objects.filter(
                    cancelled=False, ends_at__gt=now, starts_at__lt=now + dt.timedelta(days=7)
                ).order_by("starts_at"),
                to_attr="upcoming",
            )
        )
    )
    mine = (
        VenueBooking.objects.filter(booked_by_id=request.user.pk, cancelled=False, ends_at__gt=now)
        .select_related("venue")
        .order_by("starts_at")
    )
    return render(
        request,
        "doorstep/my_venues.html",
        {"venues": rows, "mine": mine, "tomorrow": timezone.localdate() + dt.timedelta(days=1)},
    )


@require_POST
@policy.page("doorstep.cancel_own_venue", model="doorstep.VenueBooking")
def my_venue_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = policy.get_or_deny(VenueBooking.objects.all(), request.user, "doorstep.cancel_own_venue", pk=pk)
    _run(request, lambda: services.cancel_venue_booking(request.user, booking), _("已取消预约"))
    return redirect("doorstep:my_venues")


@policy.page("doorstep.my_services")
def my_merchants(request: HttpRequest) -> HttpResponse:
    resident = _home(request)
    rows = (
        Merchant.objects.filter(community_id=resident.dwelling.community_id, active=True)
        .annotate(rating=Avg("bookings__rating"))
        .order_by("category", "name")
        if resident is not None
        else Merchant.objects.none()
    )
    if request.method == "POST":
        p = request.POST
        if p.get("do") == "rate":
            booking = MerchantBooking.objects.filter(pk=_int(p.get("booking")), resident=resident).first()
            if booking is None:
                raise Http404
            _run(
                request,
                lambda: services.rate(
                    request.user,
                    booking,
                    rating=_int(p.get("rating")),
                    comment=p.get("comment", ""),
                    complaint=bool(p.get("complaint")),
                ),
                _("谢谢您的评价"),
            )
        else:
            merchant = rows.filter(pk=_int(p.get("merchant"))).first()
            if merchant is None:
                raise Http404
            _run(
                request,
                lambda: services.book_merchant(
                    request.user,
                    merchant,
                    wanted_on=_date(p.get("wanted_on")) or dt.date.min,
                    note=p.get("note", ""),
                ),
                _("已预约，社区会转告商户与您联系"),
            )
        return redirect("doorstep:my_merchants")
    mine = (
        MerchantBooking.objects.filter(resident=resident)
        .select_related("merchant")
        .order_by("-created_at")[:10]
        if resident is not None
        else []
    )
    return render(
        request,
        "doorstep/my_merchants.html",
        {"merchants": rows, "mine": mine, "tomorrow": timezone.localdate() + dt.timedelta(days=1)},
    )


@policy.page("doorstep.my_services")
def my_piecework(request: HttpRequest) -> HttpResponse:
    resident = _home(request)
    orders = (
        PieceworkOrder.objects.filter(community_id=resident.dwelling.community_id, state="open").order_by(
            "deadline", "pk"
        )
        if resident is not None
        else PieceworkOrder.objects.none()
    )
    if request.method == "POST":
        order = orders.filter(pk=_int(request.POST.get("order"))).first()
        if order is None:
            raise Http404
        _run(
            request,
            lambda: services.claim(request.user, order, _int(request.POST.get("quantity"))),
            _("领取成功"),
        )
        return redirect("doorstep:my_piecework")
    eligible = resident is not None and resident.tags.filter(code="piecework").exists()
    claims = (
        PieceworkClaim.objects.filter(resident=resident).select_related("order").order_by("-claimed_at")[:20]
        if resident is not None
        else []
    )
    return render(
        request, "doorstep/my_piecework.html", {"orders": orders, "eligible": eligible, "claims": claims}
    )


# ----------------------------------------------------------------------------------------- 直通车 shop
@policy.page("doorstep.manage_shop")
def shop(request: HttpRequest) -> HttpResponse:
    """Staff: the goods at cost (add, restock) and the orders to deliver or hand over."""
    community = _community_choice(request)
    if request.method == "POST":
        p = request.POST
        if p.get("do") == "add" and community is not None:
            try:
                price = Decimal(p.get("price") or "0")
            except InvalidOperation:
                price = Decimal("0")
            if not p.get("name", "").strip() or price <= 0:
                messages.error(request, _("请填写商品和出厂价"))
            else:
                probe = ShopItem(community=community)
                policy.require(request.user, "doorstep.manage_shop", probe)
                ShopItem.objects.create(
                    community=community,
                    name=p["name"].strip()[:100],
                    unit=p.get("unit", "").strip()[:30],
                    price=price,
                    stock=max(_int(p.get("stock")), 0),
                    supplier=p.get("supplier", "").strip()[:100],
                )
                messages.success(request, _("商品已上架"))
        elif p.get("do") in ("delivered", "collected", "cancelled"):
            order = policy.get_or_deny(
                ShopOrder.objects.all(), request.user, "doorstep.manage_shop", pk=_int(p.get("order"))
            )
            _run(
                request,
                lambda: services.close_shop_order(
                    request.user, order, to=p.get("do", ""), deliverer=p.get("deliverer", "")
                ),
                _("已更新"),
            )
        return redirect(f"{_url('doorstep:shop')}?community={community.pk if community else ''}")
    items = policy.restrict(ShopItem.objects.all(), request.user, "doorstep.manage_shop").filter(
        community=community
    )
    orders = (
        policy.restrict(ShopOrder.objects.all(), request.user, "doorstep.manage_shop")
        .filter(community=community, state="placed")
        .select_related(
            "resident__dwelling__building", "resident__dwelling__entrance", "resident__dwelling__estate"
        )
        .order_by("created_at", "pk")[:200]
    )
    return render(
        request,
        "doorstep/shop.html",
        {"items": items, "orders": orders, "community": community, "communities": _communities(request.user)},
    )


@policy.page("doorstep.my_services")
def my_shop(request: HttpRequest) -> HttpResponse:
    resident = _home(request)
    items = (
        ShopItem.objects.filter(community_id=resident.dwelling.community_id, active=True).order_by("name")
        if resident is not None
        else ShopItem.objects.none()
    )
    if request.method == "POST":
        wanted = {item.pk: _int(request.POST.get(f"q{item.pk}")) for item in items}
        o = _run(
            request,
            lambda: services.place_shop_order(
                request.user, wanted, delivery=bool(request.POST.get("delivery"))
            ),
        )
        if o is not None:
            messages.success(request, _("下单成功，合计 %(t)s 元") % {"t": o.total})
            return redirect("doorstep:my_shop")
    elderly = resident is not None and (resident.age or 0) >= FREE_DELIVERY_AGE
    mine = (
        ShopOrder.objects.filter(resident=resident).order_by("-created_at")[:5]
        if resident is not None
        else []
    )
    return render(request, "doorstep/my_shop.html", {"items": items, "elderly": elderly, "mine": mine})


app_name = "doorstep"
urlpatterns = [
    path("", desk, name="desk"),
    path("windows/<int:pk>/", desk_action, name="desk_action"),
    path("catalogue/", catalogue, name="catalogue"),
    path("requests/", request_list, name="requests"),
    path("requests/<int:pk>/", request_detail, name="request"),
    path("errands/", errand_list, name="errands"),
    path("errands/<int:pk>/", errand_detail, name="errand"),
    path("piecework/", piecework, name="piecework"),
    path("piecework/<int:pk>/", piecework_order, name="piecework_order"),
    path("piecework/<int:pk>/export/", piecework_export, name="piecework_export"),
    path("merchants/", merchants, name="merchants"),
    path("venues/", venues, name="venues"),
    path("hours/", hours, name="hours"),
    path("m/", my_services, name="my_services"),
    path("m/book/", my_book, name="my_book"),
    path("m/book/<int:pk>/", my_book_slot, name="my_book_slot"),
    path("m/appointments/<int:pk>/cancel/", my_cancel, name="my_cancel"),
    path("m/requests/<int:pk>/", my_request, name="my_request"),
    path("m/errand/", my_errand, name="my_errand"),
    path("m/venues/", my_venues, name="my_venues"),
    path("m/venues/<int:pk>/cancel/", my_venue_cancel, name="my_venue_cancel"),
    path("m/merchants/", my_merchants, name="my_merchants"),
    path("m/piecework/", my_piecework, name="my_piecework"),
    path("shop/", shop, name="shop"),
    path("m/shop/", my_shop, name="my_shop"),
]
