"""Cases vocabulary: channels, states and the ONE table of allowed transitions, handler kinds, ratings, events.

Every state change goes through :func:`check_transition`; a transition not in :data:`TRANSITIONS` raises
:class:`TransitionError` whose message is readable by the person who clicked.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("24小时热线")
    SUGGESTION_BOX = "suggestion_box", _("群众意见箱")
    GRID_PATROL = "grid_patrol", _("网格巡查")
    FRONT_DESK = "front_desk", _("服务窗口")
    RESIDENT_APP = "resident_app", _("居民手机端")
    API = "api", _("接口")
    OPEN311 = "open311", _("Open311")


# Channels staff record a case through (the staff intake screen): 热线, 网格巡查, 服务窗口.
STAFF_CHANNELS: tuple[str, ...] = (Channel.HOTLINE, Channel.GRID_PATROL, Channel.FRONT_DESK)
# Names the API also accepts for a channel (the glossary's 窗口 is ``front_desk``).
CHANNEL_ALIASES: dict[str, str] = {"window": Channel.FRONT_DESK, "patrol": Channel.GRID_PATROL}


class CaseState(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    REJECTED = "rejected", _("不予受理")
    DISPATCHED = "dispatched", _("已派单")
    OPEN_FOR_CLAIMING = "open_for_claiming", _("待认领")
    IN_PROGRESS = "in_progress", _("办理中")
    RETURNED = "returned", _("已退单")
    WHISTLED = "whistled", _("已吹哨")
    RESOLVED = "resolved", _("已办结")
    CLOSED = "closed", _("已结案")
    REOPENED = "reopened", _("已重办")
    MERGED = "merged", _("已合并")


S = CaseState

# The one transition table: from-state -> the states a service may move a case to.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset(
        {S.ACCEPTED, S.REJECTED, S.DISPATCHED, S.OPEN_FOR_CLAIMING, S.WHISTLED, S.RESOLVED, S.MERGED}
    ),
    S.ACCEPTED: frozenset(
        {S.DISPATCHED, S.OPEN_FOR_CLAIMING, S.IN_PROGRESS, S.WHISTLED, S.RESOLVED, S.REJECTED, S.MERGED}
    ),
    S.DISPATCHED: frozenset(
        {S.DISPATCHED, S.OPEN_FOR_CLAIMING, S.IN_PROGRESS, S.RETURNED, S.WHISTLED, S.RESOLVED, S.MERGED}
    ),
    S.OPEN_FOR_CLAIMING: frozenset({S.DISPATCHED, S.IN_PROGRESS, S.WHISTLED, S.MERGED}),
    S.IN_PROGRESS: frozenset({S.DISPATCHED, S.RETURNED, S.WHISTLED, S.RESOLVED, S.MERGED}),
    S.RETURNED: frozenset({S.DISPATCHED, S.OPEN_FOR_CLAIMING, S.WHISTLED, S.REJECTED, S.RESOLVED, S.MERGED}),
    S.WHISTLED: frozenset({S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.DISPATCHED, S.OPEN_FOR_CLAIMING, S.IN_PROGRESS, S.WHISTLED, S.RESOLVED}),
    S.REJECTED: frozenset(),
    S.CLOSED: frozenset(),
    S.MERGED: frozenset(),
}

OPEN_STATES: tuple[str, ...] = (
    S.SUBMITTED,
    S.ACCEPTED,
    S.DISPATCHED,
    S.OPEN_FOR_CLAIMING,
    S.IN_PROGRESS,
    S.RETURNED,
    S.WHISTLED,
    S.REOPENED,
)
TERMINAL_STATES: tuple[str, ...] = (S.REJECTED, S.CLOSED, S.MERGED)
# Resolved waits for the reporter's confirmation: neither open (no deadline runs) nor terminal.
AWAITING_FEEDBACK_STATES: tuple[str, ...] = (S.RESOLVED,)


class CaseError(Exception):
    """A case operation that cannot be done; ``message`` is user-readable (Chinese by default)."""

    code = "case_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code


class TransitionError(CaseError):
    """The case's state does not allow the requested transition."""

    code = "invalid_transition"


def check_transition(from_state: str, to_state: str) -> None:
    """Raise :class:`TransitionError` unless ``from_state → to_state`` is in :data:`TRANSITIONS`."""
    if to_state not in TRANSITIONS.get(from_state, frozenset()):
        raise TransitionError(
            _("工单当前状态为「%(from)s」，不能变更为「%(to)s」")
            % {"from": CaseState(from_state).label, "to": CaseState(to_state).label}
        )


class HandlerKind(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    PROPERTY_COMPANY = "property_company", _("物业公司")
    DEPARTMENT = "department", _("职能部门")
    VOLUNTEERS = "volunteers", _("党员志愿者")


class Supervision(models.TextChoices):
    NORMAL = "normal", _("普通")
    YELLOW = "yellow", _("黄牌督办")
    RED = "red", _("红牌督办")


class SweepLevel(models.IntegerChoices):
    """The highest deadline level already notified for a case (so the sweep notifies once)."""

    NONE = 0, _("无")
    DUE_SOON = 1, _("即将到期")
    OVERDUE = 2, _("已超期")
    YELLOW = 3, _("黄牌督办")
    RED = 4, _("红牌督办")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class RatingSource(models.TextChoices):
    ONLINE = "online", _("在线评价")  # the reporter, signed in
    RECEIPT_CODE = "receipt_code", _("凭查询码评价")  # whoever holds the case's receipt code (not its staff)
    FOLLOW_UP_CALL = "follow_up_call", _("电话回访")  # recorded by staff who did not handle the case


class DeadlineBasis(models.TextChoices):
    CALENDAR = "calendar", _("自然日")
    WORKING_DAYS = "working_days", _("工作日")


class EventType(models.TextChoices):
    SUBMITTED = "submitted", _("提交")
    ACCEPTED = "accepted", _("受理")
    REJECTED = "rejected", _("不予受理")
    DISPATCHED = "dispatched", _("派单")
    OPENED_FOR_CLAIMING = "opened_for_claiming", _("发布认领")
    CLAIMED = "claimed", _("认领")
    STARTED = "started", _("开始办理")
    ON_SITE = "on_site", _("到达现场")
    PLAN_RECORDED = "plan_recorded", _("形成方案")
    RETURNED = "returned", _("退单")
    TRANSFERRED = "transferred", _("转单")
    WHISTLED = "whistled", _("吹哨")
    REPORTED_IN = "reported_in", _("部门报到")
    DEPARTMENT_RATED = "department_rated", _("部门评价")
    RESOLVED = "resolved", _("办结")
    RATED = "rated", _("评价")
    NOT_FIXED = "not_fixed", _("反馈未解决")
    FOLLOW_UP_CALL = "follow_up_call", _("电话回访")
    CLOSED = "closed", _("结案")
    MERGED = "merged", _("合并")
    DUE_SOON = "due_soon", _("即将到期")
    OVERDUE = "overdue", _("已超期")
    SUPERVISION_RAISED = "supervision_raised", _("升级督办")
    COMMENT = "comment", _("备注")
    RECLASSIFIED = "reclassified", _("改类")
    ON_SITE_DUE_SOON = "on_site_due_soon", _("即将超过到场时限")
    ON_SITE_OVERDUE = "on_site_overdue", _("未按时到场")
    PLAN_DUE_SOON = "plan_due_soon", _("即将超过方案时限")
    PLAN_OVERDUE = "plan_overdue", _("未按时形成方案")
    REPORT_IN_LATE = "report_in_late", _("部门超时未报到")
    DEPARTMENT_RETURNED = "department_returned", _("部门退回")


class HolidayKind(models.TextChoices):
    HOLIDAY = "holiday", _("节假日")
    WORKDAY = "workday", _("调休上班")


def _to(state: str, *, but: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset(s for s, targets in TRANSITIONS.items() if state in targets and s not in but)


HANDLING_STATES = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.WHISTLED, S.REOPENED, S.OPEN_FOR_CLAIMING})

# The states each action applies in (the policy rule of the same name says who). A button is shown when both
# allow it; the service checks both (:func:`check_action_state`, ``policy.require``). ``None``: any state.
ACTION_STATES: dict[str, frozenset[str] | None] = {
    "cases.accept": _to(S.ACCEPTED),
    "cases.reject": _to(S.REJECTED),
    "cases.dispatch": _to(S.DISPATCHED, but=(S.DISPATCHED, S.IN_PROGRESS)),  # those are 转单
    "cases.transfer": frozenset({S.DISPATCHED, S.IN_PROGRESS}),
    "cases.open_for_claiming": _to(S.OPEN_FOR_CLAIMING),
    "cases.claim": frozenset({S.OPEN_FOR_CLAIMING}),
    "cases.start": frozenset({S.DISPATCHED, S.REOPENED}),
    "cases.on_site": HANDLING_STATES,
    "cases.plan": HANDLING_STATES,
    "cases.comment": None,
    "cases.return": frozenset({S.DISPATCHED, S.IN_PROGRESS}),
    "cases.whistle": _to(S.WHISTLED) | {S.WHISTLED},
    "cases.report_in": frozenset(OPEN_STATES),
    "cases.rate_department": None,
    "cases.resolve": _to(S.RESOLVED),  # from submitted too: answered on the spot (接诉即办)
    "cases.rate": frozenset({S.RESOLVED}),
    "cases.follow_up": frozenset({S.RESOLVED, S.CLOSED}),
    "cases.close": _to(S.CLOSED),
    "cases.merge": _to(S.MERGED),
    "cases.reclassify": frozenset(OPEN_STATES),
    "cases.add_photo": None,
    "cases.reveal_phone": None,
}


def state_allows(action: str, state: str) -> bool:
    states = ACTION_STATES.get(action)
    return states is None or state in states


def check_action_state(action: str, state: str, label: str = "") -> None:
    """Raise :class:`TransitionError` unless ``action`` applies in ``state``."""
    if not state_allows(action, state):
        raise TransitionError(
            _("工单当前状态为「%(s)s」，不能%(a)s")
            % {"s": CaseState(state).label, "a": label or _("执行此操作")}
        )


# Default categories about shared spaces, with nothing personal in them: readable through Open311 (``public``).
# Repairs of a home, disputes, care and help for a person, emergencies and policy questions stay private.
PUBLIC_CATEGORIES = ("environment", "waste-sorting", "parking", "city-management", "utilities")


class HolidaySource(models.TextChoices):
    NOTICE = "notice", _("国务院通知")
    ADMIN = "admin", _("管理员维护")


class StepSweep(models.IntegerChoices):
    """Bit flags on ``Case.step_sweep``: the on-site / plan reminders already sent (each goes once)."""

    ON_SITE_WARNED = 1, _("已提醒到场")
    ON_SITE_MISSED = 2, _("到场超时已上报")
    PLAN_WARNED = 4, _("已提醒形成方案")
    PLAN_MISSED = 8, _("方案超时已上报")
