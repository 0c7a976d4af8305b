"""Places: subdistrict → community → estate → building → entrance → dwelling, grids across buildings,
departments and property companies, and the role assignments that decide who sees what.

The region tree uses a materialised path (``/1/7/42/``) so "everything under this community" is one indexed
prefix query. Dwellings carry their ancestors and grid as plain foreign keys, so the scoping filter on anything
that lives in a dwelling is a single indexed equality.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core.models import MaterialisedPath
from tongxin.regions.choices import ABOVE_SUBDISTRICT, LOCAL_DEPTH, RegionKind, Role
from tongxin.regions.querysets import DwellingQuerySet, GridQuerySet, RegionQuerySet


class Region(MaterialisedPath):
    Kind = RegionKind

    kind = models.CharField(_("层级"), max_length=12, choices=RegionKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=100)
    number = models.CharField(_("编号"), max_length=20, blank=True, help_text=_("楼栋号或单元号，如 3"))
    code = models.CharField(
        _("代码"), max_length=12, blank=True, help_text=_("街道：6位行政区划+3位街道码；社区：3位社区码")
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级"),
    )
    grid = models.ForeignKey(
        "regions.Grid",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="regions",
        verbose_name=_("网格"),
        help_text=_("楼栋必须属于且只属于一个网格；单元随楼栋"),
    )
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_unique_name_in_parent"),
            models.CheckConstraint(
                condition=~models.Q(kind="building") | models.Q(grid__isnull=False),
                name="region_building_has_grid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.kind == RegionKind.ENTRANCE and self.parent_id and self.grid_id is None:
            self.grid_id = Region.objects.filter(pk=self.parent_id).values_list("grid_id", flat=True).first()
        super().save(*args, **kwargs)

    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def place_ids(self) -> list[int]:
        """The path ids from the subdistrict down to this node (``[subdistrict, community, estate, …]``), the same
        whether or not a district and a city sit above the subdistrict."""
        ids = self.ancestor_ids()
        return ids[-LOCAL_DEPTH[self.kind] :] if self.kind in LOCAL_DEPTH else []

    def ancestors(self) -> models.QuerySet[Region]:
        return Region.objects.filter(pk__in=self.ancestor_ids()).order_by("depth")

    def descendants(self, include_self: bool = True) -> models.QuerySet[Region]:
        qs = Region.objects.filter(path__startswith=self.path)
        return qs if include_self else qs.exclude(pk=self.pk)

    @property
    def full_name(self) -> str:
        return "".join(
            r.name for r in self.ancestors() if r.kind not in (RegionKind.SUBDISTRICT, *ABOVE_SUBDISTRICT)
        )


class Grid(models.Model):
    """A management unit of a few hundred households inside one community, cutting across estates."""

    community = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="grids",
        limit_choices_to={"kind": RegionKind.COMMUNITY},
        verbose_name=_("社区"),
    )
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(
        _("网格编码"),
        max_length=15,
        unique=True,
        validators=[RegexValidator(r"^\d{15}$", _("网格编码应为15位数字"))],
        help_text=_("6位行政区划+3位街道+3位社区+3位顺序号"),
    )
    chief = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chief_of_grids",
        verbose_name=_("网格长"),
    )
    workers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="worker_of_grids", verbose_name=_("网格员")
    )
    polygon = models.JSONField(_("边界(GeoJSON)"), null=True, blank=True)

    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def build_code(community: Region, sequence: int) -> str:
        subdistrict = community.parent
        assert subdistrict is not None
        admin = (subdistrict.code or settings.DEFAULT_ADMIN_DIVISION)[:6]
        sub = (subdistrict.code[6:9] if len(subdistrict.code) >= 9 else "001").zfill(3)
        return f"{admin}{sub}{(community.code or '001').zfill(3)[-3:]}{sequence:03d}"


class Dwelling(models.Model):
    """A flat. Its ancestors and grid are copied from its entrance so scoping is one equality."""

    entrance = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="dwellings", verbose_name=_("单元")
    )
    building = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("楼栋"))
    estate = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    community = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    subdistrict = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("街道")
    )
    grid = models.ForeignKey(Grid, on_delete=models.PROTECT, related_name="dwellings", verbose_name=_("网格"))
    number = models.CharField(_("房号"), max_length=20)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    floor_area = models.DecimalField(_("建筑面积(㎡)"), max_digits=8, decimal_places=2, null=True, blank=True)

    objects = DwellingQuerySet.as_manager()

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        ordering = ["entrance_id", "number"]
        constraints = [models.UniqueConstraint(fields=["entrance", "number"], name="dwelling_unique_number")]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{self.estate.name}{self.building.name}{self.entrance.name}{self.number}"

    def place_under(self, entrance: Region) -> None:
        """Copy the ancestors and grid of ``entrance`` onto this dwelling."""
        ids = entrance.place_ids()
        self.entrance = entrance
        self.subdistrict_id, self.community_id, self.estate_id, self.building_id = (
            ids[0],
            ids[1],
            ids[2],
            ids[3],
        )
        assert entrance.grid_id is not None, "an entrance inherits its building's grid"
        self.grid_id = entrance.grid_id


class Department(models.Model):
    """A government department a subdistrict can whistle (城管, 住建, 公安 ...)."""

    subdistrict = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="departments", verbose_name=_("街道")
    )
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        constraints = [models.UniqueConstraint(fields=["subdistrict", "name"], name="department_unique_name")]

    def __str__(self) -> str:
        return self.short_name or self.name


class PropertyCompany(models.Model):
    """A property company (红色物业 when it has a party branch) serving one or more estates."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    estates = models.ManyToManyField(
        Region, related_name="property_companies", blank=True, verbose_name=_("服务小区")
    )
    hotline = models.CharField(_("服务热线"), max_length=30, blank=True)
    has_party_branch = models.BooleanField(_("红色物业"), default=False)

    class Meta:
        verbose_name = _("物业公司")
        verbose_name_plural = _("物业公司")

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A user's role on one node: a region, a grid, a department or a property company."""

    Role = Role

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("区域")
    )
    grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("网格")
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("部门")
    )
    property_company = models.ForeignKey(
        PropertyCompany,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("物业"),
    )

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        role__in=["district_admin", "subdistrict_admin", "community_staff"],
                        region__isnull=False,
                    )
                    | models.Q(role="grid_worker", grid__isnull=False)
                    | models.Q(role="property_staff", property_company__isnull=False)
                    | models.Q(role="department_liaison", department__isnull=False)
                    | models.Q(role__in=["volunteer", "resident"])
                ),
                name="role_assignment_has_node",
            )
        ]

    def __str__(self) -> str:
        node = self.region or self.grid or self.department or self.property_company or ""
        return f"{self.user} · {self.get_role_display()} · {node}"
