"""Mediation (矛盾纠纷调解): the dispute register per grid (矛盾纠纷排查), the parties (personal data masked and
encrypted as in the registry), the mediators (members on the 矛盾调解 post, a co-building unit's legal adviser),
sessions with notes, the agreement (text, PDF to sign), follow-up visits and the outcome. A case can be handed to
mediation and back (``case``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.events import EventBase
from tongxin.mediation.choices import DisputeKind, DisputeSource, DisputeState, MediatorKind, PartyRole

USER = settings.AUTH_USER_MODEL


class Mediator(models.Model):
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=MediatorKind.choices)
    name = models.CharField(_("姓名"), max_length=50)
    organisation = models.CharField(_("单位"), max_length=100, blank=True)
    user = models.ForeignKey(
        USER,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mediator_roles",
        verbose_name=_("账号"),
    )
    active = models.BooleanField(_("在岗"), default=True)

    class Meta:
        verbose_name = _("调解员")
        verbose_name_plural = _("调解员")
        ordering = ["community_id", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class Dispute(models.Model):
    number = models.CharField(_("编号"), max_length=20, unique=True)
    title = models.CharField(_("纠纷概要"), max_length=120)
    description = models.TextField(_("纠纷情况"))
    kind = models.CharField(_("类型"), max_length=12, choices=DisputeKind.choices)
    source = models.CharField(_("来源"), max_length=8, choices=DisputeSource.choices)
    state = models.CharField(
        _("状态"), max_length=12, choices=DisputeState.choices, default=DisputeState.REGISTERED, db_index=True
    )
    subdistrict = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区")
    )
    grid = models.ForeignKey(
        "regions.Grid", on_delete=models.PROTECT, related_name="+", verbose_name=_("网格")
    )
    dwelling = models.ForeignKey(
        "regions.Dwelling",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("房屋"),
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("诉求"),
    )
    mediator = models.ForeignKey(
        Mediator,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
        verbose_name=_("调解员"),
    )
    outcome = models.TextField(_("结果"), blank=True)
    registered_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["grid", "state"], name="dispute_grid_state"),
            models.Index(fields=["community", "state"], name="dispute_community_state"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class DisputeParty(models.Model):
    """A party to a dispute. The phone is stored encrypted with a lookup hash and shown masked (as residents)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(_("身份"), max_length=12, choices=PartyRole.choices)
    name = models.CharField(_("姓名"), max_length=50)
    resident = models.ForeignKey(
        "people.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phone_enc = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["dispute_id", "role", "pk"]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    location = models.CharField(_("地点"), max_length=100, blank=True)
    notes = models.TextField(_("调解记录"))
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Agreement(models.Model):
    dispute = models.OneToOneField(Dispute, on_delete=models.PROTECT, related_name="agreement")
    text = models.TextField(_("协议内容"))
    signed_on = models.DateField(_("签订日期"), default=timezone.localdate)
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("调解协议")
        verbose_name_plural = _("调解协议")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class FollowUp(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="follow_ups")
    at = models.DateTimeField(_("回访时间"), default=timezone.now)
    kept = models.BooleanField(_("协议已履行"))
    notes = models.TextField(_("回访情况"), blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class DisputeEvent(EventBase):
    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("纠纷事件")
        verbose_name_plural = _("纠纷事件")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"
