"""Kinds and states of visit plans, visits (入户走访) and health services (义诊, 送医上门, 筛查)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanKind(models.TextChoices):
    HOUSEHOLDS = "households", _("全部家庭（千户访）")
    TAGGED = "tagged", _("关爱对象（按标签）")


class VisitState(models.TextChoices):
    DUE = "due", _("待走访")
    OVERDUE = "overdue", _("已逾期")
    DONE = "done", _("已走访")
    CANCELLED = "cancelled", _("已取消")


OPEN_VISIT_STATES = frozenset({VisitState.DUE, VisitState.OVERDUE})
VISIT_TRANSITIONS: dict[str, frozenset[str]] = {
    VisitState.DUE: frozenset({VisitState.DONE, VisitState.OVERDUE, VisitState.CANCELLED}),
    VisitState.OVERDUE: frozenset({VisitState.DONE, VisitState.CANCELLED}),
    VisitState.DONE: frozenset(),
    VisitState.CANCELLED: frozenset(),
}


class VisitSource(models.TextChoices):
    PLAN = "plan", _("走访计划")
    CARE_NEED = "care_need", _("关爱需求")
    MANUAL = "manual", _("临时安排")


class FollowUp(models.TextChoices):
    NONE = "none", _("无需跟进")
    CASE = "case", _("转为诉求")
    CARE_NEED = "care_need", _("再次上门关爱")
    MEDIATION = "mediation", _("需要调解")


class VisitEventType(models.TextChoices):
    SCHEDULED = "scheduled", _("生成")
    OVERDUE = "overdue", _("逾期")
    DONE = "done", _("走访")
    CANCELLED = "cancelled", _("取消")
    CASE_OPENED = "case_opened", _("转为诉求")


class HealthKind(models.TextChoices):
    FREE_CLINIC = "free_clinic", _("义诊")
    HOME_DOCTOR = "home_doctor", _("送医上门")
    SCREENING = "screening", _("健康筛查")


class HealthState(models.TextChoices):
    OPEN = "open", _("报名中")
    CLOSED = "closed", _("已结束")


class SignUpState(models.TextChoices):
    SIGNED_UP = "signed_up", _("已报名")
    CANCELLED = "cancelled", _("已取消")
    SERVED = "served", _("已服务")


SIGNUP_TRANSITIONS: dict[str, frozenset[str]] = {
    SignUpState.SIGNED_UP: frozenset({SignUpState.CANCELLED, SignUpState.SERVED}),
    SignUpState.CANCELLED: frozenset(),
    SignUpState.SERVED: frozenset(),
}
