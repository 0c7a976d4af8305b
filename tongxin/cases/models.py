"""Cases (诉求/工单): a resident's request from intake to rated closure.

See docs/cases.md for the state table, the deadline rules and the rate formulas. All writes go through
:mod:`tongxin.cases.services`; these models only hold data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.cases.choices import (
    OPEN_STATES,
    CaseState,
    Channel,
    DeadlineBasis,
    EventType,
    HandlerKind,
    HolidayKind,
    HolidaySource,
    Rating,
    RatingSource,
    StepSweep,
    Supervision,
    SweepLevel,
)
from tongxin.cases.querysets import CaseEventQuerySet, CaseQuerySet

DESCRIPTION_MAX = 4000


class DeadlinePolicy(models.Model):
    """How long a case of a category may take: respond, be on site, have a plan, be resolved."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    respond_within = models.DurationField(_("响应时限"), null=True, blank=True)
    on_site_within = models.DurationField(_("到场时限"), null=True, blank=True)
    plan_within = models.DurationField(_("形成方案时限"), null=True, blank=True)
    resolve_within = models.DurationField(_("办结时限"))
    basis = models.CharField(
        _("计时方式"), max_length=16, choices=DeadlineBasis.choices, default=DeadlineBasis.CALENDAR
    )
    red_factor = models.FloatField(
        _("红牌系数"),
        default=1.0,
        help_text=_("超期时间超过办结时限的该倍数时升为红牌督办"),
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("时限规则")
        verbose_name_plural = _("时限规则")
        ordering = ["resolve_within", "code"]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A kind of request: repairs, sanitation, public order ... with its Open311 service code and policy."""

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级类别"),
    )
    name = models.CharField(_("名称"), max_length=60)
    service_code = models.SlugField(_("服务代码(Open311)"), max_length=40, unique=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    keywords = models.JSONField(_("关键词"), default=list, blank=True, help_text=_("用于按规则推荐类别"))
    handler_kind = models.CharField(
        _("默认承办方"), max_length=20, choices=HandlerKind.choices, default=HandlerKind.GRID_WORKER
    )
    default_department = models.ForeignKey(
        "regions.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("默认部门"),
    )
    default_property_company = models.ForeignKey(
        "regions.PropertyCompany",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("默认物业"),
    )
    auto_route = models.BooleanField(
        _("受理时自动派单"),
        default=False,
        help_text=_("派给默认物业/部门；未设默认物业时派给案件所在小区唯一的物业公司"),
    )
    policy = models.ForeignKey(
        DeadlinePolicy, on_delete=models.PROTECT, related_name="categories", verbose_name=_("时限规则")
    )
    handlers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="handled_categories", verbose_name=_("轮派人员")
    )
    claim_post_codes = models.JSONField(
        _("可认领的服务岗"), default=list, blank=True, help_text=_("公益服务岗代码，如 patrol")
    )
    claim_skills = models.JSONField(_("可认领的特长"), default=list, blank=True)
    attributes = models.JSONField(
        _("附加属性(Open311)"),
        default=list,
        blank=True,
        help_text=_("[{code, datatype, required, description, values}]"),
    )
    active = models.BooleanField(_("启用"), default=True)
    public = models.BooleanField(
        _("公开"),
        default=False,
        help_text=_("公开类别的诉求可由 Open311 读取（不含个人信息）；涉及个人、关爱、救助的类别不要公开"),
    )
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("诉求类别")
        verbose_name_plural = _("诉求类别")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    """A day off (节假日) or a make-up working day on a weekend (调休上班) for working-day deadlines."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(
        _("类型"), max_length=10, choices=HolidayKind.choices, default=HolidayKind.HOLIDAY
    )
    name = models.CharField(_("名称"), max_length=40, blank=True)
    source = models.CharField(
        _("来源"),
        max_length=10,
        choices=HolidaySource.choices,
        default=HolidaySource.ADMIN,
        help_text=_("国务院通知的日期由 sync_holidays 维护；管理员修改过的日期不再被覆盖"),
    )

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class CaseCounter(models.Model):
    """The last sequence number used on a day, for human-readable case numbers (2026112300001)."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day} #{self.last}"


class Case(models.Model):
    State = CaseState

    number = models.CharField(_("工单号"), max_length=20, unique=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("类别"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    title = models.CharField(_("标题"), max_length=100, blank=True)
    description = models.TextField(_("诉求内容"), max_length=DESCRIPTION_MAX)
    attributes = models.JSONField(_("附加属性"), default=dict, blank=True)

    # who
    reporter = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("反映人"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_cases",
        verbose_name=_("登记人"),
    )
    anonymous = models.BooleanField(_("匿名"), default=False)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone_enc = models.TextField(blank=True, editable=False)
    contact_phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    contact_phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    contact_phone_last4 = models.CharField(max_length=4, blank=True, editable=False)

    # where (denormalised so scope_for(user).q() filters cases directly)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    dwelling = models.ForeignKey(
        "regions.Dwelling", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    entrance = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    estate = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("小区"),
    )
    community = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("社区"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    subdistrict = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("街道"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("网格"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )

    # workflow
    state = models.CharField(_("状态"), max_length=20, choices=CaseState.choices, default=CaseState.SUBMITTED)
    state_reason = models.CharField(_("原因"), max_length=500, blank=True)
    supervision = models.CharField(
        _("督办"), max_length=8, choices=Supervision.choices, default=Supervision.NORMAL
    )
    due_soon = models.BooleanField(_("即将到期"), default=False)
    overdue = models.BooleanField(_("已超期"), default=False)
    sweep_level = models.PositiveSmallIntegerField(
        _("已提醒级别"), choices=SweepLevel.choices, default=SweepLevel.NONE
    )

    # deadlines (computed by sla.py from the category's policy)
    deadline_start = models.DateTimeField(_("计时起点"), null=True, blank=True)
    respond_by = models.DateTimeField(_("响应期限"), null=True, blank=True)
    on_site_by = models.DateTimeField(_("到场期限"), null=True, blank=True)
    plan_by = models.DateTimeField(_("方案期限"), null=True, blank=True)
    resolve_by = models.DateTimeField(_("办结期限"), null=True, blank=True)
    due_soon_at = models.DateTimeField(_("到期提醒时间"), null=True, blank=True)
    red_at = models.DateTimeField(_("红牌时间"), null=True, blank=True)
    on_site_warn_at = models.DateTimeField(_("到场提醒时间"), null=True, blank=True)
    plan_warn_at = models.DateTimeField(_("方案提醒时间"), null=True, blank=True)
    # which on-site / plan reminders the sweep has sent (bit flags of choices.StepSweep), so each goes once
    step_sweep = models.PositiveSmallIntegerField(_("步骤提醒"), default=0)

    # handler
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
        verbose_name=_("承办人"),
    )
    team_kind = models.CharField(_("承办方类型"), max_length=20, choices=HandlerKind.choices, blank=True)
    property_company = models.ForeignKey(
        "regions.PropertyCompany",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("物业公司"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    department = models.ForeignKey(
        "regions.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("承办部门"),
        db_index=False,  # led by a composite index (Meta.indexes)
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        verbose_name=_("合并至"),
    )

    # outcome and feedback
    plan = models.TextField(_("解决方案"), blank=True)
    result = models.TextField(_("办理结果"), blank=True)
    rating = models.CharField(_("评价"), max_length=20, choices=Rating.choices, blank=True)
    rating_source = models.CharField(_("评价方式"), max_length=16, choices=RatingSource.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)

    receipt_code = models.CharField(_("查询码"), max_length=12, unique=True)
    idempotency_client = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True)

    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("到场时间"), null=True, blank=True)
    plan_at = models.DateTimeField(_("方案时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("诉求工单")
        verbose_name_plural = _("诉求工单")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_client", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="case_unique_idempotency_key",
            ),
        ]
        indexes = [
            # a handler's queue ordered by deadline
            models.Index(
                fields=["assignee", "resolve_by"],
                name="case_queue_idx",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(fields=["property_company", "state", "resolve_by"], name="case_company_queue_idx"),
            models.Index(fields=["department", "state", "resolve_by"], name="case_department_queue_idx"),
            # the filtered case list
            models.Index(fields=["community", "state", "submitted_at"], name="case_community_list_idx"),
            models.Index(fields=["grid", "state", "submitted_at"], name="case_grid_list_idx"),
            models.Index(fields=["category", "submitted_at"], name="case_category_list_idx"),
            models.Index(fields=["subdistrict", "submitted_at"], name="case_subdistrict_list_idx"),
            models.Index(fields=["submitted_at"], name="case_submitted_idx"),
            models.Index(fields=["reporter", "submitted_at"], name="case_reporter_idx"),
            # the deadline sweep: each stage scans only the open cases not yet notified at its level
            models.Index(
                fields=["due_soon_at"],
                name="case_sweep_due_soon_idx",
                condition=models.Q(state__in=OPEN_STATES, sweep_level__lt=SweepLevel.DUE_SOON),
            ),
            models.Index(
                fields=["resolve_by"],
                name="case_sweep_resolve_idx",
                condition=models.Q(state__in=OPEN_STATES, sweep_level__lt=SweepLevel.YELLOW),
            ),
            models.Index(
                fields=["red_at"],
                name="case_sweep_red_idx",
                condition=models.Q(state__in=OPEN_STATES, sweep_level__lt=SweepLevel.RED),
            ),
            # the 1715 step sweep: open cases whose on-site visit or plan is still missing
            models.Index(
                fields=["on_site_by"],
                name="case_sweep_on_site_idx",
                condition=models.Q(state__in=OPEN_STATES, on_site_at__isnull=True, on_site_by__isnull=False),
            ),
            models.Index(
                fields=["plan_by"],
                name="case_sweep_plan_idx",
                condition=models.Q(state__in=OPEN_STATES, plan_at__isnull=True, plan_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def on_site_missed(self) -> bool:
        """The sweep reported the on-site deadline missed (and nobody has been on site since)."""
        return self.on_site_at is None and bool(self.step_sweep & StepSweep.ON_SITE_MISSED)

    @property
    def plan_missed(self) -> bool:
        return self.plan_at is None and bool(self.step_sweep & StepSweep.PLAN_MISSED)

    @property
    def location_label(self) -> str:
        if self.dwelling_id and self.dwelling:
            return self.dwelling.address
        return self.address


class CasePhoto(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos", verbose_name=_("工单"))
    file = models.FileField(_("照片"), upload_to="cases/%Y/%m/")
    caption = models.CharField(_("说明"), max_length=100, blank=True)
    stage = models.CharField(
        _("阶段"), max_length=10, default="intake", help_text=_("intake 提交 / result 办结")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("工单照片")
        verbose_name_plural = _("工单照片")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file.name or ""


class CaseEvent(models.Model):
    """One thing that happened to a case. Append-only: the timeline and the source of every rate.

    The ``*_ref`` columns and ``cohort_day`` snapshot the rollup dimensions at the time of the event, so a recount
    from raw events attributes every counter exactly as the live rollup did.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", verbose_name=_("工单"))
    type = models.CharField(_("事件"), max_length=24, choices=EventType.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    from_state = models.CharField(_("原状态"), max_length=20, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, blank=True)
    payload = models.JSONField(_("详情"), default=dict, blank=True)

    cohort_day = models.DateField(null=True, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    community_ref = models.PositiveIntegerField(default=0)
    grid_ref = models.PositiveIntegerField(default=0)
    category_ref = models.PositiveIntegerField(default=0)
    handler_ref = models.PositiveIntegerField(default=0)
    department_ref = models.PositiveIntegerField(default=0)

    objects = CaseEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单事件")
        verbose_name_plural = _("工单事件")
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["case", "at"], name="caseevent_case_at_idx"),
            models.Index(fields=["cohort_day", "community_ref"], name="caseevent_cohort_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.type} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionDenied("case events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("case events are append-only")


class WhistleCall(models.Model):
    """吹哨报到: a subdistrict calls a department to a case; it reports in by ``report_by`` and stays."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="whistle_calls")
    department = models.ForeignKey(
        "regions.Department", on_delete=models.PROTECT, related_name="whistle_calls", verbose_name=_("部门")
    )
    whistled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("吹哨人"),
    )
    whistled_at = models.DateTimeField(_("吹哨时间"), default=timezone.now)
    note = models.CharField(_("事由"), max_length=500, blank=True)
    report_by = models.DateTimeField(_("报到期限"))
    reported_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("报到人"),
    )
    report_note = models.CharField(_("报到说明"), max_length=500, blank=True)
    late = models.BooleanField(_("迟报到"), null=True, blank=True)
    active = models.BooleanField(_("在办"), default=True, help_text=_("部门留到工单办结"))
    released_at = models.DateTimeField(_("撤离时间"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("街道评分(1-5)"), null=True, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=300, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("吹哨报到")
        verbose_name_plural = _("吹哨报到")
        ordering = ["whistled_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="whistle_unique_department"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="whistle_rating_1_5",
            ),
        ]
        indexes = [models.Index(fields=["department", "whistled_at"], name="whistle_department_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department_id}"

    @property
    def overdue(self) -> bool:
        """Not reported in and past ``report_by`` (whether or not the sweep has marked it late yet)."""
        return self.reported_at is None and self.report_by <= timezone.now()


class HandlerRotation(models.Model):
    """Round-robin memory: when each handler last got a case of a category (persisted, survives restarts)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "user"], name="rotation_unique_handler")]

    def __str__(self) -> str:
        return f"{self.category_id}/{self.user_id}"


ROLLUP_COUNTERS = (
    "received",
    "responded",
    "responded_in_time",
    "assigned",
    "resolved",
    "resolved_in_time",
    "reopened",
    "closed",
    "rated",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "suggestion_received",
    "suggestion_rectified",
    "rated_by_call",
    "satisfied_by_call",
)


class RollupCounterFields(models.Model):
    received = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    responded_in_time = models.IntegerField(default=0)
    assigned = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    resolved_in_time = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basically_satisfied = models.IntegerField(default=0)
    dissatisfied = models.IntegerField(default=0)
    suggestion_received = models.IntegerField(default=0)
    suggestion_rectified = models.IntegerField(default=0)
    # of the ratings, those recorded by a follow-up call (电话回访), and how many of them satisfied or basically
    # satisfied: the satisfaction rate can be read with and without them (rates.rates_from)
    rated_by_call = models.IntegerField(default=0, db_default=0)
    satisfied_by_call = models.IntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class CaseRollup(RollupCounterFields):
    """Counters per cohort day (the case's submission day) × community × grid × category × handler ×
    department × channel. The services append :class:`CaseRollupDelta` rows; the periodic fold
    (:func:`tongxin.cases.rates.fold_deltas`) adds them here and to :class:`CaseRollupMonth`.

    Dimension columns are plain integers (0 = none) so the unique key works the same on SQLite and PostgreSQL.
    """

    day = models.DateField()
    community_id = models.PositiveIntegerField(default=0)
    grid_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)
    handler_id = models.PositiveIntegerField(default=0)
    department_id = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=16)

    class Meta:
        verbose_name = _("工单统计")
        verbose_name_plural = _("工单统计")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "community_id",
                    "grid_id",
                    "category_id",
                    "handler_id",
                    "department_id",
                    "channel",
                ],
                name="rollup_unique_key",
            )
        ]
        indexes = [
            models.Index(fields=["community_id", "day"], name="rollup_community_idx"),
            models.Index(fields=["grid_id", "day"], name="rollup_grid_idx"),
            models.Index(fields=["handler_id", "day"], name="rollup_handler_idx"),
            models.Index(fields=["department_id", "day"], name="rollup_department_idx"),
            models.Index(fields=["category_id", "day"], name="rollup_category_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} c{self.community_id} g{self.grid_id}"


def local_day(value: dt.datetime) -> dt.date:
    return timezone.localtime(value).date()


class CaseRollupDelta(RollupCounterFields):
    """Append-only counter deltas written by the services in the event's transaction (an INSERT, so concurrent
    intakes never wait on a shared row). Same key as :class:`CaseRollup`; folded into the rollup tables by the
    periodic task, and read together with them, so the rates are exact at every moment."""

    day = models.DateField()
    community_id = models.PositiveIntegerField(default=0)
    grid_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)
    handler_id = models.PositiveIntegerField(default=0)
    department_id = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"Δ {self.day} c{self.community_id} g{self.grid_id}"


class CaseRollupMonth(RollupCounterFields):
    """Coarse counters per cohort month (first day of the month) × community × grid × category × channel: the
    sum of all :class:`CaseRollup` rows of the month (case-level and handler-level). Region, grid, category and
    channel rates over whole months read this table (~30× fewer rows than the daily one)."""

    month = models.DateField()
    community_id = models.PositiveIntegerField(default=0)
    grid_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "community_id", "grid_id", "category_id", "channel"],
                name="rollup_month_unique_key",
            )
        ]
        indexes = [models.Index(fields=["community_id", "month"], name="rollup_month_community_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} c{self.community_id} g{self.grid_id}"


class CaseRollupDayCommunity(RollupCounterFields):
    """Coarse counters per cohort day × community × category (all grids, channels, handlers summed): region
    and category questions over partial months read ~50× fewer rows than :class:`CaseRollup`."""

    day = models.DateField()
    community_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "community_id", "category_id"], name="rollup_daycomm_unique_key"
            )
        ]
        indexes = [models.Index(fields=["community_id", "day"], name="rollup_daycomm_community_idx")]

    def __str__(self) -> str:
        return f"{self.day} c{self.community_id} k{self.category_id}"


class CaseRollupMonthCommunity(RollupCounterFields):
    """The coarsest counters: cohort month × community × category."""

    month = models.DateField()
    community_id = models.PositiveIntegerField(default=0)
    category_id = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "community_id", "category_id"], name="rollup_monthcomm_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} c{self.community_id} k{self.category_id}"
