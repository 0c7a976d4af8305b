"""Points: waste-sorting weigh-ins, rules for good deeds, the rewards shop and its redemptions.

Balances live on the shared ledger (:mod:`tongxin.ledger`, unit ``points``): a household account (and a person
account where wanted) against the community's account. Weigh-ins and redemptions are the points' own records
of what happened: append-only like the ledger rows they stand beside (a mistake is corrected by a reversal).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.db import AppendOnlyModel

AMOUNT = {"max_digits": 14, "decimal_places": 2}


class PointsPolicy(models.Model):
    community = models.OneToOneField(
        "regions.Region", on_delete=models.CASCADE, related_name="points_policy", verbose_name=_("社区")
    )
    exchange_day = models.PositiveSmallIntegerField(_("每月兑换日"), default=6)
    expiry_months = models.PositiveSmallIntegerField(
        _("积分有效期(月)"), null=True, blank=True, help_text=_("留空表示不过期")
    )

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")

    def __str__(self) -> str:
        return str(self.community)


class WasteType(models.Model):
    community = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("代码"), max_length=20)
    name = models.CharField(_("名称"), max_length=30)
    rate = models.DecimalField(_("每公斤积分"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("垃圾类别")
        verbose_name_plural = _("垃圾类别")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="waste_type_unique")]

    def __str__(self) -> str:
        return self.name


class CollectionPoint(models.Model):
    community = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    estate = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=60)

    class Meta:
        verbose_name = _("分类回收点")
        verbose_name_plural = _("分类回收点")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class WeighIn(AppendOnlyModel):
    """One weighing at a collection point: waste type × kg × rate points to a household."""

    household = models.ForeignKey("people.Household", on_delete=models.PROTECT, related_name="weigh_ins")
    waste_type = models.ForeignKey(
        WasteType, on_delete=models.PROTECT, related_name="+", verbose_name=_("类别")
    )
    collection_point = models.ForeignKey(
        CollectionPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kg = models.DecimalField(_("重量(公斤)"), max_digits=8, decimal_places=2)
    points = models.DecimalField(_("积分"), max_digits=14, decimal_places=2)
    idempotency_key = models.CharField(max_length=120, unique=True)
    transaction = models.OneToOneField(
        "ledger.LedgerTransaction", on_delete=models.PROTECT, related_name="weigh_in"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("称重记录")
        verbose_name_plural = _("称重记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.waste_type_id} {self.kg}kg"


class PointRule(models.Model):
    """Points for a good deed or an activity (好人好事, 志愿服务 ...)."""

    community = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(_("代码"), max_length=30)
    name = models.CharField(_("名称"), max_length=50)
    points = models.DecimalField(_("积分"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("积分规则项")
        verbose_name_plural = _("积分规则项")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="point_rule_unique")]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    community = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="rewards")
    name = models.CharField(_("商品"), max_length=60)
    price = models.DecimalField(_("所需积分"), max_digits=14, decimal_places=2)
    stock = models.IntegerField(_("库存"), default=0)
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("兑换商品")
        verbose_name_plural = _("兑换商品")
        ordering = ["price", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="reward_stock_not_negative"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="reward_price_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(AppendOnlyModel):
    household = models.ForeignKey("people.Household", on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveIntegerField(_("数量"), default=1)
    points = models.DecimalField(_("积分"), max_digits=14, decimal_places=2)
    transaction = models.OneToOneField(
        "ledger.LedgerTransaction", on_delete=models.PROTECT, related_name="redemption"
    )
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("兑换记录")
        verbose_name_plural = _("兑换记录")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.reward} ×{self.quantity}"


ZERO = Decimal("0")
