"""Self-governance: matters (议题) and their four stages, bodies (业委会, 理事会, 议事会) and their members, meetings
(四方联席会议, 七点半议事厅) with agenda, attendance, minutes and decisions, the owners' roll (专有部分 with their
registered areas), votes with their electors and ballots, and estate charters (小区自治公约) with versions.

A matter carries the location ids of the place it concerns (an estate, a building or an entrance), so the
residents it affects and the staff who manage it are one indexed filter away. Votes keep a snapshot of their
electorate (:class:`Elector`) taken when they open: later changes to the roll do not change a running vote.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.assembly.choices import (
    BodyKind,
    Channel,
    CharterState,
    Choice,
    Electorate,
    MatterEventType,
    MeetingKind,
    MeetingState,
    MemberRole,
    OwnersItem,
    PaperState,
    Party,
    Source,
    Stage,
    VoteState,
)
from tongxin.core.events import EventBase

USER = settings.AUTH_USER_MODEL


def _region(verbose: Any, *, null: bool = False) -> Any:
    return models.ForeignKey(
        "regions.Region",
        null=null,
        blank=null,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=verbose,
    )


class Body(models.Model):
    """A self-governing body: an owners' committee (业委会) of an estate, a residents' council, a 理事会."""

    kind = models.CharField(_("类型"), max_length=20, choices=BodyKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    community = _region(_("社区"))
    estate = _region(_("小区"), null=True)
    remit = models.TextField(_("职责"), blank=True)
    term_start = models.DateField(_("任期开始"), null=True, blank=True)
    term_end = models.DateField(_("任期结束"), null=True, blank=True)
    registered_on = models.DateField(_("备案日期"), null=True, blank=True)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("自治组织")
        verbose_name_plural = _("自治组织")
        ordering = ["community_id", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="owners_committee") | models.Q(estate__isnull=False),
                name="body_owners_committee_has_estate",
            )
        ]

    def __str__(self) -> str:
        return self.name


class BodyMember(models.Model):
    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="members")
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="body_memberships", verbose_name=_("居民")
    )
    role = models.CharField(_("职务"), max_length=12, choices=MemberRole.choices, default=MemberRole.MEMBER)
    since = models.DateField(_("任职日期"), default=timezone.localdate)
    ended_on = models.DateField(_("离任日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("组织成员")
        verbose_name_plural = _("组织成员")
        ordering = ["body_id", "role", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "resident"],
                condition=models.Q(ended_on__isnull=True),
                name="body_member_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.body_id}:{self.resident_id}"


class Matter(models.Model):
    """A thing residents decide together, from 议事 (opinions, supports) through 协调 (the joint meeting's five
    steps) and 表决 to 实施 (responsible unit, milestones, cost, result)."""

    title = models.CharField(_("议题"), max_length=120)
    description = models.TextField(_("情况说明"))
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    stage = models.CharField(
        _("阶段"), max_length=16, choices=Stage.choices, default=Stage.DELIBERATION, db_index=True
    )
    place = _region(_("涉及范围"))
    subdistrict = _region(_("街道"))
    community = _region(_("社区"))
    estate = _region(_("小区"), null=True)
    building = _region(_("楼栋"), null=True)
    entrance = _region(_("单元"), null=True)
    owners_matter = models.BooleanField(
        _("业主共同决定事项"), default=False, help_text=_("由业主按民法典第二百七十八条表决")
    )
    body = models.ForeignKey(
        Body,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="matters",
        verbose_name=_("提出组织"),
    )
    raised_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    deadline = models.DateField(_("征集意见截止"), null=True, blank=True)
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="+", verbose_name=_("关联诉求"))
    # 协调: the five steps (五步工作法) decided by a joint meeting
    plan_where = models.CharField(_("在哪议"), max_length=200, blank=True)
    plan_what = models.TextField(_("议什么"), blank=True)
    plan_who = models.CharField(_("谁来议"), max_length=300, blank=True)
    plan_how = models.TextField(_("怎么议"), blank=True)
    plan_carry_out = models.TextField(_("如何实施"), blank=True)
    # 实施
    responsible = models.CharField(_("责任单位"), max_length=100, blank=True)
    cost = models.DecimalField(_("费用(元)"), max_digits=12, decimal_places=2, null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("进度(%)"), default=0)
    result = models.TextField(_("实施结果"), blank=True)
    supports = models.PositiveIntegerField(_("附议数"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["community", "stage"], name="matter_community_stage"),
            models.Index(fields=["estate", "stage"], name="matter_estate_stage"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="matter_progress_percent")
        ]

    def __str__(self) -> str:
        return self.title


class Support(models.Model):
    """A resident's support (附议) of a matter in 议事, once per person."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="support_rows")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("附议")
        verbose_name_plural = _("附议")
        constraints = [models.UniqueConstraint(fields=["matter", "user"], name="support_once")]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Comment(models.Model):
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    body = models.TextField(_("意见"))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("意见")
        verbose_name_plural = _("意见")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Milestone(models.Model):
    """A step of the implementation (Decidim's accountability: a result with its progress)."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("进展"), max_length=200)
    progress = models.PositiveSmallIntegerField(_("进度(%)"))
    photo = models.ImageField(_("照片"), upload_to="assembly/%Y/%m/", blank=True)
    cost = models.DecimalField(_("本期费用(元)"), max_digits=12, decimal_places=2, null=True, blank=True)
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("实施进展")
        verbose_name_plural = _("实施进展")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class MatterEvent(EventBase):
    """The matter's timeline (append-only): raised, supported, each stage, the vote, milestones, publications."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("议题事件")
        verbose_name_plural = _("议题事件")

    def __str__(self) -> str:
        return f"{self.matter_id} {self.type}"

    @property
    def type_label(self) -> str:
        return str(dict(MatterEventType.choices).get(self.type, self.type))


class Meeting(models.Model):
    kind = models.CharField(_("会议类型"), max_length=12, choices=MeetingKind.choices)
    title = models.CharField(_("会议名称"), max_length=120)
    community = _region(_("社区"))
    estate = _region(_("小区"), null=True)
    body = models.ForeignKey(
        Body,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meetings",
        verbose_name=_("召集组织"),
    )
    starts_at = models.DateTimeField(_("时间"))
    location = models.CharField(_("地点"), max_length=100)
    agenda = models.ManyToManyField(Matter, blank=True, related_name="meetings", verbose_name=_("议程"))
    state = models.CharField(
        _("状态"), max_length=10, choices=MeetingState.choices, default=MeetingState.PLANNED
    )
    minutes = models.TextField(_("会议纪要"), blank=True)
    checkin_code = models.CharField(max_length=16, unique=True, editable=False)
    convened_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        ordering = ["-starts_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """One person at a meeting: signed in with the meeting's QR code (a resident's phone) or recorded by staff."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("姓名"), max_length=50)
    party = models.CharField(_("代表方"), max_length=20, choices=Party.choices, default=Party.RESIDENT)
    by_qr = models.BooleanField(_("扫码签到"), default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"], condition=models.Q(user__isnull=False), name="attendance_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Decision(models.Model):
    """What a meeting decided, linked back to the matter it concerns."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    matter = models.ForeignKey(
        Matter,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
        verbose_name=_("议题"),
    )
    text = models.TextField(_("决定"))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("会议决定")
        verbose_name_plural = _("会议决定")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Ownership(models.Model):
    """The owners' roll (业主名册): who owns an exclusive part (专有部分) and its registered area.

    Headcount follows 最高人民法院建筑物区分所有权解释 (2020) 第九条: one part one owner, but one buyer's several
    parts count as one, and the developer's unsold or undelivered parts count as one together (``developer``)."""

    dwelling = models.ForeignKey(
        "regions.Dwelling", on_delete=models.PROTECT, related_name="ownerships", verbose_name=_("专有部分")
    )
    estate = _region(_("小区"))
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ownerships",
        verbose_name=_("业主"),
    )
    owner_name = models.CharField(_("业主姓名"), max_length=100)
    developer = models.BooleanField(_("开发商未售出或未交付"), default=False)
    area = models.DecimalField(_("登记面积(㎡)"), max_digits=8, decimal_places=2)
    ended_on = models.DateField(_("转让日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("业主登记")
        verbose_name_plural = _("业主登记")
        ordering = ["estate_id", "dwelling_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dwelling"], condition=models.Q(ended_on__isnull=True), name="ownership_one_current"
            ),
            models.CheckConstraint(condition=models.Q(area__gt=0), name="ownership_area_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_name} {self.dwelling_id}"

    @property
    def owner_key(self) -> str:
        if self.developer:
            return "developer"
        if self.resident_id:
            return f"r{self.resident_id}"
        return f"n{self.owner_name}"


class Vote(models.Model):
    """A vote of one electorate on one matter: the owners under 民法典 第二百七十八条, a building's households, or
    the residents' representatives. The result is written when it closes (and recomputed from the ballots)."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="votes", verbose_name=_("议题"))
    title = models.CharField(_("表决事项"), max_length=200)
    electorate = models.CharField(_("表决主体"), max_length=16, choices=Electorate.choices)
    owners_item = models.CharField(
        _("业主共同决定事项"), max_length=2, choices=OwnersItem.choices, blank=True
    )
    body = models.ForeignKey(
        Body,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="votes",
        verbose_name=_("代表所属组织"),
    )
    place = _region(_("范围"))
    community = _region(_("社区"))
    state = models.CharField(_("状态"), max_length=8, choices=VoteState.choices, default=VoteState.DRAFT)
    opens_at = models.DateTimeField(_("开始"), null=True, blank=True)
    closes_at = models.DateTimeField(_("截止"))
    passed = models.BooleanField(_("通过"), null=True, blank=True)
    result = models.JSONField(_("计票结果"), default=dict, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("表决")
        verbose_name_plural = _("表决")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(electorate="owners") | ~models.Q(owners_item=""),
                name="vote_owners_has_item",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Elector(models.Model):
    """One vote-carrying unit of a vote's electorate, snapshotted when the vote opens: an exclusive part with its
    owner (owners' votes), a household (households' votes) or a representative. ``person`` groups the units of one
    person for the headcount; ``area`` is zero when area does not count."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="electors")
    dwelling = models.ForeignKey(
        "regions.Dwelling", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resident = models.ForeignKey(
        "people.Resident", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person = models.CharField(max_length=40)
    label = models.CharField(_("表决单位"), max_length=150)
    name = models.CharField(_("姓名"), max_length=100)
    area = models.DecimalField(_("面积(㎡)"), max_digits=8, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = _("表决人")
        verbose_name_plural = _("表决人")
        ordering = ["vote_id", "pk"]
        indexes = [
            models.Index(fields=["vote", "resident"], name="elector_vote_resident"),
            models.Index(fields=["vote", "dwelling"], name="elector_vote_dwelling"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Ballot(models.Model):
    """The counted ballot of one elector: online by the owner (changeable until the deadline) or on paper
    (counted once two staff members entered the same choice). One per elector, whatever the channel."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    elector = models.OneToOneField(Elector, on_delete=models.CASCADE, related_name="ballot")
    choice = models.CharField(_("意见"), max_length=8, choices=Choice.choices)
    channel = models.CharField(_("方式"), max_length=8, choices=Channel.choices)
    cast_by = models.ForeignKey(USER, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    changes = models.PositiveSmallIntegerField(_("修改次数"), default=0)

    class Meta:
        verbose_name = _("选票")
        verbose_name_plural = _("选票")
        ordering = ["vote_id", "elector_id"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class PaperEntry(models.Model):
    """One staff member's entry of one paper ballot. Two entries by two people make a counted ballot when they
    agree; a disagreement, or a paper ballot for an elector who voted online, is kept and flagged for review."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="paper_entries")
    elector = models.ForeignKey(Elector, on_delete=models.CASCADE, related_name="paper_entries")
    choice = models.CharField(_("意见"), max_length=8, choices=Choice.choices)
    entered_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("状态"), max_length=12, choices=PaperState.choices, default=PaperState.PENDING)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("纸质选票录入")
        verbose_name_plural = _("纸质选票录入")
        ordering = ["vote_id", "elector_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["elector", "entered_by"], name="paper_entry_once_per_clerk")
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class VoteEvent(EventBase):
    """The vote's audit trail (append-only): opened, every ballot cast or changed, paper entries, closed."""

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="events")

    class Meta(EventBase.Meta):
        verbose_name = _("表决事件")
        verbose_name_plural = _("表决事件")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.pk}"


class Charter(models.Model):
    """One version of an estate charter (小区自治公约); adopted by the vote on its matter."""

    estate = _region(_("小区"))
    community = _region(_("社区"))
    version = models.PositiveSmallIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=120)
    text = models.TextField(_("条文"))
    state = models.CharField(
        _("状态"), max_length=12, choices=CharterState.choices, default=CharterState.DRAFT
    )
    vote = models.ForeignKey(
        Vote, null=True, blank=True, on_delete=models.PROTECT, related_name="charters", verbose_name=_("表决")
    )
    adopted_on = models.DateField(_("通过日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("小区自治公约")
        verbose_name_plural = _("小区自治公约")
        ordering = ["estate_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["estate", "version"], name="charter_version_once")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"
