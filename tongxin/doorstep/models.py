"""Services at the community's door: the one-window catalogue (windows, functions, slots), appointments with queue
numbers, requests handed to the back office or run as errands (代办) with signed hand-overs, piecework orders
(家庭代工) and claims, the merchants' team (便民服务队) and its bookings, and the service hall's rooms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.events import EventBase
from tongxin.doorstep.choices import (
    AppointmentState,
    BookingState,
    ClaimState,
    HandOverDirection,
    MerchantCategory,
    PieceworkState,
    RequestEventType,
    RequestKind,
    RequestState,
    ShopOrderState,
)


def _community(related: str) -> models.ForeignKey:
    return models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name=related, verbose_name=_("社区")
    )


def _user(verbose: Any, related: str = "+", null: bool = True) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name=related,
        verbose_name=verbose,
    )


# ------------------------------------------------------------------------------------------------ catalogue
class ServiceWindow(models.Model):
    """A window of the community's service hall (一窗受理: any window takes any request in its functions)."""

    community = _community("service_windows")
    number = models.PositiveSmallIntegerField(_("窗口号"))
    name = models.CharField(_("窗口名称"), max_length=50)
    active = models.BooleanField(_("开放"), default=True)

    class Meta:
        verbose_name = _("服务窗口")
        verbose_name_plural = _("服务窗口")
        ordering = ["community_id", "number"]
        constraints = [models.UniqueConstraint(fields=["community", "number"], name="window_unique_number")]

    def __str__(self) -> str:
        return f"{self.number}号窗口 {self.name}"


class ServiceFunction(models.Model):
    """A service a window handles: the materials to bring, whether the resident must come in person, the promised
    time and the back office that handles it after the front desk records it once."""

    community = _community("service_functions")
    window = models.ForeignKey(
        ServiceWindow, on_delete=models.PROTECT, related_name="functions", verbose_name=_("窗口")
    )
    name = models.CharField(_("事项名称"), max_length=80)
    category = models.CharField(_("类别"), max_length=20, help_text=_("民政、社保、计生、工商税务……"))
    materials = models.TextField(_("所需材料"), blank=True, help_text=_("每行一项"))
    in_person = models.BooleanField(_("须本人到场"), default=False)
    promised_days = models.PositiveSmallIntegerField(_("承诺时限（天）"), default=5)
    back_office = models.CharField(_("后台办理科室"), max_length=50, blank=True)
    appointable = models.BooleanField(_("可预约"), default=True)
    errand = models.BooleanField(_("可代办"), default=True)
    active = models.BooleanField(_("开放"), default=True)

    class Meta:
        verbose_name = _("服务事项")
        verbose_name_plural = _("服务事项")
        ordering = ["community_id", "window__number", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def material_list(self) -> list[str]:
        return [m.strip() for m in self.materials.splitlines() if m.strip()]


class Slot(models.Model):
    """A time slot of a function that takes up to ``capacity`` appointments; ``booked`` counts those that hold it."""

    community = _community("service_slots")
    function = models.ForeignKey(
        ServiceFunction, on_delete=models.PROTECT, related_name="slots", verbose_name=_("事项")
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    capacity = models.PositiveSmallIntegerField(_("名额"), validators=[MinValueValidator(1)])
    booked = models.PositiveSmallIntegerField(_("已约"), default=0)

    class Meta:
        verbose_name = _("预约时段")
        verbose_name_plural = _("预约时段")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["function", "starts_at"], name="slot_unique_start"),
            models.CheckConstraint(
                condition=models.Q(booked__lte=models.F("capacity")), name="slot_not_overbooked"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.function} {timezone.localtime(self.starts_at):%m-%d %H:%M}"

    @property
    def left(self) -> int:
        return max(self.capacity - self.booked, 0)


class Appointment(models.Model):
    """A place in the window's queue: booked on the phone for a slot (number ``A…``) or taken at the hall
    (``B…``). The number is unique per window and day."""

    community = _community("appointments")
    function = models.ForeignKey(
        ServiceFunction, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("事项")
    )
    window = models.ForeignKey(
        ServiceWindow, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("窗口")
    )
    slot = models.ForeignKey(
        Slot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("时段"),
    )
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("居民"),
    )
    name = models.CharField(_("姓名"), max_length=50)
    day = models.DateField(_("日期"))
    queue_number = models.CharField(_("排队号"), max_length=8)
    state = models.CharField(
        _("状态"), max_length=12, choices=AppointmentState.choices, default=AppointmentState.BOOKED
    )
    created_by = _user(_("登记人"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    called_at = models.DateTimeField(_("叫号时间"), null=True, blank=True)
    served_at = models.DateTimeField(_("办理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预约取号")
        verbose_name_plural = _("预约取号")
        ordering = ["day", "queue_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "day", "queue_number"], name="appointment_unique_number"
            )
        ]
        indexes = [models.Index(fields=["window", "day", "state"], name="appointment_queue_idx")]

    def __str__(self) -> str:
        return f"{self.queue_number} {self.name}"


# ------------------------------------------------------------------------------------- requests and errands
class ServiceRequest(models.Model):
    """One request, recorded once: at the window (handed to the back office with its own deadline) or asked as
    an errand (代办: a staff member or volunteer runs it, the resident only signs for the documents)."""

    kind = models.CharField(_("类型"), max_length=8, choices=RequestKind.choices)
    community = _community("service_requests")
    function = models.ForeignKey(
        ServiceFunction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
        verbose_name=_("事项"),
    )
    title = models.CharField(_("事由"), max_length=120)
    detail = models.TextField(_("说明"), blank=True)
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_requests",
        verbose_name=_("居民"),
    )
    name = models.CharField(_("申请人"), max_length=50)
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="request"
    )
    back_office = models.CharField(_("后台办理科室"), max_length=50, blank=True)
    due_on = models.DateField(_("承诺办结日期"))
    state = models.CharField(_("状态"), max_length=12, choices=RequestState.choices)
    runner = _user(_("代办人"), "doorstep_errands")
    received_by = _user(_("受理人"))
    result = models.TextField(_("办理结果"), blank=True)
    hours = models.DecimalField(_("代办时长（小时）"), max_digits=5, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(_("受理时间"), default=timezone.now, editable=False)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("办事申请")
        verbose_name_plural = _("办事申请")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["community", "state"], name="request_state_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def overdue(self) -> bool:
        return self.state in ("requested", "taken", "handling") and self.due_on < timezone.localdate()


class HandOver(models.Model):
    """A signed hand-over of documents: received from the resident, or handed back with the result."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="hand_overs", verbose_name=_("办事申请")
    )
    direction = models.CharField(_("方向"), max_length=8, choices=HandOverDirection.choices)
    documents = models.TextField(_("材料/证件"))
    signed_by = models.CharField(_("签字人"), max_length=50)
    signed_at = models.DateTimeField(_("签字时间"), default=timezone.now)
    recorded_by = _user(_("经办人"))

    class Meta:
        verbose_name = _("材料交接")
        verbose_name_plural = _("材料交接")
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "direction"], name="hand_over_once_each_way")
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.signed_by}"


class RequestEvent(EventBase):
    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(_("事件"), max_length=20, choices=RequestEventType.choices)

    class Meta(EventBase.Meta):
        verbose_name = _("办事进度")
        verbose_name_plural = _("办事进度")


# ---------------------------------------------------------------------------------------------- piecework
class PieceworkOrder(models.Model):
    """A factory's order the community collects for residents to work at home (家庭代工)."""

    community = _community("piecework_orders")
    factory = models.CharField(_("委托企业"), max_length=100)
    item = models.CharField(_("加工内容"), max_length=100)
    quantity = models.PositiveIntegerField(_("总数量（件）"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("单价（元/件）"), max_digits=8, decimal_places=2)
    deadline = models.DateField(_("交货期限"))
    quality_notes = models.TextField(_("质量要求"), blank=True)
    claimed = models.PositiveIntegerField(_("已领数量"), default=0)
    accepted = models.PositiveIntegerField(_("验收合格"), default=0)
    state = models.CharField(
        _("状态"), max_length=8, choices=PieceworkState.choices, default=PieceworkState.OPEN
    )
    created_by = _user(_("登记人"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("代工订单")
        verbose_name_plural = _("代工订单")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(claimed__lte=models.F("quantity")), name="piecework_not_over_claimed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.factory} {self.item}"

    @property
    def left(self) -> int:
        return max(self.quantity - self.claimed, 0)


class PieceworkClaim(models.Model):
    order = models.ForeignKey(
        PieceworkOrder, on_delete=models.PROTECT, related_name="claims", verbose_name=_("订单")
    )
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="piecework_claims", verbose_name=_("居民")
    )
    quantity = models.PositiveIntegerField(_("领取数量"), validators=[MinValueValidator(1)])
    accepted = models.PositiveIntegerField(_("合格数量"), default=0)
    rejected = models.PositiveIntegerField(_("不合格数量"), default=0)
    pay = models.DecimalField(_("计件工资（元）"), max_digits=10, decimal_places=2, default=Decimal("0"))
    state = models.CharField(_("状态"), max_length=10, choices=ClaimState.choices, default=ClaimState.CLAIMED)
    claimed_at = models.DateTimeField(_("领取时间"), default=timezone.now)
    handed_in_at = models.DateTimeField(_("交货时间"), null=True, blank=True)
    handed_in_by = _user(_("验收人"))

    class Meta:
        verbose_name = _("代工领取")
        verbose_name_plural = _("代工领取")
        ordering = ["order_id", "pk"]

    def __str__(self) -> str:
        return f"{self.resident_id} × {self.quantity}"


# ---------------------------------------------------------------------------------------------- merchants
class Merchant(models.Model):
    """A vetted merchant of the 便民服务队: services, the discount for residents, the area it serves."""

    community = _community("merchants")
    name = models.CharField(_("商户名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=16, choices=MerchantCategory.choices)
    services = models.TextField(_("服务项目及价格"), help_text=_("每行一项"))
    discount = models.CharField(_("居民优惠"), max_length=100, blank=True)
    service_area = models.CharField(_("服务范围"), max_length=100, blank=True)
    phone = models.CharField(_("商户电话"), max_length=20, blank=True)
    vetted_on = models.DateField(_("审核日期"), null=True, blank=True)
    vetted_by = _user(_("审核人"))
    active = models.BooleanField(_("在队"), default=True)

    class Meta:
        verbose_name = _("便民服务商户")
        verbose_name_plural = _("便民服务商户")
        ordering = ["community_id", "category", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def service_list(self) -> list[str]:
        return [m.strip() for m in self.services.splitlines() if m.strip()]


class MerchantBooking(models.Model):
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("商户")
    )
    community = _community("merchant_bookings")
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="merchant_bookings", verbose_name=_("居民")
    )
    wanted_on = models.DateField(_("预约日期"))
    note = models.CharField(_("需求"), max_length=200)
    state = models.CharField(
        _("状态"), max_length=10, choices=BookingState.choices, default=BookingState.BOOKED
    )
    rating = models.PositiveSmallIntegerField(
        _("评分"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.CharField(_("评价"), max_length=200, blank=True)
    case_id = models.IntegerField(_("投诉诉求"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("服务预约")
        verbose_name_plural = _("服务预约")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.wanted_on}"


# ------------------------------------------------------------------------------------------------- venues
class Venue(models.Model):
    """A room of the service hall (gym, dance, calligraphy, 爱心厨房 …) bookable within its opening hours."""

    community = _community("venues")
    name = models.CharField(_("场地"), max_length=50)
    capacity = models.PositiveSmallIntegerField(_("容纳人数"), validators=[MinValueValidator(1)])
    opens_at = models.TimeField(_("开放时间"))
    closes_at = models.TimeField(_("关闭时间"))
    rules = models.TextField(_("使用须知"), blank=True)
    active = models.BooleanField(_("开放预约"), default=True)

    class Meta:
        verbose_name = _("场地")
        verbose_name_plural = _("场地")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class VenueBooking(models.Model):
    """A booking of a room by a resident, a team or a co-building unit; no two current bookings overlap."""

    venue = models.ForeignKey(
        Venue, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("场地")
    )
    community = _community("venue_bookings")
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    organiser = models.CharField(_("使用方"), max_length=100)
    co_building_unit = models.ForeignKey(
        "party.CoBuildingUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="venue_bookings",
        verbose_name=_("共建单位"),
    )
    purpose = models.CharField(_("用途"), max_length=100)
    attendees = models.PositiveSmallIntegerField(_("人数"), validators=[MinValueValidator(1)])
    booked_by = _user(_("预约人"), null=False)
    cancelled = models.BooleanField(_("已取消"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("场地预约")
        verbose_name_plural = _("场地预约")
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["venue", "starts_at"], name="venue_booking_idx")]

    def __str__(self) -> str:
        return f"{self.venue} {timezone.localtime(self.starts_at):%m-%d %H:%M}"


# ------------------------------------------------------------------------------------- the 直通车 shop
class ShopItem(models.Model):
    """Goods of the 便民生活服务直通车 at cost (donated stock of a charity, seed 002)."""

    community = _community("shop_items")
    name = models.CharField(_("商品"), max_length=100)
    unit = models.CharField(_("规格"), max_length=30, blank=True)
    price = models.DecimalField(_("出厂价（元）"), max_digits=8, decimal_places=2)
    market_price = models.DecimalField(
        _("市面价（元）"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    stock = models.PositiveIntegerField(_("库存"), default=0)
    supplier = models.CharField(_("提供方"), max_length=100, blank=True)
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("直通车商品")
        verbose_name_plural = _("直通车商品")
        ordering = ["community_id", "name"]

    def __str__(self) -> str:
        return self.name


class ShopOrder(models.Model):
    """A resident's order; residents aged 60 and over get it delivered free (age from the registry), by a
    volunteer or a merchant; the others collect it at the hall."""

    community = _community("shop_orders")
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="shop_orders", verbose_name=_("居民")
    )
    lines = models.JSONField(_("商品明细"), default=list)
    total = models.DecimalField(_("合计（元）"), max_digits=10, decimal_places=2)
    delivery = models.BooleanField(_("送货上门"), default=False)
    deliverer = models.CharField(_("配送人"), max_length=50, blank=True)
    state = models.CharField(
        _("状态"), max_length=10, choices=ShopOrderState.choices, default=ShopOrderState.PLACED
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("直通车订单")
        verbose_name_plural = _("直通车订单")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.total}"
