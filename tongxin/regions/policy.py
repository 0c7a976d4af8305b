"""Regions' part of the access policy: the roles a user holds (from role assignments), the ``where`` clauses every
app uses to say "inside the user's scope", and the actions on places and grids.

The ``where`` clauses turn :class:`~tongxin.regions.scoping.Scope` into the two forms the policy needs: a filter
for querysets (:func:`tongxin.core.policy.restrict`) and a test for one object (:func:`tongxin.core.policy.decide`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import (
    ANONYMOUS,
    AUTHENTICATED,
    SUPERUSER,
    Rule,
    describe_roles,
    register,
    role_provider,
)
from tongxin.regions.choices import Role
from tongxin.regions.scoping import scope_for

# Role sets used across the apps' policies (one name per group, so the table reads the same everywhere).
ADMIN = frozenset({Role.SUBDISTRICT_ADMIN})
MANAGERS = frozenset({Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF})
REGISTRY = frozenset({Role.SUBDISTRICT_ADMIN, Role.COMMUNITY_STAFF, Role.GRID_WORKER})
PLACES = REGISTRY | {Role.PROPERTY_STAFF}
STAFF = PLACES | {Role.DEPARTMENT_LIAISON}
PARTY_MEMBER = "party_member"  # derived: an active party member (party/policy.py provides it)


@role_provider(provides=Role.values)
def assigned_roles(user: Any) -> frozenset[str]:
    return scope_for(user).roles


describe_roles(
    {
        ANONYMOUS: _("未登录"),
        AUTHENTICATED: _("任何已登录用户"),
        SUPERUSER: _("系统管理员"),
        **{r.value: r.label for r in Role},
        PARTY_MEMBER: _("党员（在册、有效）"),
    }
)


def _follow(obj: Any, prefix: str) -> Any:
    for part in [p for p in prefix.split("__") if p]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


class InScope:
    """Objects that carry the location fields (``community_id``, ``grid_id`` …), directly or behind ``prefix``
    (``"dwelling__"``), inside the user's scope. ``registry=True`` leaves out the estates a property company
    serves: the population registry is not the property company's business."""

    def __init__(self, prefix: str = "", description: Any = None, *, registry: bool = False) -> None:
        self.prefix = prefix
        self.registry = registry
        self.description = description or (
            _("在本人管辖的区域或网格内（不含物业服务范围）") if registry else _("在本人管辖范围内")
        )

    def scope(self, user: Any) -> Any:
        scope = scope_for(user)
        return scope.registry() if self.registry else scope

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(self.scope(user).q(self.prefix))

    def test(self, user: Any, obj: Any) -> bool:
        target = _follow(obj, self.prefix)
        return target is not None and self.scope(user).covers(target)


class RevealScope:
    """Where the user may reveal a clear id number (``what="id_number"``) or phone: the nodes of the roles that
    may reveal it (see regions/choices.py REVEAL_*_ROLES)."""

    def __init__(self, what: str, prefix: str = "", description: Any = None) -> None:
        self.what = what
        self.prefix = prefix
        self.description = description or _("在本人有权查看明文的区域或网格内")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        scope = scope_for(user)
        nodes = scope.reveal_id_nodes if self.what == "id_number" else scope.reveal_phone_nodes
        return qs.filter(scope.nodes_q(nodes, self.prefix))

    def test(self, user: Any, obj: Any) -> bool:
        target = _follow(obj, self.prefix)
        return target is not None and scope_for(user).may_reveal(target, self.what)


class RegionInScope:
    """Region nodes the user may open: the subtrees assigned to them and the nodes above (the way there)."""

    description = _("本人管辖的区域及其上级")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.regions.services import reachable

        return qs.filter(pk__in=reachable(user).values("pk"))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.regions.services import may_open

        return may_open(user, obj)


class GridInScope:
    description = _("本人管辖的网格")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        from tongxin.regions.models import Grid

        return qs.filter(pk__in=Grid.objects.visible_to(user).values("pk"))

    def test(self, user: Any, obj: Any) -> bool:
        from tongxin.regions.models import Grid

        return Grid.objects.visible_to(user).filter(pk=obj.pk).exists()


class CommunityIn:
    """Objects with a ``community`` (behind ``field``) among the communities the user works in."""

    def __init__(self, field: str = "community_id", description: Any = None) -> None:
        self.field = field
        self.description = description or _("本人工作的社区")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        return qs.filter(**{f"{self.field}__in": community_ids(user)})

    def test(self, user: Any, obj: Any) -> bool:
        value = _follow(obj, self.field.removesuffix("_id")) if "__" in self.field else None
        if value is not None and hasattr(value, "pk"):
            value = value.pk
        if value is None:
            value = getattr(obj, self.field, None)
        return value in community_ids(user)


def community_ids(user: Any) -> list[int]:
    """Communities a staff user works in (admin: all of their subdistrict; community staff: their own; grid
    worker: their grids' communities; property staff: the communities of the estates they serve)."""
    cached = getattr(user, "_tongxin_community_ids", None)
    if cached is not None:
        return list(cached)
    from tongxin.regions.choices import RegionKind
    from tongxin.regions.models import Grid, Region

    scope = scope_for(user)
    ids: set[int] = set()
    if scope.everything:
        ids = set(Region.objects.filter(kind=RegionKind.COMMUNITY).values_list("pk", flat=True))
    else:
        if scope.regions:
            ids |= set(
                Region.objects.filter(kind=RegionKind.COMMUNITY)
                .filter(scope.region_q())
                .values_list("pk", flat=True)
            )
        if scope.grid_ids:
            ids |= set(Grid.objects.filter(pk__in=scope.grid_ids).values_list("community_id", flat=True))
        if scope.estate_ids:
            ids |= set(Region.objects.filter(pk__in=scope.estate_ids).values_list("parent_id", flat=True))
    result = tuple(sorted(ids))
    if getattr(user, "is_authenticated", False):
        user._tongxin_community_ids = result
    return list(result)


def communities_q(user: Any, field: str = "community_id") -> Q:
    ids = community_ids(user)
    return Q(**{f"{field}__in": ids}) if ids else Q(pk__in=[])


register(
    Rule("regions.view_tree", PLACES, _("浏览区域网格树"), where=RegionInScope()),
    Rule("regions.view_node", PLACES, _("查看区域节点及其房屋"), where=RegionInScope()),
    Rule(
        "regions.view_household_heads",
        REGISTRY,
        _("在房屋列表中看到户主姓名和人数"),
        where=InScope(),
    ),
    Rule("regions.view_grid", REGISTRY, _("查看网格"), where=GridInScope()),
    Rule("regions.list_dwellings", PLACES, _("查询房屋"), where=InScope()),
    Rule("regions.resolve_address", STAFF, _("解析地址")),
)
