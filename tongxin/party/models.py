"""Party organisation tree, party members and their service posts, and co-building units (大党委)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.models import MaterialisedPath
from tongxin.party.choices import CoBuildingKind, MemberType, OrganisationKind
from tongxin.regions.scoping import scope_for


class Organisation(MaterialisedPath):
    """A unit of the party tree, linked to the region or grid it serves."""

    Kind = OrganisationKind

    kind = models.CharField(_("类型"), max_length=24, choices=OrganisationKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级组织"),
    )
    region = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="party_organisations",
        verbose_name=_("服务区域"),
    )
    grid = models.OneToOneField(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="party_branch",
        verbose_name=_("网格"),
    )
    secretary = models.ForeignKey(
        "party.PartyMember",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("书记/组长"),
    )

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name


class ServicePost(models.Model):
    """A public-service post (公益服务岗) members are assigned to: patrol, traffic duty, mediation ..."""

    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="service_posts", verbose_name=_("社区")
    )
    code = models.SlugField(_("代码"), max_length=30)
    name = models.CharField(_("名称"), max_length=50)
    description = models.CharField(_("职责"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("公益服务岗")
        verbose_name_plural = _("公益服务岗")
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="service_post_unique_code")]

    def __str__(self) -> str:
        return self.name


class CoBuildingUnit(models.Model):
    """An organisation that adopts a community; its leader may sit on the community committee (大党委)."""

    name = models.CharField(_("单位名称"), max_length=100, unique=True)
    kind = models.CharField(
        _("类型"), max_length=16, choices=CoBuildingKind.choices, default=CoBuildingKind.PARTNER
    )
    communities = models.ManyToManyField(
        "regions.Region", blank=True, related_name="co_building_units", verbose_name=_("共建社区")
    )
    committee_member = models.BooleanField(_("大党委成员单位"), default=False)
    liaison_name = models.CharField(_("联络人"), max_length=50, blank=True)
    liaison_phone_enc = models.TextField(blank=True, editable=False)
    liaison_phone_masked = models.CharField(_("联络电话"), max_length=20, blank=True, editable=False)

    class Meta:
        verbose_name = _("共建单位")
        verbose_name_plural = _("共建单位")

    def __str__(self) -> str:
        return self.name


class PartyMemberQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> PartyMemberQuerySet:
        """Members living in the user's scope, and members reporting in to a community the user works in
        (a 下沉 cadre living elsewhere is seen by the community he serves). No extra query: the communities are
        a condition (subdistrict, community) or a subquery (grids)."""
        from tongxin.regions.models import Grid

        scope = scope_for(user)
        if scope.everything:
            return self.all()
        serving = models.Q()
        for kind, ids in scope.regions.items():
            if kind == "community":
                serving |= models.Q(community_id__in=sorted(ids))
            elif kind == "subdistrict":
                serving |= models.Q(community__parent_id__in=sorted(ids))
        if scope.grid_ids:
            grids = Grid.objects.filter(pk__in=sorted(scope.grid_ids)).values("community_id")
            serving |= models.Q(community_id__in=grids)
        return (
            self.filter(scope.q("resident__dwelling__") | serving)
            if serving
            else self.filter(scope.q("resident__dwelling__"))
        )


class PartyMember(models.Model):
    resident = models.OneToOneField(
        "people.Resident", on_delete=models.PROTECT, related_name="party_member", verbose_name=_("居民")
    )
    member_type = models.CharField(_("党员类型"), max_length=20, choices=MemberType.choices, db_index=True)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("所在组织"),
    )
    employer = models.ForeignKey(
        CoBuildingUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("工作单位"),
    )
    employer_name = models.CharField(_("工作单位名称"), max_length=100, blank=True)
    service_post = models.ForeignKey(
        ServicePost,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("服务岗位"),
    )
    joined_on = models.DateField(_("入党日期"), null=True, blank=True)
    reported_in_on = models.DateField(_("双报到日期"), null=True, blank=True)
    community = models.ForeignKey(
        "regions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reported_members",
        verbose_name=_("报到社区"),
        help_text=_("党员报到服务的社区；不住在本社区的下沉干部以此归属"),
    )
    # database defaults too: the registry import writes members with raw inserts that name only its columns
    sinking_cadre = models.BooleanField(_("下沉干部"), default=False, db_default=False)
    post_title = models.CharField(_("单位职务"), max_length=50, blank=True, default="", db_default="")
    active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PartyMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.resident)

    @property
    def serving_community_id(self) -> int | None:
        """The community the member serves: where he reported in, else where he lives."""
        if self.community_id:
            return self.community_id
        dwelling = self.resident.dwelling
        return dwelling.community_id if dwelling is not None else None

    @property
    def lives_elsewhere(self) -> bool:
        dwelling = self.resident.dwelling
        return dwelling is None or (
            self.community_id is not None and dwelling.community_id != self.community_id
        )


class UnitReportIn(models.Model):
    """A co-building unit's 报到 to a community: the resources it brings, the needs it takes on and the projects
    agreed (资源清单、需求清单、项目清单)."""

    unit = models.ForeignKey(
        CoBuildingUnit, on_delete=models.PROTECT, related_name="report_ins", verbose_name=_("共建单位")
    )
    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="unit_report_ins", verbose_name=_("社区")
    )
    reported_on = models.DateField(_("报到日期"), default=timezone.localdate)
    resources = models.TextField(_("资源清单"), blank=True)
    needs = models.TextField(_("认领的需求清单"), blank=True)
    projects = models.TextField(_("项目清单"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("单位报到")
        verbose_name_plural = _("单位报到")
        ordering = ["-reported_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "community"], name="unit_report_in_once_per_community")
        ]

    def __str__(self) -> str:
        return f"{self.unit} → {self.community}"


class JointMeeting(models.Model):
    """A joint meeting (联席会议) of the community's 大党委: the units that came, the topics and what was agreed."""

    community = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="joint_meetings", verbose_name=_("社区")
    )
    held_on = models.DateField(_("召开日期"))
    topic = models.CharField(_("议题"), max_length=200)
    units = models.ManyToManyField(CoBuildingUnit, related_name="joint_meetings", verbose_name=_("参会单位"))
    decisions = models.TextField(_("议定事项"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("联席会议")
        verbose_name_plural = _("联席会议")
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return self.topic
