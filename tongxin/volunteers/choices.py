"""States and kinds for posts and activities, and which ledger movements count as service (the red bank)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.ledger.choices import TransactionKind
from tongxin.ledger.choices import Unit as Unit  # re-exported for alerts.py; new code imports tongxin.ledger

# Kinds that count towards daily and lifetime caps and towards participation (hours earned for service).
EARNING_KINDS = frozenset({TransactionKind.EARN, TransactionKind.CASE})


class Eligibility(models.TextChoices):
    ANYONE = "anyone", _("所有居民")
    PARTY_MEMBERS = "party", _("仅党员")
    UNIT = "unit", _("指定单位")


class ActivityKind(models.TextChoices):
    RED_SUNDAY = "red_sunday", _("红色星期天")
    VOLUNTEER = "volunteer", _("志愿服务")
    CULTURE = "culture", _("文体活动")
    OTHER = "other", _("其他")


class ActivityStatus(models.TextChoices):
    OPEN = "open", _("报名中")
    CLOSED = "closed", _("已结束")
    VERIFIED = "verified", _("已核验")
    CANCELLED = "cancelled", _("已取消")


ACTIVITY_TRANSITIONS: dict[str, frozenset[str]] = {
    ActivityStatus.OPEN: frozenset(
        {ActivityStatus.CLOSED, ActivityStatus.CANCELLED, ActivityStatus.VERIFIED}
    ),
    ActivityStatus.CLOSED: frozenset({ActivityStatus.VERIFIED}),
    ActivityStatus.VERIFIED: frozenset(),
    ActivityStatus.CANCELLED: frozenset(),
}


class SignUpStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("已报名")
    WAITLISTED = "waitlisted", _("候补")
    CANCELLED = "cancelled", _("已取消")
    ATTENDED = "attended", _("已核验")
    ABSENT = "absent", _("缺席")


ACTIVE_SIGNUP_STATES = frozenset({SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED})

SIGNUP_TRANSITIONS: dict[str, frozenset[str]] = {
    SignUpStatus.WAITLISTED: frozenset({SignUpStatus.CONFIRMED, SignUpStatus.CANCELLED}),
    SignUpStatus.CONFIRMED: frozenset({SignUpStatus.CANCELLED, SignUpStatus.ATTENDED, SignUpStatus.ABSENT}),
    SignUpStatus.CANCELLED: frozenset(),
    SignUpStatus.ATTENDED: frozenset(),
    SignUpStatus.ABSENT: frozenset(),
}


class AlertLevel(models.TextChoices):
    GREEN = "green", _("正常")
    YELLOW = "yellow", _("黄色预警")
    ORANGE = "orange", _("橙色预警")
    RED = "red", _("红色预警")
    CARE = "care", _("上门关怀")  # elderly-frail members: visited, not warned


class AlertMode(models.TextChoices):
    WARN = "warn", _("黄橙红预警")
    CARE = "care", _("上门关怀，不作预警")


ALERT_ORDER = [AlertLevel.GREEN, AlertLevel.YELLOW, AlertLevel.ORANGE, AlertLevel.RED]
