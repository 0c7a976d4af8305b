"""Leaders on places (楼栋长, 单元长, 层管员, 党员中心户, 双楼长) and notices that cascade down the six levels.

A :class:`Notice` is written once and targeted at a region subtree (optionally one grid) × an audience (every
household, party members, residents with some tags). Sending it *fans out*: one :class:`Receipt` per targeted
household and one :class:`Relay` per community, estate, building and entrance on the way down, both written with
``INSERT … SELECT`` (see :mod:`tongxin.notices.fanout`). A relay is one level passing the notice on (the 单元长
confirms for an entrance); a receipt is the household's answer (read / confirmed / replied), by the household
itself on its phone or recorded by a leader on its behalf (door to door, by phone).

Receipts and relays carry copies of the location ids of their place (like dwellings and cases do) so coverage is
one ``GROUP BY`` on one table and scoping is one equality. Those copies have no foreign-key constraint: they are
copied from the dwelling, which has, and a million FK checks would cost the fan-out more than the insert itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.events import EventBase
from tongxin.notices.choices import (
    Action,
    Audience,
    LeaderRole,
    Level,
    NoticeState,
    ReceiptChannel,
    ReceiptStatus,
    RelayState,
)


def _place(verbose: Any, *, null: bool = True) -> models.ForeignKey:
    """A denormalised location id: indexed by the composite indexes only, no FK constraint (see module doc)."""
    return models.ForeignKey(
        "regions.Region",
        null=null,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=verbose,
    )


class LeaderAssignment(models.Model):
    """A resident holding a leader role on a building (楼栋长) or an entrance (单元长, 党员中心户; 层管员 with a
    floor). A building may have two building leaders, a dual-registered cadre and a resident: the 双楼长 pair."""

    role = models.CharField(_("职责"), max_length=24, choices=LeaderRole.choices)
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="leader_assignments", verbose_name=_("居民")
    )
    place = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        related_name="leader_assignments",
        verbose_name=_("楼栋/单元"),
    )
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    cadre = models.BooleanField(
        _("下沉干部"), default=False, help_text=_("双报到的在职党员干部；与居民楼栋长组成“双楼长”")
    )
    subdistrict = _place(_("街道"), null=False)
    community = _place(_("社区"), null=False)
    estate = _place(_("小区"), null=False)
    building = _place(_("楼栋"), null=False)
    entrance = _place(_("单元"))
    grid = models.ForeignKey(
        "regions.Grid", on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("网格")
    )
    started_on = models.DateField(_("任职日期"), default=timezone.localdate)
    ended_on = models.DateField(_("卸任日期"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("楼栋长/单元长")
        verbose_name_plural = _("楼栋长/单元长")
        ordering = ["building_id", "entrance_id", "role", "floor", "pk"]
        indexes = [
            models.Index(fields=["building", "ended_on"], name="leader_building_idx"),
            models.Index(fields=["grid", "ended_on"], name="leader_grid_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["role", "place", "resident"],
                condition=models.Q(ended_on__isnull=True),
                name="leader_once_per_place",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="floor_steward") | models.Q(floor__isnull=False),
                name="leader_floor_steward_has_floor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.resident_id}@{self.place_id}"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class Notice(models.Model):
    """A notice (通知 / 红色速递), written once and sent down the levels to its households."""

    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"))
    action = models.CharField(_("要求"), max_length=10, choices=Action.choices, default=Action.READ)
    reply_fields = models.JSONField(
        _("回执栏目"), default=list, blank=True, help_text=_("填写回执或报名时的栏目，如“在家人数”")
    )
    origin = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("发布层级"),
        help_text=_("发布通知的街道或社区"),
    )
    target = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("发送范围")
    )
    target_grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("网格"),
    )
    audience = models.CharField(
        _("对象"), max_length=16, choices=Audience.choices, default=Audience.HOUSEHOLDS
    )
    target_tags = models.ManyToManyField("people.Tag", blank=True, related_name="+", verbose_name=_("标签"))
    deadline = models.DateTimeField(_("回执截止"), null=True, blank=True)
    state = models.CharField(
        _("状态"), max_length=10, choices=NoticeState.choices, default=NoticeState.DRAFT, db_index=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发布人")
    )
    created_at = models.DateTimeField(_("起草时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("催办时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("上报时间"), null=True, blank=True)
    households = models.PositiveIntegerField(_("户数"), default=0)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def asks_reply(self) -> bool:
        return self.action in (Action.REPLY, Action.SIGN_UP)


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("附件"), upload_to="notices/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)

    class Meta:
        verbose_name = _("通知附件")
        verbose_name_plural = _("通知附件")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Relay(models.Model):
    """One level passing a notice on: the community, an estate, a building (楼栋长) or an entrance (单元长)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="relays")
    level = models.CharField(_("层级"), max_length=12, choices=Level.choices)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    parent_region = _place(_("上级"))
    subdistrict = _place(_("街道"))
    community = _place(_("社区"))
    estate = _place(_("小区"))
    building = _place(_("楼栋"))
    entrance = _place(_("单元"))
    grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    households = models.PositiveIntegerField(_("户数"), default=0)
    state = models.CharField(_("状态"), max_length=10, choices=RelayState.choices, default=RelayState.PENDING)
    passed_on_at = models.DateTimeField(_("转达时间"), null=True, blank=True)
    passed_on_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("转达人"),
    )
    automatic = models.BooleanField(_("系统直达"), default=False, help_text=_("本级无人负责时系统直接下达"))
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("逐级转达")
        verbose_name_plural = _("逐级转达")
        constraints = [models.UniqueConstraint(fields=["notice", "region"], name="relay_once_per_region")]
        indexes = [models.Index(fields=["notice", "level", "parent_region"], name="relay_level_idx")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.level}:{self.region_id}"


class Receipt(models.Model):
    """A household's answer to a notice. ``rank`` mirrors ``status`` (choices.RECEIPT_RANK) so moving forward
    only is one conditional UPDATE."""

    # No database FK constraints on the receipt's references (the notice is deleted through Django's cascade,
    # households are never deleted): checking a million of them at commit doubled the fan-out's time.
    notice = models.ForeignKey(
        Notice, on_delete=models.CASCADE, related_name="receipts", db_index=False, db_constraint=False
    )
    household = models.ForeignKey(
        "people.Household",
        on_delete=models.PROTECT,
        related_name="notice_receipts",
        db_index=False,
        db_constraint=False,
    )
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("对象居民"),
        help_text=_("按党员或标签发送时，通知的是这位居民"),
    )
    dwelling = models.ForeignKey(
        "regions.Dwelling", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    subdistrict = _place(_("街道"), null=False)
    community = _place(_("社区"), null=False)
    estate = _place(_("小区"), null=False)
    building = _place(_("楼栋"), null=False)
    entrance = _place(_("单元"), null=False)
    grid = models.ForeignKey(
        "regions.Grid", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(
        _("回执"), max_length=10, choices=ReceiptStatus.choices, default=ReceiptStatus.PENDING
    )
    rank = models.SmallIntegerField(default=0)
    channel = models.CharField(_("方式"), max_length=8, choices=ReceiptChannel.choices, blank=True)
    at = models.DateTimeField(_("时间"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="+",
        verbose_name=_("记录人"),
    )
    reply = models.JSONField(_("回复内容"), null=True, blank=True)

    class Meta:
        verbose_name = _("回执")
        verbose_name_plural = _("回执")
        constraints = [
            # household first: it also serves "the notices of my household"
            models.UniqueConstraint(fields=["household", "notice"], name="receipt_once_per_household")
        ]
        # (notice, entrance) and no status column in any index: recording a receipt changes no indexed column, so
        # on PostgreSQL it is a HOT update (the table keeps 10 % of each page free for it: migration 0002).
        indexes = [models.Index(fields=["notice", "entrance"], name="receipt_coverage_idx")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.household_id}:{self.status}"


class NoticeEvent(EventBase):
    """The notice's timeline (append-only): drafted, sent, passed on, reminded, escalated, closed."""

    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("通知事件")
        verbose_name_plural = _("通知事件")

    def __str__(self) -> str:
        return f"{self.notice_id} {self.type}"
