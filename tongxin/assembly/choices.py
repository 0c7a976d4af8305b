"""Stages, kinds and states of self-governance: matters (议题) from 议事 to 实施, bodies, meetings and votes.

One transition table per state machine; a transition not in the table is refused by the services.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    DELIBERATION = "deliberation", _("议事")
    COORDINATION = "coordination", _("协调")
    VOTING = "voting", _("表决")
    IMPLEMENTATION = "implementation", _("实施")
    DONE = "done", _("已办结")
    REJECTED = "rejected", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STAGES = frozenset({Stage.DELIBERATION, Stage.COORDINATION, Stage.VOTING, Stage.IMPLEMENTATION})
TERMINAL_STAGES = frozenset({Stage.DONE, Stage.REJECTED, Stage.WITHDRAWN})
# 议事 → 协调 → 表决 → 实施; a matter the joint meeting can settle without a vote goes from 协调 to 实施; a vote
# that fails ends the matter (未通过) unless the meeting takes it up again (back to 协调).
STAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.DELIBERATION: frozenset({Stage.COORDINATION, Stage.WITHDRAWN}),
    Stage.COORDINATION: frozenset({Stage.VOTING, Stage.IMPLEMENTATION, Stage.WITHDRAWN}),
    Stage.VOTING: frozenset({Stage.IMPLEMENTATION, Stage.REJECTED, Stage.COORDINATION}),
    Stage.IMPLEMENTATION: frozenset({Stage.DONE}),
    Stage.DONE: frozenset(),
    Stage.REJECTED: frozenset({Stage.COORDINATION}),
    Stage.WITHDRAWN: frozenset(),
}
STAGE_ORDER = [Stage.DELIBERATION, Stage.COORDINATION, Stage.VOTING, Stage.IMPLEMENTATION, Stage.DONE]


class Source(models.TextChoices):
    RESIDENT = "resident", _("居民提出")
    GRID_WORKER = "grid_worker", _("网格员提出")
    COMMITTEE = "committee", _("业委会提出")
    COUNCIL = "council", _("理事会/议事会提出")
    CASES = "cases", _("多发诉求")
    STAFF = "staff", _("社区提出")


class MatterEventType(models.TextChoices):
    RAISED = "raised", _("提出议题")
    SUPPORTED = "supported", _("附议")
    COMMENTED = "commented", _("发表意见")
    STAGE = "stage", _("进入下一阶段")
    PLAN = "plan", _("协调方案")
    VOTE_OPENED = "vote_opened", _("发起表决")
    VOTE_CLOSED = "vote_closed", _("表决结束")
    MILESTONE = "milestone", _("实施进展")
    PUBLISHED = "published", _("结果公示")
    CASES_LINKED = "cases_linked", _("关联诉求")


class BodyKind(models.TextChoices):
    OWNERS_COMMITTEE = "owners_committee", _("业主委员会")
    RESIDENTS_COUNCIL = "residents_council", _("居民议事会")
    COUNCIL = "council", _("理事会")
    SUPERVISION = "supervision", _("居民监督委员会")


class MemberRole(models.TextChoices):
    CHAIR = "chair", _("主任")
    VICE_CHAIR = "vice_chair", _("副主任")
    MEMBER = "member", _("委员")


class MeetingKind(models.TextChoices):
    FOUR_PARTY = "four_party", _("四方联席会议")
    EVENING = "evening", _("七点半议事厅")
    COUNCIL = "council", _("居民议事会议")
    COMMITTEE = "committee", _("业委会会议")


class MeetingState(models.TextChoices):
    PLANNED = "planned", _("筹备中")
    HELD = "held", _("已召开")
    CANCELLED = "cancelled", _("已取消")


MEETING_TRANSITIONS: dict[str, frozenset[str]] = {
    MeetingState.PLANNED: frozenset({MeetingState.HELD, MeetingState.CANCELLED}),
    MeetingState.HELD: frozenset(),
    MeetingState.CANCELLED: frozenset(),
}


class Party(models.TextChoices):
    """The four parties of a 四方联席会议, and residents (七点半议事厅 and councils)."""

    PARTY_ORG = "party_org", _("社区党组织")
    RESIDENTS_COMMITTEE = "residents_committee", _("居委会")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    PROPERTY = "property", _("物业公司")
    RESIDENT = "resident", _("居民")


class Electorate(models.TextChoices):
    OWNERS = "owners", _("业主（民法典第二百七十八条）")
    HOUSEHOLDS = "households", _("本楼（本小区）住户，每户一票")
    REPRESENTATIVES = "representatives", _("居民代表（议事会成员）")


class OwnersItem(models.TextChoices):
    """The matters owners decide jointly, 民法典 第二百七十八条 第一款 (一)–(九)."""

    RULES = "1", _("（一）制定和修改业主大会议事规则")
    CHARTER = "2", _("（二）制定和修改管理规约")
    COMMITTEE = "3", _("（三）选举业主委员会或者更换业主委员会成员")
    PROPERTY_MANAGER = "4", _("（四）选聘和解聘物业服务企业或者其他管理人")
    USE_FUND = "5", _("（五）使用建筑物及其附属设施的维修资金")
    RAISE_FUND = "6", _("（六）筹集建筑物及其附属设施的维修资金")
    REBUILD = "7", _("（七）改建、重建建筑物及其附属设施")
    COMMON_PARTS = "8", _("（八）改变共有部分的用途或者利用共有部分从事经营活动")
    OTHER = "9", _("（九）有关共有和共同管理权利的其他重大事项")


# 第二百七十八条 第二款: items (六)–(八) need 3/4 of the participating area and of the participating owners.
SUPERMAJORITY_ITEMS = frozenset({OwnersItem.RAISE_FUND, OwnersItem.REBUILD, OwnersItem.COMMON_PARTS})


class VoteState(models.TextChoices):
    DRAFT = "draft", _("准备中")
    OPEN = "open", _("表决中")
    CLOSED = "closed", _("已结束")


VOTE_TRANSITIONS: dict[str, frozenset[str]] = {
    VoteState.DRAFT: frozenset({VoteState.OPEN}),
    VoteState.OPEN: frozenset({VoteState.CLOSED}),
    VoteState.CLOSED: frozenset(),
}


class Choice(models.TextChoices):
    AGREE = "agree", _("同意")
    AGAINST = "against", _("反对")
    ABSTAIN = "abstain", _("弃权")


class Channel(models.TextChoices):
    ONLINE = "online", _("线上")
    PAPER = "paper", _("纸质")


class PaperState(models.TextChoices):
    """A paper ballot is entered twice by two staff members; the second entry matches or is flagged."""

    PENDING = "pending", _("待第二人录入")
    MATCHED = "matched", _("两次录入一致，已计票")
    DISCREPANCY = "discrepancy", _("两次录入不一致，待复核")
    CONFLICT = "conflict", _("该业主已线上投票，待复核")


class CharterState(models.TextChoices):
    DRAFT = "draft", _("草案")
    ADOPTED = "adopted", _("已通过")
    SUPERSEDED = "superseded", _("已被新版本取代")
