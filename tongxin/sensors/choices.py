"""Sensors vocabulary: device kinds (with unit, case category and default thresholds), alert rules, the alert and
care-signal states with their ONE transition table each, and the reasons a reading is refused.

Every state change goes through :func:`check_transition`; a transition not in the table raises
:class:`SensorError` with a message the person who clicked can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.cases.choices import Channel

# The channel sensor cases are filed under. Cases has no ``sensor`` channel yet (cases owns that vocabulary);
# until it adds one, sensor cases come in through the API channel and are told apart by their alert row.
# One constant, so the switch is a one-line change.
CASE_CHANNEL: str = getattr(Channel, "SENSOR", Channel.API)


class DeviceKind(models.TextChoices):
    WATER_PRESSURE = "water_pressure", _("管网水压")
    TANK_LEVEL = "tank_level", _("水箱液位")
    FLOW = "flow", _("管网流量")
    WATER_METER = "water_meter", _("水表")
    ELECTRICITY_METER = "electricity_meter", _("电表")
    GAS_METER = "gas_meter", _("燃气表")
    SMOKE = "smoke", _("烟感")
    DOOR = "door", _("门磁")
    ELEVATOR_FAULT = "elevator_fault", _("电梯故障信号")


@dataclass(frozen=True)
class KindSpec:
    """What a kind of device measures and how a threshold crossing becomes a case."""

    unit: str
    category: str  # cases Category.service_code of the case a crossing opens
    minimum: float  # physically possible range: values outside are refused as impossible
    maximum: float
    low: float | None = None  # default thresholds for a new device
    high: float | None = None
    rate_per_minute: float | None = None
    silence_minutes: int | None = 30
    meter: bool = False  # a cumulative index (consumption = difference of two readings)
    binary: bool = False  # 0 = normal, 1 = alarm


KINDS: dict[str, KindSpec] = {
    DeviceKind.WATER_PRESSURE: KindSpec("MPa", "utilities", 0, 2.5, low=0.15, high=0.8, rate_per_minute=0.15),
    DeviceKind.TANK_LEVEL: KindSpec("m", "utilities", 0, 20, low=0.5, high=4.5),
    DeviceKind.FLOW: KindSpec("m³/h", "utilities", 0, 500, high=120, rate_per_minute=60),
    DeviceKind.WATER_METER: KindSpec("m³", "utilities", 0, 1e7, silence_minutes=24 * 60, meter=True),
    DeviceKind.ELECTRICITY_METER: KindSpec("kWh", "utilities", 0, 1e8, silence_minutes=24 * 60, meter=True),
    DeviceKind.GAS_METER: KindSpec("m³", "utilities", 0, 1e7, silence_minutes=24 * 60, meter=True),
    DeviceKind.SMOKE: KindSpec("", "emergency", 0, 1, high=0.5, silence_minutes=24 * 60, binary=True),
    DeviceKind.DOOR: KindSpec("", "property", 0, 1, high=0.5, silence_minutes=None, binary=True),
    DeviceKind.ELEVATOR_FAULT: KindSpec("", "repairs-large", 0, 1, high=0.5, binary=True),
}
METER_KINDS: tuple[str, ...] = tuple(k for k, s in KINDS.items() if s.meter)


class AlertRule(models.TextChoices):
    LOW = "low", _("低于下限")
    HIGH = "high", _("高于上限")
    RATE = "rate", _("变化过快")
    SILENCE = "silence", _("长时间无数据")


class AlertState(models.TextChoices):
    ACTIVE = "active", _("告警中")
    RECOVERED = "recovered", _("已恢复")
    CLOSED = "closed", _("已关闭")


# An alert lives as long as its case is open: it may recover and fire again (same case, a comment each time);
# it is closed when the case is resolved or closed, and the next crossing opens a new alert and a new case.
ALERT_TRANSITIONS: dict[str, frozenset[str]] = {
    AlertState.ACTIVE: frozenset({AlertState.RECOVERED, AlertState.CLOSED}),
    AlertState.RECOVERED: frozenset({AlertState.ACTIVE, AlertState.CLOSED}),
    AlertState.CLOSED: frozenset(),
}
OPEN_ALERT_STATES: tuple[str, ...] = (AlertState.ACTIVE, AlertState.RECOVERED)


class AlertEventType(models.TextChoices):
    OPENED = "opened", _("触发告警")
    FIRED_AGAIN = "fired_again", _("再次触发")
    RECOVERED = "recovered", _("读数恢复")
    CLOSED = "closed", _("告警关闭")


class CareSignalKind(models.TextChoices):
    NO_WATER_USE = "no_water_use", _("独居老人24小时未用水")


class CareSignalState(models.TextChoices):
    OPEN = "open", _("待走访")
    VISITED = "visited", _("已走访")
    DISMISSED = "dismissed", _("无需走访")


CARE_TRANSITIONS: dict[str, frozenset[str]] = {
    CareSignalState.OPEN: frozenset({CareSignalState.VISITED, CareSignalState.DISMISSED}),
    CareSignalState.VISITED: frozenset(),
    CareSignalState.DISMISSED: frozenset(),
}


class Rejection(models.TextChoices):
    """Why a reading (or a whole payload) was not stored. Counted per day and source (:class:`IngestCount`)."""

    MALFORMED = "malformed", _("格式错误")
    UNKNOWN_DEVICE = "unknown_device", _("未知设备")
    INACTIVE_DEVICE = "inactive_device", _("设备已停用")
    IMPOSSIBLE_VALUE = "impossible_value", _("数值不可能")
    CLOCK_SKEW = "clock_skew", _("时间超前")
    TOO_OLD = "too_old", _("时间过旧")


class Source(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("HTTP网关")


class SensorError(Exception):
    """A sensor operation that cannot be done; ``message`` is user-readable."""

    def __init__(self, message: str, *, code: str = "sensor_error", field: str = "") -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.code = code
        self.field = field


def check_transition(
    table: dict[str, frozenset[str]], labels: type[models.TextChoices], old: str, new: str
) -> None:
    """Raise :class:`SensorError` unless ``old → new`` is in ``table``."""
    if new not in table.get(old, frozenset()):
        raise SensorError(
            _("当前状态为「%(from)s」，不能变更为「%(to)s」")
            % {"from": labels(old).label, "to": labels(new).label},
            code="invalid_transition",
        )
