"""Party organisation tree, party members and their service posts, and co-building units (大党委)."""

from __future__ import annotations

from typing import Any

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
        return self.filter(scope_for(user).q("resident__dwelling__"))


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
    active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PartyMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")
        ordering = ["id"]

    def __str__(self) -> str:
        return str(self.resident)
