"""Kinds and states of leaders on places, notices, relays (one level passing a notice on) and receipts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LeaderRole(models.TextChoices):
    BUILDING_LEADER = "building_leader", _("楼栋长")
    ENTRANCE_LEADER = "entrance_leader", _("单元长")
    FLOOR_STEWARD = "floor_steward", _("层管员")
    PARTY_HOUSEHOLD_LEADER = "party_household_leader", _("党员中心户")


# Which region kind each leader role sits on (a floor steward: an entrance plus a floor).
ROLE_PLACE_KIND: dict[str, str] = {
    LeaderRole.BUILDING_LEADER: "building",
    LeaderRole.ENTRANCE_LEADER: "entrance",
    LeaderRole.FLOOR_STEWARD: "entrance",
    LeaderRole.PARTY_HOUSEHOLD_LEADER: "entrance",
}


class Action(models.TextChoices):
    """What a notice asks of the household."""

    READ = "read", _("阅读")
    CONFIRM = "confirm", _("确认知晓")
    REPLY = "reply", _("填写回执")
    SIGN_UP = "sign_up", _("报名")


class Audience(models.TextChoices):
    HOUSEHOLDS = "households", _("全部家庭")
    PARTY_MEMBERS = "party_members", _("党员")
    TAGGED = "tagged", _("指定标签的居民")


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SENT = "sent", _("已发送")
    CLOSED = "closed", _("已结束")


NOTICE_TRANSITIONS: dict[str, frozenset[str]] = {
    NoticeState.DRAFT: frozenset({NoticeState.SENT}),
    NoticeState.SENT: frozenset({NoticeState.CLOSED}),
    NoticeState.CLOSED: frozenset(),
}


class Level(models.TextChoices):
    """The six levels (街道—社区—小区—楼院—单元—家庭); relays exist for the four between origin and household."""

    SUBDISTRICT = "subdistrict", _("街道")
    COMMUNITY = "community", _("社区")
    ESTATE = "estate", _("小区")
    BUILDING = "building", _("楼栋")
    ENTRANCE = "entrance", _("单元")
    HOUSEHOLD = "household", _("家庭")


LEVEL_ORDER = [lv.value for lv in Level]
RELAY_LEVELS = (Level.COMMUNITY, Level.ESTATE, Level.BUILDING, Level.ENTRANCE)


class RelayState(models.TextChoices):
    PENDING = "pending", _("待转达")
    PASSED_ON = "passed_on", _("已转达")


RELAY_TRANSITIONS: dict[str, frozenset[str]] = {
    RelayState.PENDING: frozenset({RelayState.PASSED_ON}),
    RelayState.PASSED_ON: frozenset(),
}


class ReceiptStatus(models.TextChoices):
    PENDING = "pending", _("未读")
    READ = "read", _("已读")
    CONFIRMED = "confirmed", _("已确认")
    REPLIED = "replied", _("已回复")


# A receipt only moves forward: a household that replied has also read. The rank is stored next to the status
# so "move forward only" is one conditional UPDATE (no row lock, no read first).
RECEIPT_RANK: dict[str, int] = {
    ReceiptStatus.PENDING: 0,
    ReceiptStatus.READ: 1,
    ReceiptStatus.CONFIRMED: 2,
    ReceiptStatus.REPLIED: 3,
}
REACHED_STATES = frozenset({ReceiptStatus.READ, ReceiptStatus.CONFIRMED, ReceiptStatus.REPLIED})


class ReceiptChannel(models.TextChoices):
    APP = "app", _("手机端")
    DOOR = "door", _("入户告知")
    PHONE = "phone", _("电话告知")
    GROUP = "group", _("微信群")


# Channels a leader records on a household's behalf.
PROXY_CHANNELS = frozenset({ReceiptChannel.DOOR, ReceiptChannel.PHONE, ReceiptChannel.GROUP})


class EventType(models.TextChoices):
    CREATED = "created", _("起草")
    SENT = "sent", _("发送")
    PASSED_ON = "passed_on", _("逐级转达")
    REMINDED = "reminded", _("催办")
    ESCALATED = "escalated", _("上报上级")
    PROXY_RECEIPT = "proxy_receipt", _("代录回执")
    EXPORTED = "exported", _("导出回执")
    CLOSED = "closed", _("结束")
