"""States and kinds for posts, activities and the ledger (the red bank of hours and the points of the shop)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    HOURS = "hours", _("时长")
    POINTS = "points", _("积分")


class AccountKind(models.TextChoices):
    PERSON = "person", _("个人")
    HOUSEHOLD = "household", _("家庭")
    COMMUNITY = "community", _("社区")
    CO_BUILDING_UNIT = "unit", _("共建单位")


# Accounts that may not go below zero: a member cannot spend hours they do not have.
NO_OVERDRAFT_KINDS = frozenset({AccountKind.PERSON, AccountKind.HOUSEHOLD})


class TransactionKind(models.TextChoices):
    EARN = "earn", _("服务计时")
    CASE = "case", _("接单办结")
    SPEND = "spend", _("兑换服务")
    TRANSFER = "transfer", _("转赠")
    WEIGH_IN = "weigh_in", _("垃圾分类")
    AWARD = "award", _("奖励")
    REDEEM = "redeem", _("积分兑换")
    EXPIRE = "expire", _("积分过期")
    REVERSAL = "reversal", _("冲正")


# Kinds that count towards daily and lifetime caps and towards participation (hours earned for service).
EARNING_KINDS = frozenset({TransactionKind.EARN, TransactionKind.CASE})
# Kinds that count on the points leaderboards.
POINTS_EARNING_KINDS = frozenset({TransactionKind.WEIGH_IN, TransactionKind.AWARD, TransactionKind.EARN})


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


ALERT_ORDER = [AlertLevel.GREEN, AlertLevel.YELLOW, AlertLevel.ORANGE, AlertLevel.RED]
