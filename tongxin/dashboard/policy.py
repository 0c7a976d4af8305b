"""The dashboard's part of the access policy: the grid map for the registry roles (their grids), the dashboard
and its exports for managers (the subdistrict or communities they hold)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.regions.choices import Role
from tongxin.regions.policy import MANAGERS, REGISTRY, GridInScope

# A district's or city's admin sees the dashboard of everything below (and nothing of the registry's work).
OVERSIGHT = MANAGERS | {Role.DISTRICT_ADMIN}


class RegionHeld:
    """Region nodes inside the user's scope (the subtrees assigned to them; not the nodes above)."""

    description = _("本人管辖的市、区、街道或社区")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.regions.models import Region

        return qs.filter(pk__in=Region.objects.visible_to(user).values("pk"))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.regions.models import Region

        return Region.objects.visible_to(user).filter(pk=obj.pk).exists()


register(
    Rule("dashboard.view_map", REGISTRY, _("查看网格一张图和网格详情"), where=GridInScope()),
    Rule("dashboard.view", OVERSIGHT, _("查看数据看板（三率、趋势、分类）"), where=RegionHeld()),
    Rule("dashboard.export", OVERSIGHT, _("导出看板（Excel、PDF月报）"), where=RegionHeld()),
)
