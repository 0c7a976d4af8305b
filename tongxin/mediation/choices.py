"""Kinds, sources and states of disputes (矛盾纠纷) and their mediation."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DisputeKind(models.TextChoices):
    NEIGHBOURS = "neighbours", _("邻里纠纷")
    PROPERTY = "property", _("物业纠纷")
    FAMILY = "family", _("婚姻家庭纠纷")
    LABOUR = "labour", _("劳动纠纷")
    OTHER = "other", _("其他")


class DisputeSource(models.TextChoices):
    CASE = "case", _("诉求转入")
    PATROL = "patrol", _("网格排查")
    WALK_IN = "walk_in", _("来访")


class DisputeState(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    MEDIATING = "mediating", _("调解中")
    AGREED = "agreed", _("已达成协议")
    FAILED = "failed", _("调解不成")
    CLOSED = "closed", _("已结案")
    RETURNED = "returned", _("已退回诉求办理")


OPEN_STATES = frozenset({DisputeState.REGISTERED, DisputeState.MEDIATING, DisputeState.AGREED})
TRANSITIONS: dict[str, frozenset[str]] = {
    DisputeState.REGISTERED: frozenset({DisputeState.MEDIATING, DisputeState.RETURNED}),
    DisputeState.MEDIATING: frozenset({DisputeState.AGREED, DisputeState.FAILED, DisputeState.RETURNED}),
    # an agreement is closed after the follow-up visit finds it kept
    DisputeState.AGREED: frozenset({DisputeState.CLOSED, DisputeState.MEDIATING}),
    DisputeState.FAILED: frozenset({DisputeState.CLOSED, DisputeState.RETURNED}),
    DisputeState.CLOSED: frozenset(),
    DisputeState.RETURNED: frozenset(),
}


class MediatorKind(models.TextChoices):
    POST = "post", _("矛盾调解岗党员/志愿者")
    LEGAL_ADVISER = "legal_adviser", _("共建单位法律顾问")
    STAFF = "staff", _("社区调解员")


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("申请人")
    RESPONDENT = "respondent", _("被申请人")
    OTHER = "other", _("其他当事人")


class EventType(models.TextChoices):
    REGISTERED = "registered", _("登记")
    FROM_CASE = "from_case", _("诉求转调解")
    ASSIGNED = "assigned", _("指定调解员")
    SESSION = "session", _("调解")
    AGREED = "agreed", _("达成协议")
    FAILED = "failed", _("调解不成")
    FOLLOW_UP = "follow_up", _("回访")
    CLOSED = "closed", _("结案")
    RETURNED = "returned", _("退回诉求")
    REVEALED = "revealed", _("查看当事人电话")
