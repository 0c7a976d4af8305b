"""Units, account kinds and transaction kinds of the one ledger (hours of the red bank, points of the shop)."""

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
    """Every kind of movement, of both units: the ledger is shared, so the kinds are listed once here."""

    EARN = "earn", _("服务计时")
    CASE = "case", _("接单办结")
    SPEND = "spend", _("兑换服务")
    TRANSFER = "transfer", _("转赠")
    WEIGH_IN = "weigh_in", _("垃圾分类")
    AWARD = "award", _("奖励")
    REDEEM = "redeem", _("积分兑换")
    EXPIRE = "expire", _("积分过期")
    REVERSAL = "reversal", _("冲正")
