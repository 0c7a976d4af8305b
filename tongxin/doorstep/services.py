"""Every write of the doorstep services. Each one is atomic, checks doorstep/policy.py, follows the transition
tables in doorstep/choices.py, locks rows in a fixed order (window, then slot; an order alone; a venue alone),
writes the request's timeline (:class:`RequestEvent`) and the audit log, and tells people on commit.

Capacity is kept by single conditional updates (``booked < capacity``, ``claimed + n <= quantity``) under the row
lock, and the database checks the same with a constraint, so neither a slot nor a piecework order can be
over-filled by simultaneous requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.core.notifications import notify
from tongxin.doorstep.choices import (
    APPOINTMENT_TRANSITIONS,
    BOOKING_TRANSITIONS,
    CLAIM_TRANSITIONS,
    FREE_DELIVERY_AGE,
    OPEN_APPOINTMENT_STATES,
    REQUEST_TRANSITIONS,
    SHOP_ORDER_TRANSITIONS,
    AppointmentState,
    BookingState,
    ClaimState,
    HandOverDirection,
    PieceworkState,
    RequestEventType,
    RequestKind,
    RequestState,
    ShopOrderState,
)
from tongxin.doorstep.models import (
    Appointment,
    HandOver,
    Merchant,
    MerchantBooking,
    PieceworkClaim,
    PieceworkOrder,
    RequestEvent,
    ServiceFunction,
    ServiceRequest,
    ServiceWindow,
    ShopItem,
    ShopOrder,
    Slot,
    Venue,
    VenueBooking,
)
from tongxin.doorstep.policy import PIECEWORK_TAG
from tongxin.ledger.policy import resident_of
from tongxin.people.models import Resident, Tag
from tongxin.regions.choices import Role
from tongxin.regions.models import Region, RoleAssignment

KIND = "doorstep"


class DoorstepError(ValidationError):
    """A request the rules refuse; the message says why (and ``error_dict`` which field, when one)."""


def _check(current: str, new: str, table: dict[str, frozenset[str]]) -> None:
    if new not in table.get(current, frozenset()):
        raise DoorstepError(_("当前状态不能进行此操作"), code="bad_transition")


def _users_of(resident: Resident | None) -> list[int]:
    return [resident.user_id] if resident is not None and resident.user_id else []


def _community_staff(community_id: int) -> list[int]:
    return list(
        RoleAssignment.objects.filter(role=Role.COMMUNITY_STAFF, region_id=community_id)
        .values_list("user_id", flat=True)
        .distinct()
    )


def _event(request: ServiceRequest, type_: str, actor: Any, **payload: Any) -> None:
    RequestEvent.objects.create(
        request=request, type=type_, actor=RequestEvent.actor_of(actor), payload=payload
    )


def _today() -> dt.date:
    return timezone.localdate()


# ------------------------------------------------------------------------------------------------ catalogue
@transaction.atomic
def create_window(actor: Any, *, community: Region, number: int, name: str) -> ServiceWindow:
    window = ServiceWindow(community=community, number=number, name=(name or "").strip()[:50])
    policy.require(actor, "doorstep.manage_catalogue", window)
    if not window.name:
        raise DoorstepError({"name": _("请填写窗口名称")})
    if ServiceWindow.objects.filter(community=community, number=number).exists():
        raise DoorstepError({"number": _("该窗口号已存在")})
    window.save()
    audit.record(AuditLog.Action.CREATE, window, actor=actor, after={"number": number, "name": window.name})
    return window


@transaction.atomic
def create_function(
    actor: Any,
    *,
    window: ServiceWindow,
    name: str,
    category: str,
    materials: str = "",
    in_person: bool = False,
    promised_days: int = 5,
    back_office: str = "",
    appointable: bool = True,
    errand: bool = True,
) -> ServiceFunction:
    """A function of ``window``: what to bring, whether the resident must come, the promised time, the back
    office. A function the resident must attend in person cannot be run as an errand."""
    function = ServiceFunction(
        community_id=window.community_id,
        window=window,
        name=(name or "").strip()[:80],
        category=(category or "").strip()[:20],
        materials=(materials or "").strip(),
        in_person=in_person,
        promised_days=promised_days,
        back_office=(back_office or "").strip()[:50],
        appointable=appointable,
        errand=errand and not in_person,
    )
    policy.require(actor, "doorstep.manage_catalogue", function)
    if not function.name:
        raise DoorstepError({"name": _("请填写事项名称")})
    if not function.category:
        raise DoorstepError({"category": _("请填写类别")})
    if not 0 <= promised_days <= 90:
        raise DoorstepError({"promised_days": _("承诺时限应在0到90天之间")})
    function.save()
    audit.record(AuditLog.Action.CREATE, function, actor=actor, after={"name": function.name})
    return function


@transaction.atomic
def open_slots(
    actor: Any,
    function: ServiceFunction,
    *,
    day: dt.date,
    times: Sequence[tuple[dt.time, dt.time]],
    capacity: int,
) -> list[Slot]:
    """Open appointment slots of ``function`` on ``day`` (existing ones are left as they are)."""
    policy.require(actor, "doorstep.manage_catalogue", function)
    if not function.appointable:
        raise DoorstepError(_("该事项不接受预约"))
    if capacity < 1:
        raise DoorstepError({"capacity": _("名额至少为1")})
    tz = timezone.get_current_timezone()
    rows = []
    for start, end in times:
        if end <= start:
            raise DoorstepError({"times": _("结束时间应晚于开始时间")})
        rows.append(
            Slot(
                community_id=function.community_id,
                function=function,
                starts_at=dt.datetime.combine(day, start, tzinfo=tz),
                ends_at=dt.datetime.combine(day, end, tzinfo=tz),
                capacity=capacity,
            )
        )
    Slot.objects.bulk_create(rows, ignore_conflicts=True)
    audit.record(
        AuditLog.Action.CREATE, function, actor=actor, field="slots", after={"day": str(day), "n": len(rows)}
    )
    return list(Slot.objects.filter(function=function, starts_at__date=day).order_by("starts_at"))


# ------------------------------------------------------------------------------------- appointments/queue
def _next_number(window: ServiceWindow, day: dt.date, prefix: str) -> str:
    """The next number of ``prefix`` at the window on ``day``; the caller holds the window's row lock."""
    last = (
        Appointment.objects.filter(window=window, day=day, queue_number__startswith=prefix)
        .aggregate(m=Max("queue_number"))
        .get("m")
    )
    seq = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{seq:03d}"


def _lock_window(window_id: int) -> ServiceWindow:
    return ServiceWindow.objects.select_for_update().get(pk=window_id)


@transaction.atomic
def book(actor: Any, slot: Slot, resident: Resident | None = None) -> Appointment:
    """Book ``slot`` for the actor's own resident record (phone), or for ``resident`` at the window. The
    appointment carries its queue number (``A001`` …) for the day. A full slot is refused."""
    if resident is None:
        resident = resident_of(actor)
        if resident is None:
            raise DoorstepError(_("您的账号尚未关联居民信息"))
        policy.require(actor, "doorstep.book_appointment", slot)
    else:
        policy.require(actor, "doorstep.work_window", slot)
    function = slot.function
    window = _lock_window(function.window_id)
    locked = Slot.objects.select_for_update().get(pk=slot.pk)
    if locked.starts_at <= timezone.now():
        raise DoorstepError(_("该时段已过"), code="slot_past")
    if Appointment.objects.filter(
        slot__function=function, resident=resident, state__in=OPEN_APPOINTMENT_STATES
    ).exists():
        raise DoorstepError(_("您已预约该事项，请勿重复预约"), code="duplicate")
    if not Slot.objects.filter(pk=locked.pk, booked__lt=F("capacity")).update(booked=F("booked") + 1):
        raise DoorstepError(_("该时段已约满，请选择其他时段"), code="slot_full")
    day = timezone.localtime(locked.starts_at).date()
    appointment = Appointment.objects.create(
        community_id=function.community_id,
        function=function,
        window=window,
        slot=locked,
        resident=resident,
        name=resident.name,
        day=day,
        queue_number=_next_number(window, day, "A"),
        state=AppointmentState.BOOKED,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        AuditLog.Action.CREATE,
        appointment,
        actor=actor,
        after={"slot": locked.pk, "number": appointment.queue_number},
    )
    notify(
        _users_of(resident),
        _("预约成功：%(f)s") % {"f": function.name},
        _("%(t)s 到%(w)s办理，排队号 %(n)s。请携带：%(m)s")
        % {
            "t": timezone.localtime(locked.starts_at).strftime("%m-%d %H:%M"),
            "w": window,
            "n": appointment.queue_number,
            "m": "、".join(function.material_list) or _("身份证"),
        },
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"appointment:{appointment.pk}:booked",
    )
    return appointment


@transaction.atomic
def take_ticket(
    actor: Any, function: ServiceFunction, *, name: str, resident: Resident | None = None
) -> Appointment:
    """A walk-in takes a number (``B001`` …) for today at the function's window."""
    policy.require(actor, "doorstep.work_window", function)
    name = (resident.name if resident is not None else name or "").strip()[:50]
    if not name:
        raise DoorstepError({"name": _("请填写姓名")})
    window = _lock_window(function.window_id)
    day = _today()
    appointment = Appointment.objects.create(
        community_id=function.community_id,
        function=function,
        window=window,
        resident=resident,
        name=name,
        day=day,
        queue_number=_next_number(window, day, "B"),
        state=AppointmentState.WAITING,
        created_by=actor,
    )
    audit.record(AuditLog.Action.CREATE, appointment, actor=actor, after={"number": appointment.queue_number})
    return appointment


def _lock_appointment(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("function", "window", "resident")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def call(actor: Any, appointment: Appointment) -> Appointment:
    """Call the number to the window (again, if the resident did not come at the first call)."""
    policy.require(actor, "doorstep.work_window", appointment)
    locked = _lock_appointment(appointment)
    _check(locked.state, AppointmentState.CALLED, APPOINTMENT_TRANSITIONS)
    locked.state = AppointmentState.CALLED
    locked.called_at = timezone.now()
    locked.save(update_fields=["state", "called_at"])
    notify(
        _users_of(locked.resident),
        _("请到%(w)s办理") % {"w": locked.window},
        _("您的排队号 %(n)s 已叫号（%(f)s）") % {"n": locked.queue_number, "f": locked.function.name},
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"appointment:{locked.pk}:called:{locked.called_at.timestamp()}",
    )
    return locked


@transaction.atomic
def call_next(actor: Any, window: ServiceWindow, day: dt.date | None = None) -> Appointment | None:
    """Call the next number of the day at ``window``: appointments whose slot has begun first, then in order."""
    policy.require(actor, "doorstep.work_window", window)
    _lock_window(window.pk)
    day = day or _today()
    waiting = Appointment.objects.filter(
        window=window, day=day, state__in=[AppointmentState.BOOKED, AppointmentState.WAITING]
    ).order_by(F("slot__starts_at").asc(nulls_last=True), "created_at", "pk")
    nxt = waiting.first()
    return call(actor, nxt) if nxt is not None else None


@transaction.atomic
def serve(
    actor: Any, appointment: Appointment, *, detail: str = "", to_back_office: bool = True
) -> Appointment:
    """The window has served the number. When the function has a back office the request is recorded once and
    handed over (一窗受理、后台办理), with its deadline."""
    policy.require(actor, "doorstep.work_window", appointment)
    locked = _lock_appointment(appointment)
    _check(locked.state, AppointmentState.SERVED, APPOINTMENT_TRANSITIONS)
    locked.state = AppointmentState.SERVED
    locked.served_at = timezone.now()
    locked.save(update_fields=["state", "served_at"])
    audit.record(AuditLog.Action.TRANSITION, locked, actor=actor, field="state", after=locked.state)
    if to_back_office and locked.function.back_office:
        receive(
            actor,
            locked.function,
            name=locked.name,
            resident=locked.resident,
            detail=detail,
            appointment=locked,
        )
    return locked


@transaction.atomic
def no_show(actor: Any, appointment: Appointment) -> Appointment:
    policy.require(actor, "doorstep.work_window", appointment)
    locked = _lock_appointment(appointment)
    _check(locked.state, AppointmentState.NO_SHOW, APPOINTMENT_TRANSITIONS)
    locked.state = AppointmentState.NO_SHOW
    locked.save(update_fields=["state"])
    return locked


@transaction.atomic
def cancel_appointment(actor: Any, appointment: Appointment) -> Appointment:
    """The resident cancels a booking; the place in the slot is free again."""
    policy.require(actor, "doorstep.view_own", appointment)
    if appointment.slot_id:
        _lock_window(appointment.window_id)
        Slot.objects.select_for_update().filter(pk=appointment.slot_id).first()
    locked = _lock_appointment(appointment)
    _check(locked.state, AppointmentState.CANCELLED, APPOINTMENT_TRANSITIONS)
    locked.state = AppointmentState.CANCELLED
    locked.save(update_fields=["state"])
    if locked.slot_id:
        Slot.objects.filter(pk=locked.slot_id, booked__gt=0).update(booked=F("booked") - 1)
    audit.record(AuditLog.Action.TRANSITION, locked, actor=actor, field="state", after=locked.state)
    return locked


# ---------------------------------------------------------------------------------- one window, back office
@transaction.atomic
def receive(
    actor: Any,
    function: ServiceFunction,
    *,
    name: str,
    resident: Resident | None = None,
    detail: str = "",
    appointment: Appointment | None = None,
) -> ServiceRequest:
    """The front desk records a request once and hands it to the function's back office, due within the
    function's promised time."""
    policy.require(actor, "doorstep.work_window", function)
    name = (resident.name if resident is not None else name or "").strip()[:50]
    if not name:
        raise DoorstepError({"name": _("请填写申请人")})
    request = ServiceRequest.objects.create(
        kind=RequestKind.WINDOW,
        community_id=function.community_id,
        function=function,
        title=function.name,
        detail=(detail or "").strip(),
        resident=resident,
        name=name,
        appointment=appointment,
        back_office=function.back_office or function.window.name,
        due_on=_today() + dt.timedelta(days=function.promised_days),
        state=RequestState.HANDLING,
        received_by=actor,
    )
    _event(
        request, RequestEventType.RECEIVED, actor, back_office=request.back_office, due_on=str(request.due_on)
    )
    audit.record(
        AuditLog.Action.CREATE,
        request,
        actor=actor,
        after={"function": function.pk, "due_on": str(request.due_on)},
    )
    notify(
        _community_staff(request.community_id),
        _("后台待办：%(t)s") % {"t": request.title},
        _("%(n)s 的申请已转%(b)s办理，须在 %(d)s 前办结")
        % {"n": name, "b": request.back_office, "d": request.due_on},
        reverse("doorstep:request", args=[request.pk]),
        kind=KIND,
        event=f"request:{request.pk}:received",
    )
    notify(
        _users_of(resident),
        _("已受理：%(t)s") % {"t": request.title},
        _("承诺 %(d)s 前办结，可在“我的便民服务”查看进度") % {"d": request.due_on},
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"request:{request.pk}:received:resident",
    )
    return request


def _lock_request(request: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("resident", "function")
        .get(pk=request.pk)
    )


def _transition(request: ServiceRequest, to: str, fields: Iterable[str] = ()) -> None:
    _check(request.state, to, REQUEST_TRANSITIONS)
    request.state = to
    request.save(update_fields=["state", *fields])


@transaction.atomic
def finish(actor: Any, request: ServiceRequest, *, result: str) -> ServiceRequest:
    """The back office (a window request) or the runner (an errand) has done it; the resident is told."""
    locked = _lock_request(request)
    action = "doorstep.handle_request" if locked.kind == RequestKind.WINDOW else "doorstep.run_errand"
    policy.require(actor, action, locked)
    if not (result or "").strip():
        raise DoorstepError({"result": _("请填写办理结果")})
    if locked.kind == RequestKind.ERRAND and locked.state == RequestState.TAKEN:
        raise DoorstepError(_("请先签收居民的材料"), code="no_hand_in")
    locked.result = result.strip()
    locked.done_at = timezone.now()
    _transition(locked, RequestState.DONE, ["result", "done_at"])
    _event(locked, RequestEventType.DONE, actor, result=locked.result)
    audit.record(AuditLog.Action.TRANSITION, locked, actor=actor, field="state", after=locked.state)
    notify(
        _users_of(locked.resident),
        _("已办结：%(t)s") % {"t": locked.title},
        locked.result,
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"request:{locked.pk}:done",
    )
    return locked


@transaction.atomic
def return_request(actor: Any, request: ServiceRequest, *, reason: str) -> ServiceRequest:
    """Send a request back (materials missing, not the community's business) with the reason."""
    locked = _lock_request(request)
    action = "doorstep.handle_request" if locked.kind == RequestKind.WINDOW else "doorstep.view_requests"
    policy.require(actor, action, locked)
    if not (reason or "").strip():
        raise DoorstepError({"reason": _("请填写退回原因")})
    locked.result = reason.strip()
    _transition(locked, RequestState.RETURNED, ["result"])
    _event(locked, RequestEventType.RETURNED, actor, reason=locked.result)
    notify(
        _users_of(locked.resident),
        _("已退回：%(t)s") % {"t": locked.title},
        locked.result,
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"request:{locked.pk}:returned",
    )
    return locked


# ------------------------------------------------------------------------------------------------- errands
@transaction.atomic
def ask_errand(
    actor: Any, *, title: str, detail: str = "", function: ServiceFunction | None = None
) -> ServiceRequest:
    """A resident asks the community to run an errand (代办); what must be attended in person cannot be."""
    resident = resident_of(actor)
    if resident is None or resident.dwelling is None:
        raise DoorstepError(_("您的账号尚未关联居民信息"))
    community_id = resident.dwelling.community_id
    probe = ServiceRequest(kind=RequestKind.ERRAND, community_id=community_id, resident=resident)
    policy.require(actor, "doorstep.ask_errand", probe)
    if function is not None:
        if function.community_id != community_id:
            raise DoorstepError({"function": _("事项不存在")})
        if function.in_person or not function.errand:
            raise DoorstepError({"function": _("该事项须本人到场办理，不能代办")})
    title = (title or (function.name if function else "")).strip()[:120]
    if not title:
        raise DoorstepError({"title": _("请填写要代办的事")})
    promised = function.promised_days if function is not None else 7
    request = ServiceRequest.objects.create(
        kind=RequestKind.ERRAND,
        community_id=community_id,
        function=function,
        title=title,
        detail=(detail or "").strip(),
        resident=resident,
        name=resident.name,
        back_office=function.back_office if function else "",
        due_on=_today() + dt.timedelta(days=promised),
        state=RequestState.REQUESTED,
    )
    _event(request, RequestEventType.REQUESTED, actor)
    audit.record(AuditLog.Action.CREATE, request, actor=actor, after={"title": title})
    notify(
        _community_staff(community_id),
        _("新的代办申请：%(t)s") % {"t": title},
        resident.name,
        reverse("doorstep:errands"),
        kind=KIND,
        event=f"request:{request.pk}:requested",
    )
    return request


@transaction.atomic
def take_errand(actor: Any, request: ServiceRequest) -> ServiceRequest:
    locked = _lock_request(request)
    policy.require(actor, "doorstep.take_errand", locked)
    locked.runner = actor
    _transition(locked, RequestState.TAKEN, ["runner"])
    _event(locked, RequestEventType.TAKEN, actor)
    notify(
        _users_of(locked.resident),
        _("代办已接单：%(t)s") % {"t": locked.title},
        _("代办人会与您联系收取材料"),
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"request:{locked.pk}:taken",
    )
    return locked


def _hand_over(
    actor: Any, request: ServiceRequest, direction: str, documents: str, signed_by: str
) -> HandOver:
    documents, signed_by = (documents or "").strip(), (signed_by or "").strip()[:50]
    if not documents:
        raise DoorstepError({"documents": _("请填写交接的材料或证件")})
    if not signed_by:
        raise DoorstepError({"signed_by": _("请由居民（或其家属）签字")})
    return HandOver.objects.create(
        request=request, direction=direction, documents=documents, signed_by=signed_by, recorded_by=actor
    )


@transaction.atomic
def hand_in(actor: Any, request: ServiceRequest, *, documents: str, signed_by: str) -> ServiceRequest:
    """The runner receives the resident's documents against the resident's signature and starts the errand."""
    locked = _lock_request(request)
    policy.require(actor, "doorstep.run_errand", locked)
    if locked.state != RequestState.TAKEN:
        raise DoorstepError(_("当前状态不能签收材料"), code="bad_transition")
    hand = _hand_over(actor, locked, HandOverDirection.RECEIVED, documents, signed_by)
    _transition(locked, RequestState.HANDLING)
    _event(locked, RequestEventType.HANDED_IN, actor, documents=hand.documents, signed_by=hand.signed_by)
    return locked


@transaction.atomic
def hand_back(
    actor: Any, request: ServiceRequest, *, documents: str, signed_by: str, hours: Decimal | str | None = None
) -> ServiceRequest:
    """The result and the documents go back to the resident against a signature. An errand run by a volunteer
    or party member earns the runner's hours in the time bank (once)."""
    locked = _lock_request(request)
    if locked.kind == RequestKind.ERRAND:
        policy.require(actor, "doorstep.run_errand", locked)
    else:
        policy.require(actor, "doorstep.work_window", locked)
    if locked.state != RequestState.DONE:
        raise DoorstepError(_("办结后才能交还"), code="bad_transition")
    try:
        amount = Decimal(str(hours)) if hours not in (None, "") else Decimal("0")
    except ArithmeticError:
        raise DoorstepError({"hours": _("时长无效")}) from None
    if not Decimal("0") <= amount <= Decimal("24"):
        raise DoorstepError({"hours": _("时长应在0到24小时之间")})
    hand = _hand_over(actor, locked, HandOverDirection.RETURNED, documents, signed_by)
    locked.hours = amount
    _transition(locked, RequestState.HANDED_BACK, ["hours"])
    _event(locked, RequestEventType.HANDED_BACK, actor, documents=hand.documents, signed_by=hand.signed_by)
    credited = _credit_runner(actor, locked)
    if credited:
        _event(locked, RequestEventType.HOURS, actor, hours=str(credited))
    audit.record(AuditLog.Action.TRANSITION, locked, actor=actor, field="state", after=locked.state)
    return locked


def _credit_runner(actor: Any, request: ServiceRequest) -> Decimal:
    """Hours for a runner who is a resident (volunteer, party member); staff run errands as their job."""
    if request.kind != RequestKind.ERRAND or request.hours <= 0 or request.runner_id is None:
        return Decimal("0")
    from tongxin.volunteers.services import credit_hours

    runner = Resident.objects.select_related("dwelling").filter(user_id=request.runner_id).first()
    if runner is None:
        return Decimal("0")
    staff = RoleAssignment.objects.filter(
        user_id=request.runner_id, role__in=[Role.COMMUNITY_STAFF, Role.GRID_WORKER, Role.SUBDISTRICT_ADMIN]
    ).exists()
    if staff:
        return Decimal("0")
    return credit_hours(
        runner,
        request.hours,
        idempotency_key=f"doorstep-errand-{request.pk}",
        memo=_("代办：%(t)s") % {"t": request.title},
        actor=actor,
    )


# ----------------------------------------------------------------------------------------------- piecework
def piecework_tag() -> Tag:
    tag, _created = Tag.objects.get_or_create(code=PIECEWORK_TAG, defaults={"name": "家庭代工"})
    return tag


@transaction.atomic
def create_order(
    actor: Any,
    *,
    community: Region,
    factory: str,
    item: str,
    quantity: int,
    unit_price: Decimal | str,
    deadline: dt.date,
    quality_notes: str = "",
) -> PieceworkOrder:
    order = PieceworkOrder(
        community=community,
        factory=(factory or "").strip()[:100],
        item=(item or "").strip()[:100],
        quantity=quantity,
        unit_price=Decimal(str(unit_price)),
        deadline=deadline,
        quality_notes=(quality_notes or "").strip(),
        created_by=actor,
    )
    policy.require(actor, "doorstep.manage_piecework", order)
    errors = {}
    if not order.factory:
        errors["factory"] = _("请填写委托企业")
    if not order.item:
        errors["item"] = _("请填写加工内容")
    if quantity < 1:
        errors["quantity"] = _("数量至少为1")
    if order.unit_price <= 0:
        errors["unit_price"] = _("单价应大于0")
    if deadline < _today():
        errors["deadline"] = _("交货期限不能早于今天")
    if errors:
        raise DoorstepError(errors)
    order.save()
    audit.record(
        AuditLog.Action.CREATE, order, actor=actor, after={"factory": order.factory, "quantity": quantity}
    )
    return order


@transaction.atomic
def claim(actor: Any, order: PieceworkOrder, quantity: int) -> PieceworkClaim:
    """An eligible resident takes ``quantity`` pieces home. One conditional update takes them from what is
    left, so simultaneous claims never exceed the order (the database's check says the same)."""
    policy.require(actor, "doorstep.claim_piecework", order)
    resident = resident_of(actor)
    if resident is None:
        raise DoorstepError(_("您的账号尚未关联居民信息"))
    if quantity < 1:
        raise DoorstepError({"quantity": _("数量至少为1")})
    taken = PieceworkOrder.objects.filter(
        pk=order.pk, state=PieceworkState.OPEN, claimed__lte=F("quantity") - quantity
    ).update(claimed=F("claimed") + quantity)
    if not taken:
        left = PieceworkOrder.objects.filter(pk=order.pk).values_list("quantity", "claimed").first()
        remaining = (left[0] - left[1]) if left else 0
        raise DoorstepError(
            {"quantity": _("余量不足：还剩 %(n)d 件") % {"n": max(remaining, 0)}}, code="over_claimed"
        )
    row = PieceworkClaim.objects.create(order=order, resident=resident, quantity=quantity)
    audit.record(AuditLog.Action.CREATE, row, actor=actor, after={"order": order.pk, "quantity": quantity})
    return row


@transaction.atomic
def accept_hand_in(actor: Any, claim_row: PieceworkClaim, *, accepted: int, rejected: int) -> PieceworkClaim:
    """Staff check the pieces handed in: accepted and rejected add up to what was taken; pay is accepted pieces
    at the unit price. Rejected pieces go back to the order for others to take."""
    order = PieceworkOrder.objects.select_for_update().get(pk=claim_row.order_id)
    policy.require(actor, "doorstep.manage_piecework", order)
    locked = PieceworkClaim.objects.select_for_update().get(pk=claim_row.pk)
    _check(locked.state, ClaimState.HANDED_IN, CLAIM_TRANSITIONS)
    if accepted < 0 or rejected < 0 or accepted + rejected != locked.quantity:
        raise DoorstepError(
            {"accepted": _("合格与不合格数量之和应等于领取数量 %(n)d") % {"n": locked.quantity}}
        )
    locked.accepted, locked.rejected = accepted, rejected
    locked.pay = (order.unit_price * accepted).quantize(Decimal("0.01"))
    locked.state = ClaimState.HANDED_IN
    locked.handed_in_at = timezone.now()
    locked.handed_in_by = actor
    locked.save(update_fields=["accepted", "rejected", "pay", "state", "handed_in_at", "handed_in_by"])
    PieceworkOrder.objects.filter(pk=order.pk).update(
        accepted=F("accepted") + accepted, claimed=F("claimed") - rejected
    )
    audit.record(
        AuditLog.Action.TRANSITION,
        locked,
        actor=actor,
        field="state",
        after={"accepted": accepted, "rejected": rejected},
    )
    notify(
        _users_of(locked.resident),
        _("代工验收：合格 %(a)d 件，计件工资 %(p)s 元") % {"a": accepted, "p": locked.pay},
        str(order),
        reverse("doorstep:my_services"),
        kind=KIND,
        event=f"piecework:{locked.pk}:handed_in",
    )
    return locked


@transaction.atomic
def mark_paid(actor: Any, order: PieceworkOrder) -> int:
    """Every handed-in claim of the order is paid (after the export went to the finance office)."""
    locked = PieceworkOrder.objects.select_for_update().get(pk=order.pk)
    policy.require(actor, "doorstep.manage_piecework", locked)
    n = PieceworkClaim.objects.filter(order=locked, state=ClaimState.HANDED_IN).update(state=ClaimState.PAID)
    audit.record(AuditLog.Action.UPDATE, locked, actor=actor, field="paid", after={"claims": n})
    return n


@transaction.atomic
def close_order(actor: Any, order: PieceworkOrder) -> PieceworkOrder:
    locked = PieceworkOrder.objects.select_for_update().get(pk=order.pk)
    policy.require(actor, "doorstep.manage_piecework", locked)
    locked.state = PieceworkState.CLOSED
    locked.save(update_fields=["state"])
    return locked


# ----------------------------------------------------------------------------------------------- merchants
@transaction.atomic
def add_merchant(
    actor: Any,
    *,
    community: Region,
    name: str,
    category: str,
    services: str,
    discount: str = "",
    service_area: str = "",
    phone: str = "",
) -> Merchant:
    """A merchant vetted by the community joins the 便民服务队."""
    merchant = Merchant(
        community=community,
        name=(name or "").strip()[:100],
        category=category,
        services=(services or "").strip(),
        discount=(discount or "").strip()[:100],
        service_area=(service_area or "").strip()[:100],
        phone=(phone or "").strip()[:20],
        vetted_on=_today(),
        vetted_by=actor,
    )
    policy.require(actor, "doorstep.manage_merchants", merchant)
    if not merchant.name:
        raise DoorstepError({"name": _("请填写商户名称")})
    if not merchant.services:
        raise DoorstepError({"services": _("请填写服务项目及价格")})
    merchant.full_clean(exclude=["vetted_by"])
    merchant.save()
    audit.record(AuditLog.Action.CREATE, merchant, actor=actor, after={"name": merchant.name})
    return merchant


@transaction.atomic
def book_merchant(actor: Any, merchant: Merchant, *, wanted_on: dt.date, note: str) -> MerchantBooking:
    policy.require(actor, "doorstep.book_merchant", merchant)
    resident = resident_of(actor)
    if resident is None:
        raise DoorstepError(_("您的账号尚未关联居民信息"))
    if wanted_on < _today():
        raise DoorstepError({"wanted_on": _("日期不能早于今天")})
    if not (note or "").strip():
        raise DoorstepError({"note": _("请说明需要的服务")})
    booking = MerchantBooking.objects.create(
        merchant=merchant,
        community_id=merchant.community_id,
        resident=resident,
        wanted_on=wanted_on,
        note=note.strip()[:200],
    )
    audit.record(AuditLog.Action.CREATE, booking, actor=actor, after={"merchant": merchant.pk})
    notify(
        _community_staff(merchant.community_id),
        _("便民服务预约：%(m)s") % {"m": merchant.name},
        f"{resident.name} {wanted_on} {booking.note}",
        reverse("doorstep:merchants"),
        kind=KIND,
        event=f"merchant-booking:{booking.pk}",
    )
    return booking


@transaction.atomic
def complete_booking(actor: Any, booking: MerchantBooking, *, to: str = BookingState.DONE) -> MerchantBooking:
    locked = MerchantBooking.objects.select_for_update().get(pk=booking.pk)
    policy.require(actor, "doorstep.manage_merchants", locked)
    _check(locked.state, to, BOOKING_TRANSITIONS)
    locked.state = to
    locked.save(update_fields=["state"])
    return locked


@transaction.atomic
def rate(
    actor: Any, booking: MerchantBooking, *, rating: int, comment: str = "", complaint: bool = False
) -> MerchantBooking:
    """The resident rates a done service; a complaint opens a case (便民服务) so it is followed up like any other."""
    locked = (
        MerchantBooking.objects.select_for_update(of=("self",))
        .select_related("merchant", "resident__dwelling")
        .get(pk=booking.pk)
    )
    policy.require(actor, "doorstep.rate_merchant", locked)
    if not 1 <= rating <= 5:
        raise DoorstepError({"rating": _("评分应为1到5")})
    if complaint and not (comment or "").strip():
        raise DoorstepError({"comment": _("投诉请写明情况")})
    locked.rating, locked.comment = rating, (comment or "").strip()[:200]
    fields = ["rating", "comment"]
    if complaint:
        from tongxin.cases.services import submit

        case = submit(
            channel="resident_app",
            category="convenience",
            description=_("投诉便民服务商户“%(m)s”：%(c)s")
            % {"m": locked.merchant.name, "c": locked.comment},
            actor=actor,
            reporter=locked.resident,
            dwelling=locked.resident.dwelling,
            idempotency_key=f"doorstep-merchant-booking-{locked.pk}",
        )
        locked.case_id = case.pk
        fields.append("case_id")
    locked.save(update_fields=fields)
    audit.record(
        AuditLog.Action.UPDATE,
        locked,
        actor=actor,
        field="rating",
        after={"rating": rating, "case": locked.case_id},
    )
    return locked


# -------------------------------------------------------------------------------------------------- venues
@transaction.atomic
def create_venue(
    actor: Any,
    *,
    community: Region,
    name: str,
    capacity: int,
    opens_at: dt.time,
    closes_at: dt.time,
    rules: str = "",
) -> Venue:
    venue = Venue(
        community=community,
        name=(name or "").strip()[:50],
        capacity=capacity,
        opens_at=opens_at,
        closes_at=closes_at,
        rules=rules,
    )
    policy.require(actor, "doorstep.manage_venues", venue)
    if not venue.name:
        raise DoorstepError({"name": _("请填写场地名称")})
    if capacity < 1:
        raise DoorstepError({"capacity": _("容纳人数至少为1")})
    if closes_at <= opens_at:
        raise DoorstepError({"closes_at": _("关闭时间应晚于开放时间")})
    venue.save()
    audit.record(AuditLog.Action.CREATE, venue, actor=actor, after={"name": venue.name})
    return venue


@transaction.atomic
def book_venue(
    actor: Any,
    venue: Venue,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    purpose: str,
    attendees: int,
    organiser: str = "",
    co_building_unit: Any = None,
) -> VenueBooking:
    """Book a room: within its opening hours on one day, no more people than it holds, and never over another
    current booking (the venue's row lock makes the overlap check and the insert one step)."""
    staff = policy.can(actor, "doorstep.manage_venues", venue)
    if not staff:
        policy.require(actor, "doorstep.book_venue", venue)
        resident = resident_of(actor)
        if resident is None:
            raise DoorstepError(_("您的账号尚未关联居民信息"))
        organiser, co_building_unit = resident.name, None
    organiser = (organiser or (co_building_unit.name if co_building_unit else "")).strip()[:100]
    errors: dict[str, str] = {}
    if not organiser:
        errors["organiser"] = _("请填写使用方")
    if not (purpose or "").strip():
        errors["purpose"] = _("请填写用途")
    if ends_at <= starts_at:
        errors["ends_at"] = _("结束时间应晚于开始时间")
    elif starts_at <= timezone.now():
        errors["starts_at"] = _("开始时间已过")
    else:
        start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
        if start.date() != end.date() or start.time() < venue.opens_at or end.time() > venue.closes_at:
            errors["starts_at"] = _("请在开放时间 %(o)s–%(c)s 内预约") % {
                "o": venue.opens_at.strftime("%H:%M"),
                "c": venue.closes_at.strftime("%H:%M"),
            }
    if attendees < 1 or attendees > venue.capacity:
        errors["attendees"] = _("人数应在1到%(n)d之间") % {"n": venue.capacity}
    if (
        co_building_unit is not None
        and not co_building_unit.communities.filter(pk=venue.community_id).exists()
    ):
        errors["co_building_unit"] = _("该单位未与本社区共建")
    if errors:
        raise DoorstepError(errors)
    locked = Venue.objects.select_for_update().get(pk=venue.pk)
    clash = (
        VenueBooking.objects.filter(
            venue=locked, cancelled=False, starts_at__lt=ends_at, ends_at__gt=starts_at
        )
        .order_by("starts_at")
        .first()
    )
    if clash is not None:
        raise DoorstepError(
            {
                "starts_at": _("与已有预约冲突：%(a)s–%(b)s %(o)s")
                % {
                    "a": timezone.localtime(clash.starts_at).strftime("%H:%M"),
                    "b": timezone.localtime(clash.ends_at).strftime("%H:%M"),
                    "o": clash.organiser,
                }
            },
            code="conflict",
        )
    booking = VenueBooking.objects.create(
        venue=locked,
        community_id=locked.community_id,
        starts_at=starts_at,
        ends_at=ends_at,
        organiser=organiser,
        co_building_unit=co_building_unit,
        purpose=purpose.strip()[:100],
        attendees=attendees,
        booked_by=actor,
    )
    audit.record(
        AuditLog.Action.CREATE, booking, actor=actor, after={"venue": locked.pk, "starts_at": str(starts_at)}
    )
    return booking


@transaction.atomic
def cancel_venue_booking(actor: Any, booking: VenueBooking) -> VenueBooking:
    """The one who booked, or the community's staff, cancel a booking that has not begun."""
    locked = VenueBooking.objects.select_for_update(of=("self",)).select_related("venue").get(pk=booking.pk)
    if locked.booked_by_id != getattr(actor, "pk", None):
        policy.require(actor, "doorstep.manage_venues", locked.venue)
    if locked.cancelled:
        raise DoorstepError(_("该预约已取消"), code="bad_transition")
    if locked.starts_at <= timezone.now():
        raise DoorstepError(_("已开始的预约不能取消"), code="bad_transition")
    locked.cancelled = True
    locked.save(update_fields=["cancelled"])
    audit.record(AuditLog.Action.UPDATE, locked, actor=actor, field="cancelled", after=True)
    return locked


def visible_requests(user: Any) -> Any:
    return policy.restrict(ServiceRequest.objects.all(), user, "doorstep.view_requests")


def open_slots_for(resident: Resident, function: ServiceFunction, days: int = 7) -> Any:
    now = timezone.now()
    return (
        Slot.objects.filter(function=function, starts_at__gt=now, starts_at__lt=now + dt.timedelta(days=days))
        .filter(Q(booked__lt=F("capacity")))
        .order_by("starts_at")
    )


# ----------------------------------------------------------------------------------------- 直通车 shop
@transaction.atomic
def place_shop_order(actor: Any, quantities: dict[int, int], *, delivery: bool = False) -> ShopOrder:
    """A resident orders goods at cost. Items are locked in pk order and their stock taken in the same
    transaction; delivery is free for residents aged 60 and over (age from the registry) and offered to them
    only — the others collect at the hall."""
    resident = resident_of(actor)
    if resident is None or resident.dwelling is None:
        raise DoorstepError(_("您的账号尚未关联居民信息"))
    wanted = {pk: n for pk, n in quantities.items() if n > 0}
    if not wanted:
        raise DoorstepError({"items": _("请选择商品")})
    items = list(
        ShopItem.objects.select_for_update()
        .filter(pk__in=sorted(wanted), community_id=resident.dwelling.community_id, active=True)
        .order_by("pk")
    )
    if len(items) != len(wanted):
        raise DoorstepError({"items": _("商品不存在或已下架")})
    probe = ShopOrder(community_id=resident.dwelling.community_id, resident=resident)
    policy.require(actor, "doorstep.shop", probe)
    short = [i.name for i in items if i.stock < wanted[i.pk]]
    if short:
        raise DoorstepError(
            {"items": _("库存不足：%(names)s") % {"names": "、".join(short)}}, code="out_of_stock"
        )
    if delivery and (resident.age or 0) < FREE_DELIVERY_AGE:
        raise DoorstepError({"delivery": _("送货上门仅限60岁以上老人，请到服务大厅自取")})
    lines, total = [], Decimal("0")
    for item in items:
        n = wanted[item.pk]
        ShopItem.objects.filter(pk=item.pk).update(stock=F("stock") - n)
        lines.append({"item": item.pk, "name": item.name, "quantity": n, "price": str(item.price)})
        total += item.price * n
    order = ShopOrder.objects.create(
        community_id=resident.dwelling.community_id,
        resident=resident,
        lines=lines,
        total=total,
        delivery=delivery,
    )
    audit.record(
        AuditLog.Action.CREATE, order, actor=actor, after={"total": str(total), "delivery": delivery}
    )
    notify(
        _community_staff(order.community_id),
        _("直通车订单：%(n)s") % {"n": resident.name},
        _("送货上门") if delivery else _("到大厅自取"),
        reverse("doorstep:shop"),
        kind=KIND,
        event=f"shop-order:{order.pk}",
    )
    return order


@transaction.atomic
def close_shop_order(actor: Any, order: ShopOrder, *, to: str, deliverer: str = "") -> ShopOrder:
    """Staff record the order delivered (by whom: a volunteer or a merchant), collected or cancelled (the stock
    comes back)."""
    locked = ShopOrder.objects.select_for_update().get(pk=order.pk)
    policy.require(actor, "doorstep.manage_shop", locked)
    _check(locked.state, to, SHOP_ORDER_TRANSITIONS)
    if to == ShopOrderState.DELIVERED and not (deliverer or "").strip():
        raise DoorstepError({"deliverer": _("请填写配送人")})
    if to == ShopOrderState.CANCELLED:
        for line in sorted(locked.lines, key=lambda ln: ln["item"]):
            ShopItem.objects.filter(pk=line["item"]).update(stock=F("stock") + line["quantity"])
    locked.state = to
    locked.deliverer = (deliverer or "").strip()[:50]
    locked.closed_at = timezone.now()
    locked.save(update_fields=["state", "deliverer", "closed_at"])
    audit.record(AuditLog.Action.TRANSITION, locked, actor=actor, field="state", after=to)
    return locked
