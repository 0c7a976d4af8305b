"""States and their transition tables: appointments at the window, requests handed to the back office or run as
errands (代办), piecework claims, merchant bookings and venue bookings."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppointmentState(models.TextChoices):
    BOOKED = "booked", _("已预约")
    WAITING = "waiting", _("已取号")
    CALLED = "called", _("已叫号")
    SERVED = "served", _("已办理")
    NO_SHOW = "no_show", _("未到")
    CANCELLED = "cancelled", _("已取消")


OPEN_APPOINTMENT_STATES = frozenset(
    {AppointmentState.BOOKED, AppointmentState.WAITING, AppointmentState.CALLED}
)
HOLDS_SLOT = frozenset({*OPEN_APPOINTMENT_STATES, AppointmentState.SERVED})
APPOINTMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentState.BOOKED: frozenset(
        {AppointmentState.CALLED, AppointmentState.CANCELLED, AppointmentState.NO_SHOW}
    ),
    AppointmentState.WAITING: frozenset({AppointmentState.CALLED, AppointmentState.CANCELLED}),
    AppointmentState.CALLED: frozenset(
        {AppointmentState.SERVED, AppointmentState.NO_SHOW, AppointmentState.CALLED}
    ),
    AppointmentState.SERVED: frozenset(),
    AppointmentState.NO_SHOW: frozenset(),
    AppointmentState.CANCELLED: frozenset(),
}


class RequestKind(models.TextChoices):
    WINDOW = "window", _("窗口受理")
    ERRAND = "errand", _("代办")


class RequestState(models.TextChoices):
    REQUESTED = "requested", _("待接单")
    TAKEN = "taken", _("已接单")
    HANDLING = "handling", _("后台办理中")
    DONE = "done", _("已办结")
    HANDED_BACK = "handed_back", _("已交还")
    RETURNED = "returned", _("已退回")


OPEN_REQUEST_STATES = frozenset({RequestState.REQUESTED, RequestState.TAKEN, RequestState.HANDLING})
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestState.REQUESTED: frozenset({RequestState.TAKEN, RequestState.RETURNED}),
    RequestState.TAKEN: frozenset({RequestState.HANDLING, RequestState.RETURNED}),
    RequestState.HANDLING: frozenset({RequestState.DONE, RequestState.RETURNED}),
    RequestState.DONE: frozenset({RequestState.HANDED_BACK}),
    RequestState.HANDED_BACK: frozenset(),
    RequestState.RETURNED: frozenset(),
}


class HandOverDirection(models.TextChoices):
    RECEIVED = "received", _("收取材料")
    RETURNED = "returned", _("交还结果")


class RequestEventType(models.TextChoices):
    RECEIVED = "received", _("受理")
    REQUESTED = "requested", _("申请代办")
    TAKEN = "taken", _("接单")
    HANDED_IN = "handed_in", _("签收材料")
    TO_BACK_OFFICE = "to_back_office", _("转后台办理")
    DONE = "done", _("办结")
    HANDED_BACK = "handed_back", _("签字交还")
    RETURNED = "returned", _("退回")
    HOURS = "hours", _("记入时间银行")


class PieceworkState(models.TextChoices):
    OPEN = "open", _("接单中")
    CLOSED = "closed", _("已结束")


class ClaimState(models.TextChoices):
    CLAIMED = "claimed", _("已领取")
    HANDED_IN = "handed_in", _("已交货")
    PAID = "paid", _("已结算")


CLAIM_TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimState.CLAIMED: frozenset({ClaimState.HANDED_IN}),
    ClaimState.HANDED_IN: frozenset({ClaimState.PAID}),
    ClaimState.PAID: frozenset(),
}


class MerchantCategory(models.TextChoices):
    HOUSEKEEPING = "housekeeping", _("家政")
    CLEANING = "cleaning", _("保洁")
    REPAIR = "repair", _("维修")
    HAIRCUT = "haircut", _("理发")
    LAUNDRY = "laundry", _("洗衣")
    OTHER = "other", _("其他")


class BookingState(models.TextChoices):
    BOOKED = "booked", _("已预约")
    DONE = "done", _("已服务")
    CANCELLED = "cancelled", _("已取消")


BOOKING_TRANSITIONS: dict[str, frozenset[str]] = {
    BookingState.BOOKED: frozenset({BookingState.DONE, BookingState.CANCELLED}),
    BookingState.DONE: frozenset(),
    BookingState.CANCELLED: frozenset(),
}


class ShopOrderState(models.TextChoices):
    PLACED = "placed", _("已下单")
    DELIVERED = "delivered", _("已送达")
    COLLECTED = "collected", _("已自取")
    CANCELLED = "cancelled", _("已取消")


SHOP_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    ShopOrderState.PLACED: frozenset(
        {ShopOrderState.DELIVERED, ShopOrderState.COLLECTED, ShopOrderState.CANCELLED}
    ),
    ShopOrderState.DELIVERED: frozenset(),
    ShopOrderState.COLLECTED: frozenset(),
    ShopOrderState.CANCELLED: frozenset(),
}
FREE_DELIVERY_AGE = 60
