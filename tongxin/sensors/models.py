"""Smart-community sensors: devices on the region tree with their thresholds, the readings they send (a table
partitioned by month on PostgreSQL), the alerts a threshold crossing raises (each with exactly one case), meters'
monthly consumption per dwelling, and care signals (an elderly person living alone who stopped using water).

See docs/sensors.md. All writes go through :mod:`tongxin.sensors.services` (and the bulk writer in
:mod:`tongxin.sensors.ingest`); these models only hold data.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.sensors.choices import (
    KINDS,
    OPEN_ALERT_STATES,
    AlertEventType,
    AlertRule,
    AlertState,
    CareSignalKind,
    CareSignalState,
    DeviceKind,
    KindSpec,
    Source,
)
from tongxin.sensors.querysets import DeviceQuerySet

# A serial appears in the MQTT topic, so it holds none of MQTT's separators or wildcards (/ + #).
SERIAL_VALIDATOR = RegexValidator(r"^[A-Za-z0-9_.:-]{1,64}$", _("设备编号只能包含字母、数字和 _ . : -"))


class Device(models.Model):
    """A sensor or meter installed somewhere on the region tree (an estate's pump room, a building, an entrance,
    a dwelling's meter well), with its thresholds and who maintains it.

    The location fields are copied from ``region`` (and ``dwelling``) so the scope filter is one equality, as for
    dwellings and cases."""

    Kind = DeviceKind

    serial = models.CharField(_("设备编号"), max_length=64, unique=True, validators=[SERIAL_VALIDATOR])
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=DeviceKind.choices, db_index=True)
    unit = models.CharField(_("单位"), max_length=12, blank=True)
    place = models.CharField(_("安装位置"), max_length=100, blank=True, help_text=_("如：1号泵房、3栋水表井"))

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="devices", verbose_name=_("所在区域")
    )
    dwelling = models.ForeignKey(
        "regions.Dwelling",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("房屋"),
        help_text=_("户表填写所属房屋"),
    )
    subdistrict = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    estate = models.ForeignKey("regions.Region", null=True, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey("regions.Region", null=True, on_delete=models.PROTECT, related_name="+")
    entrance = models.ForeignKey("regions.Region", null=True, on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey("regions.Grid", null=True, on_delete=models.PROTECT, related_name="+")
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)

    # thresholds (阈值): empty means "not checked"
    low = models.FloatField(_("下限"), null=True, blank=True)
    high = models.FloatField(_("上限"), null=True, blank=True)
    rate_per_minute = models.FloatField(
        _("每分钟最大变化"), null=True, blank=True, help_text=_("相邻两次读数之差折算到每分钟的上限")
    )
    silence_minutes = models.PositiveIntegerField(
        _("静默告警(分钟)"), null=True, blank=True, help_text=_("超过该时间没有读数即告警并视为离线")
    )
    recover_after = models.PositiveSmallIntegerField(
        _("恢复所需正常读数"), default=3, help_text=_("连续多少次正常读数记为恢复")
    )

    # maintenance owner (维护单位): the case a crossing opens is dispatched to it
    property_company = models.ForeignKey(
        "regions.PropertyCompany",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("维护物业"),
    )
    department = models.ForeignKey(
        "regions.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("维护部门"),
    )
    category = models.ForeignKey(
        "cases.Category",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("工单类别"),
        help_text=_("留空则按设备类型"),
    )

    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    token_prefix = models.CharField(_("令牌前缀"), max_length=8, blank=True, editable=False)
    active = models.BooleanField(_("启用"), default=True)

    last_measured_at = models.DateTimeField(_("最近读数时间"), null=True, blank=True)
    last_value = models.FloatField(_("最近读数"), null=True, blank=True)
    # set by ingestion, cleared by the silence sweep when no reading came within the window (30 min by default)
    online = models.BooleanField(_("在线"), default=False)
    # consecutive in-range readings since the last crossing (recovery needs ``recover_after`` of them)
    normal_streak = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = _("设备")
        verbose_name_plural = _("设备")
        ordering = ["community_id", "estate_id", "kind", "serial"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(property_company__isnull=True) | models.Q(department__isnull=True),
                name="sensor_device_one_owner",
            ),
        ]
        indexes = [models.Index(fields=["estate", "kind"], name="sensor_device_estate_kind")]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial})"

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    @property
    def is_meter(self) -> bool:
        return self.spec.meter

    @property
    def owner(self) -> object | None:
        return self.property_company or self.department

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_token() -> str:
        return "dev_" + secrets.token_urlsafe(30)


class Reading(models.Model):
    """One measurement. The primary key is (device, measured_at): a repeated reading is the same row, which is
    what makes ingestion idempotent. On PostgreSQL the table is partitioned by month of ``measured_at``
    (migration 0001 creates it; :mod:`tongxin.sensors.partitions` keeps partitions ahead)."""

    pk = models.CompositePrimaryKey("device", "measured_at")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="readings")
    measured_at = models.DateTimeField(_("时间"))
    value = models.FloatField(_("读数"))

    class Meta:
        verbose_name = _("读数")
        verbose_name_plural = _("读数")

    def __str__(self) -> str:
        return f"{self.device_id} {self.measured_at:%Y-%m-%d %H:%M:%S} {self.value:g}"


class Alert(models.Model):
    """告警: a device outside its thresholds. One alert per device is open at a time, and it has exactly one
    case; it may recover and fire again while that case is open."""

    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("设备")
    )
    rule = models.CharField(_("规则"), max_length=10, choices=AlertRule.choices)
    state = models.CharField(_("状态"), max_length=10, choices=AlertState.choices, default=AlertState.ACTIVE)
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sensor_alerts",
        verbose_name=_("工单"),
    )
    opened_at = models.DateTimeField(_("触发时间"), default=timezone.now)
    recovered_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    first_value = models.FloatField(_("触发读数"), null=True, blank=True)
    last_value = models.FloatField(_("最近读数"), null=True, blank=True)
    crossings = models.PositiveIntegerField(_("越限读数数"), default=1)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(state__in=OPEN_ALERT_STATES),
                name="sensor_alert_one_open_per_device",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device.name} · {self.get_rule_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ALERT_STATES


class AlertEvent(models.Model):
    """The alert's timeline (append-only)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("事件"), max_length=12, choices=AlertEventType.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    rule = models.CharField(_("规则"), max_length=10, choices=AlertRule.choices, blank=True)
    value = models.FloatField(_("读数"), null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("告警事件")
        verbose_name_plural = _("告警事件")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.type}"


class MeterMonth(models.Model):
    """A meter's month (智能抄表): the index at the start and the end of the month and the consumption between,
    computed from the readings by :func:`tongxin.sensors.services.close_meter_months`."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="months", verbose_name=_("表"))
    dwelling = models.ForeignKey(
        "regions.Dwelling",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="meter_months",
        verbose_name=_("房屋"),
    )
    month = models.DateField(_("月份"))  # the first day of the month
    opening = models.FloatField(_("月初读数"))
    closing = models.FloatField(_("月末读数"))
    consumption = models.FloatField(_("用量"))
    readings = models.PositiveIntegerField(_("读数条数"), default=0)
    abnormal = models.BooleanField(
        _("用量异常"), default=False, help_text=_("用量为零，或超过前三个月平均值的三倍")
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("月度抄表")
        verbose_name_plural = _("月度抄表")
        ordering = ["-month", "device_id"]
        constraints = [models.UniqueConstraint(fields=["device", "month"], name="sensor_meter_month_unique")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.month:%Y-%m} {self.consumption:g}"


class CareSignal(models.Model):
    """关爱信号: a meter says someone may need a visit (an elderly person living alone used no water for 24 h).
    Not a repair: no case is opened. Grid workers see it and record the visit; the care/visits app can consume
    these rows through :data:`tongxin.sensors.signals.care_signal_raised` and :func:`open_care_signals`."""

    kind = models.CharField(_("类型"), max_length=20, choices=CareSignalKind.choices)
    state = models.CharField(
        _("状态"), max_length=10, choices=CareSignalState.choices, default=CareSignalState.OPEN
    )
    dwelling = models.ForeignKey(
        "regions.Dwelling", on_delete=models.PROTECT, related_name="care_signals", verbose_name=_("房屋")
    )
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="care_signals",
        verbose_name=_("关爱对象"),
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_signals"
    )
    detected_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    window_start = models.DateTimeField(_("观察起点"))
    window_end = models.DateTimeField(_("观察终点"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("处理人"),
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.CharField(_("走访记录"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("关爱信号")
        verbose_name_plural = _("关爱信号")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dwelling", "kind"],
                condition=models.Q(state="open"),
                name="sensor_care_one_open_per_dwelling",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.dwelling_id}"


class IngestCount(models.Model):
    """Readings accepted, duplicated and refused per day, source and reason (the subscriber and the gateway
    endpoint add to it once per batch)."""

    day = models.DateField(_("日期"))
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    outcome = models.CharField(_("结果"), max_length=20)  # "stored", "duplicate" or a Rejection value
    count = models.BigIntegerField(_("条数"), default=0)

    class Meta:
        verbose_name = _("接入统计")
        verbose_name_plural = _("接入统计")
        ordering = ["-day", "source", "outcome"]
        constraints = [
            models.UniqueConstraint(fields=["day", "source", "outcome"], name="sensor_ingest_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source} {self.outcome} {self.count}"
