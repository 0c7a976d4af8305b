"""Sensors' part of the access policy.

* Registry staff (subdistrict admin, community staff, grid workers) see the devices, readings, alerts and meters
  located in their scope; managers (subdistrict admin, community staff) register devices, set thresholds and issue
  device tokens there.
* Property staff see the devices their company maintains (the maintenance owner), and department liaisons those
  their department maintains — not every device standing in an estate they serve.
* Care signals (an elderly person living alone who stopped using water) carry a care tag: registry staff only.
* Gateways are not users: the readings endpoint authenticates a device token (:class:`tongxin.sensors.api.
  DeviceToken`) and is declared ``policy.public`` for the user-level walker.
* Residents, volunteers and party members see nothing here.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, register
from tongxin.regions.choices import Role
from tongxin.regions.policy import MANAGERS, REGISTRY, STAFF, InScope
from tongxin.regions.scoping import NOTHING, scope_for

VIEWERS = REGISTRY | {Role.PROPERTY_STAFF, Role.DEPARTMENT_LIAISON}


def _grid_estates(grid_ids: frozenset[int]) -> list[int]:
    from tongxin.regions.models import Region

    return list(
        Region.objects.filter(kind="building", grid_id__in=sorted(grid_ids))
        .values_list("parent_id", flat=True)
        .distinct()
    )


class DeviceInScope:
    """Devices (behind ``prefix``) located in the user's registry scope, or maintained by the user's property
    company or department."""

    def __init__(self, prefix: str = "", registry_only: bool = False) -> None:
        self.prefix = prefix
        self.registry_only = registry_only
        self.description = (
            _("在本人管辖范围内") if registry_only else _("在本人管辖范围内，或由本人所在物业/部门维护")
        )

    def q(self, user: Any) -> Q:
        scope = scope_for(user)
        if scope.everything:
            return Q()
        p = self.prefix
        q = Q()
        for kind, ids in scope.regions.items():
            q |= Q(**{f"{p}{kind}_id__in": sorted(ids)})
        if scope.grid_ids:
            q |= Q(**{f"{p}grid_id__in": sorted(scope.grid_ids)})
            # an estate's shared equipment (a pump room) belongs to every grid with a building in that estate
            q |= Q(**{f"{p}building_id__isnull": True, f"{p}estate_id__in": _grid_estates(scope.grid_ids)})
        if not self.registry_only:
            if scope.property_company_ids:
                q |= Q(**{f"{p}property_company_id__in": sorted(scope.property_company_ids)})
            if scope.department_ids:
                q |= Q(**{f"{p}department_id__in": sorted(scope.department_ids)})
        return q if q else NOTHING

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(self.q(user))

    def test(self, user: Any, obj: Any) -> bool:
        target = obj
        for part in filter(None, self.prefix.split("__")):
            target = getattr(target, part, None) if target is not None else None
        if target is None:
            return False
        scope = scope_for(user)
        if scope.everything:
            return True
        if getattr(target, "grid_id", None) in scope.grid_ids:
            return True
        if (
            scope.grid_ids
            and getattr(target, "building_id", 0) is None
            and getattr(target, "estate_id", None) in _grid_estates(scope.grid_ids)
        ):
            return True
        if any(getattr(target, f"{kind}_id", None) in ids for kind, ids in scope.regions.items()):
            return True
        if self.registry_only:
            return False
        return (
            getattr(target, "property_company_id", None) in scope.property_company_ids
            or getattr(target, "department_id", None) in scope.department_ids
        )


class CaseVisible:
    """A case raised by a device alert that the user may see (the cases app's own visibility rule)."""

    description = _("本人可见的、由设备告警生成的工单")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.cases.querysets import case_visibility_q
        from tongxin.sensors.models import Alert

        return qs.filter(case_visibility_q(user), pk__in=Alert.objects.values("case_id"))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.cases.models import Case

        return self.filter(Case.objects.filter(pk=obj.pk), user).exists()


def _care_open(user: Any, signal: Any) -> bool:
    from tongxin.sensors.choices import CareSignalState

    return signal is None or signal.state == CareSignalState.OPEN


register(
    Rule("sensors.view_device", VIEWERS, _("查看设备、读数与告警"), where=DeviceInScope()),
    Rule("sensors.manage_device", MANAGERS, _("登记设备、设置阈值、发放设备令牌"), where=InScope()),
    Rule("sensors.view_alert", VIEWERS, _("查看设备告警"), where=DeviceInScope("device__")),
    Rule("sensors.view_case_readings", STAFF, _("在工单上查看设备读数曲线"), where=CaseVisible()),
    Rule("sensors.view_meter", VIEWERS, _("查看户表月度用量"), where=DeviceInScope()),
    Rule(
        "sensors.view_care_signal",
        REGISTRY,
        _("查看关爱信号（独居老人用水异常）"),
        where=DeviceInScope("dwelling__", registry_only=True),
    ),
    Rule(
        "sensors.handle_care_signal",
        REGISTRY,
        _("记录关爱信号的走访结果"),
        where=DeviceInScope("dwelling__", registry_only=True),
        when=_care_open,
        condition=_("信号待走访"),
        reason=_("该关爱信号已处理"),
    ),
    Rule("sensors.view_overview", VIEWERS, _("查看设备在线情况与告警分布（看板、地图）")),
    Rule("sensors.view_ingest", MANAGERS, _("查看数据接入统计")),
)
