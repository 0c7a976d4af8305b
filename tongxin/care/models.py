"""Visits and care: visit plans (千户访: every household of a grid once a quarter; elderly living alone weekly;
disabled and chronically ill on their own schedule), the due visits they produce, the record of a visit made on the
phone (findings, photos, a follow-up: a case, a care need, a mediation) and health services (义诊, 送医上门,
screening) with sign-up limited to eligible residents.

Visits carry the location ids of their dwelling (like cases do) so scoping is one equality. Care data is
sensitive: who sees it is decided in care/policy.py (not property staff; volunteers only the visits assigned to
them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.care.choices import (
    FollowUp,
    HealthKind,
    HealthState,
    PlanKind,
    SignUpState,
    VisitSource,
    VisitState,
)
from tongxin.core.events import EventBase


class VisitPlan(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区")
    )
    grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("网格"),
        help_text=_("空白表示全社区"),
    )
    kind = models.CharField(_("对象"), max_length=12, choices=PlanKind.choices)
    tag = models.ForeignKey(
        "people.Tag",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("标签"),
    )
    interval_days = models.PositiveSmallIntegerField(_("周期(天)"), help_text=_("每周7天，每季度91天"))
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("走访计划")
        verbose_name_plural = _("走访计划")
        ordering = ["community_id", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="tagged") | models.Q(tag__isnull=False), name="plan_tagged_has_tag"
            ),
            models.CheckConstraint(condition=models.Q(interval_days__gte=1), name="plan_interval_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Visit(models.Model):
    """A household visit, due by ``due_on``; overdue from the day after; done when recorded."""

    plan = models.ForeignKey(
        VisitPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    source = models.CharField(_("来源"), max_length=10, choices=VisitSource.choices, default=VisitSource.PLAN)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    source_ref = models.CharField(
        _("来源记录"),
        max_length=60,
        blank=True,
        db_default="",
        help_text=_("发起这次走访的记录，如水表的关爱信号"),
    )
    household = models.ForeignKey(
        "people.Household", on_delete=models.PROTECT, related_name="visits", verbose_name=_("家庭")
    )
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("关爱对象"),
    )
    dwelling = models.ForeignKey("regions.Dwelling", on_delete=models.PROTECT, related_name="+")
    subdistrict = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    estate = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False)
    building = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False)
    entrance = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", db_index=False)
    grid = models.ForeignKey("regions.Grid", on_delete=models.PROTECT, related_name="+", db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("走访人"),
        help_text=_("空白：网格员"),
    )
    due_on = models.DateField(_("应访日期"))
    state = models.CharField(_("状态"), max_length=10, choices=VisitState.choices, default=VisitState.DUE)
    visited_at = models.DateTimeField(_("走访时间"), null=True, blank=True)
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("实际走访人"),
    )
    findings = models.TextField(_("走访情况"), blank=True)
    follow_up = models.CharField(
        _("跟进"), max_length=10, choices=FollowUp.choices, default=FollowUp.NONE, blank=True
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("诉求"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("走访")
        verbose_name_plural = _("走访")
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(fields=["grid", "state", "due_on"], name="visit_grid_state_idx"),
            models.Index(fields=["community", "state", "due_on"], name="visit_community_state_idx"),
            models.Index(fields=["state", "due_on"], name="visit_state_due_idx"),
            models.Index(fields=["plan", "household"], name="visit_plan_household_idx"),
            models.Index(fields=["plan", "resident"], name="visit_plan_resident_idx"),
        ]
        constraints = [
            # one open visit per plan and household (and care recipient, for plans on tagged residents)
            models.UniqueConstraint(
                fields=["plan", "household", "resident"],
                condition=models.Q(state__in=["due", "overdue"], plan__isnull=False, resident__isnull=False),
                name="visit_one_open_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["plan", "household"],
                condition=models.Q(state__in=["due", "overdue"], plan__isnull=False, resident__isnull=True),
                name="visit_one_open_per_household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.due_on} {self.household_id}"

    @property
    def is_open(self) -> bool:
        return self.state in (VisitState.DUE, VisitState.OVERDUE)


class VisitPhoto(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("照片"), upload_to="visits/%Y/%m/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("走访照片")
        verbose_name_plural = _("走访照片")

    def __str__(self) -> str:
        return str(self.file.name)


class VisitEvent(EventBase):
    """The visit's timeline (append-only): scheduled, overdue, done, case opened, cancelled."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("走访事件")
        verbose_name_plural = _("走访事件")

    def __str__(self) -> str:
        return f"{self.visit_id} {self.type}"


class HealthService(models.Model):
    """A health service (义诊, 送医上门, a screening campaign) that eligible residents sign up for."""

    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区")
    )
    kind = models.CharField(_("类型"), max_length=12, choices=HealthKind.choices)
    title = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("内容"), blank=True)
    place = models.CharField(_("地点"), max_length=100, blank=True, help_text=_("送医上门可不填"))
    starts_at = models.DateTimeField(_("时间"))
    capacity = models.PositiveIntegerField(_("名额"))
    tags = models.ManyToManyField(
        "people.Tag",
        blank=True,
        related_name="+",
        verbose_name=_("限标签"),
        help_text=_("有其中任一标签的居民可报名；不选则不限"),
    )
    min_age = models.PositiveSmallIntegerField(_("最低年龄"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("最高年龄"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, blank=True, choices=[("M", _("男")), ("F", _("女"))])
    state = models.CharField(_("状态"), max_length=8, choices=HealthState.choices, default=HealthState.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("健康服务")
        verbose_name_plural = _("健康服务")
        ordering = ["-starts_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class HealthSignUp(models.Model):
    service = models.ForeignKey(HealthService, on_delete=models.CASCADE, related_name="signups")
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="health_signups")
    state = models.CharField(
        _("状态"), max_length=10, choices=SignUpState.choices, default=SignUpState.SIGNED_UP
    )
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("健康服务报名")
        verbose_name_plural = _("健康服务报名")
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "resident"],
                condition=models.Q(state__in=["signed_up", "served"]),
                name="health_signup_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_id}:{self.resident_id}"
