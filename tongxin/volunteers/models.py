"""Participation: duty rosters on service posts, activities with sign-up and check-in, the rules of the red
bank of hours, and the thresholds of member alerts.

Hours are booked on the one ledger shared with the points of the rewards shop: :mod:`tongxin.ledger`.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.events import EventBase
from tongxin.ledger.models import Entry as Entry  # re-exported for alerts.py; new code imports tongxin.ledger
from tongxin.party.choices import MemberType
from tongxin.volunteers.choices import ActivityKind, ActivityStatus, AlertMode, Eligibility, SignUpStatus


# ----------------------------------------------------------------------------------- rules and policies
class AlertLines(models.Model):
    """Participation alert lines: fewer hours than these in a quarter, or fewer service occasions, raise the alert
    (the community's base lines on :class:`TimeBankPolicy`, a member type's on :class:`MemberAlertRule`)."""

    yellow_below = models.DecimalField(
        _("黄色预警：季度时长低于"), default=Decimal("4"), max_digits=14, decimal_places=2
    )
    orange_below = models.DecimalField(
        _("橙色预警：季度时长低于"), default=Decimal("2"), max_digits=14, decimal_places=2
    )
    red_below = models.DecimalField(
        _("红色预警：季度时长低于"), default=Decimal("0.5"), max_digits=14, decimal_places=2
    )
    min_activities = models.PositiveSmallIntegerField(_("每季度最少服务次数"), default=1)

    class Meta:
        abstract = True


class TimeBankPolicy(AlertLines):
    """A community's rules for the red bank: caps per person."""

    community = models.OneToOneField(
        "regions.Region", on_delete=models.CASCADE, related_name="time_bank_policy", verbose_name=_("社区")
    )
    daily_cap = models.DecimalField(
        _("每日上限(小时)"), default=Decimal("2"), max_digits=14, decimal_places=2
    )
    lifetime_cap = models.DecimalField(
        _("累计上限(小时)"), null=True, blank=True, max_digits=14, decimal_places=2
    )

    class Meta:
        verbose_name = _("红色银行规则")
        verbose_name_plural = _("红色银行规则")

    def __str__(self) -> str:
        return str(self.community)


class MemberAlertRule(AlertLines):
    """A community's participation alert for one member type (鑫港's "5+X+1": resident, mobile and elderly-frail
    members on their own scales). Without a row: resident and dual-registered members use the community's
    :class:`TimeBankPolicy` thresholds, mobile members a lower scale, elderly-frail members are visited, not
    warned (tongxin.volunteers.alerts.DEFAULT_RULES)."""

    community = models.ForeignKey(
        "regions.Region", on_delete=models.CASCADE, related_name="member_alert_rules", verbose_name=_("社区")
    )
    member_type = models.CharField(_("党员类型"), max_length=20, choices=MemberType.choices)
    mode = models.CharField(_("方式"), max_length=10, choices=AlertMode.choices, default=AlertMode.WARN)

    class Meta:
        verbose_name = _("党员预警规则")
        verbose_name_plural = _("党员预警规则")
        constraints = [
            models.UniqueConstraint(fields=["community", "member_type"], name="member_alert_rule_unique"),
            models.CheckConstraint(
                condition=models.Q(red_below__lte=models.F("orange_below"))
                & models.Q(orange_below__lte=models.F("yellow_below")),
                name="member_alert_rule_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community} · {self.get_member_type_display()}"


class CaseHourRule(models.Model):
    """Hours credited to the member who handled a resolved case, per case category (by code)."""

    community = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    category_code = models.CharField(_("诉求类别代码"), max_length=40, help_text=_("留空表示其他类别"))
    hours = models.DecimalField(_("计时(小时)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("接单计时规则")
        verbose_name_plural = _("接单计时规则")
        constraints = [
            models.UniqueConstraint(fields=["community", "category_code"], name="case_hour_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category_code or '*'}: {self.hours}"


# ------------------------------------------------------------------------------------ posts and rosters
class PostAssignment(models.Model):
    """A member holding a service post (定岗定责)."""

    post = models.ForeignKey("party.ServicePost", on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey("party.PartyMember", on_delete=models.CASCADE, related_name="post_assignments")
    started_on = models.DateField(_("上岗日期"), default=timezone.localdate)
    ended_on = models.DateField(_("离岗日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("岗位分配")
        verbose_name_plural = _("岗位分配")
        ordering = ["post_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "member"],
                condition=models.Q(ended_on__isnull=True),
                name="post_assignment_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.post}"


class DutyShift(models.Model):
    """A member on duty at a post for a time window, optionally for one grid."""

    post = models.ForeignKey("party.ServicePost", on_delete=models.CASCADE, related_name="shifts")
    member = models.ForeignKey("party.PartyMember", on_delete=models.CASCADE, related_name="shifts")
    grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("网格"),
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))

    class Meta:
        verbose_name = _("值班")
        verbose_name_plural = _("值班")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="shift_window")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post} {self.member} {self.starts_at:%m-%d %H:%M}"


class PostCategory(models.Model):
    """Which case categories (by code) a post answers: its members on duty are offered those cases."""

    post = models.ForeignKey("party.ServicePost", on_delete=models.CASCADE, related_name="+")
    category_code = models.CharField(_("诉求类别代码"), max_length=40)

    class Meta:
        verbose_name = _("岗位对应诉求类别")
        verbose_name_plural = _("岗位对应诉求类别")
        constraints = [models.UniqueConstraint(fields=["post", "category_code"], name="post_category_unique")]

    def __str__(self) -> str:
        return f"{self.post}: {self.category_code}"


# ---------------------------------------------------------------------------------------- activities
def new_code() -> str:
    # 6 digits, easy to type on a phone; uniqueness is enforced among open activities by the service.
    return f"{secrets.randbelow(10**6):06d}"


class Activity(models.Model):
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="activities", verbose_name=_("社区")
    )
    organiser_unit = models.ForeignKey(
        "party.CoBuildingUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="activities",
        verbose_name=_("主办共建单位"),
    )
    kind = models.CharField(
        _("类型"), max_length=12, choices=ActivityKind.choices, default=ActivityKind.VOLUNTEER
    )
    title = models.CharField(_("活动名称"), max_length=100)
    description = models.TextField(_("内容"), blank=True)
    place = models.CharField(_("地点"), max_length=100)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("名额"))
    eligibility = models.CharField(
        _("报名范围"), max_length=8, choices=Eligibility.choices, default=Eligibility.ANYONE
    )
    eligible_unit = models.ForeignKey(
        "party.CoBuildingUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("指定单位"),
    )
    hours = models.DecimalField(_("计时(小时)"), default=Decimal("2"), max_digits=14, decimal_places=2)
    points = models.DecimalField(_("奖励积分"), default=Decimal("0"), max_digits=14, decimal_places=2)
    code = models.CharField(_("签到码"), max_length=6, default=new_code, db_index=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.OPEN, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="activity_ends_after"
            )
        ]

    def __str__(self) -> str:
        return self.title


class SignUp(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    resident = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="activity_signups")
    status = models.CharField(_("状态"), max_length=10, choices=SignUpStatus.choices, db_index=True)
    signed_up_at = models.DateTimeField(_("报名时间"), default=timezone.now)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("签退时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核验时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hours_credited = models.DecimalField(_("入账时长"), default=Decimal("0"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["signed_up_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "resident"],
                condition=models.Q(status__in=["confirmed", "waitlisted", "attended", "absent"]),
                name="signup_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident} → {self.activity}"


class ActivityEvent(EventBase):
    """Append-only timeline of an activity: created, signed up, promoted, checked in, verified ...

    An activity with events is never deleted (the events refuse it); it is cancelled instead.
    """

    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("活动事件")
        verbose_name_plural = _("活动事件")

    def __str__(self) -> str:
        return f"{self.activity_id} {self.type}"


# ------------------------------------------------------------------------------- services for hours
class ServiceOffer(models.Model):
    """A service a member offers to others for hours (spending the red bank: 时间换服务)."""

    provider = models.ForeignKey("people.Resident", on_delete=models.PROTECT, related_name="service_offers")
    community = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("服务内容"), max_length=100)
    hours = models.DecimalField(_("所需时长"), max_digits=14, decimal_places=2)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title
