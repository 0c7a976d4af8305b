"""The one scoping function: what a user may see.

Every queryset that reaches a place, a person or a case calls :func:`scope_for` (through ``.visible_to(user)``),
in views and API alike. Anything outside the scope answers 404.

A scope is a set of region nodes, grids and estates. Any model that carries the denormalised location fields
``subdistrict_id, community_id, estate_id, building_id, entrance_id, grid_id`` (a dwelling, a case) is filtered
with :meth:`Scope.q`; models that live in a dwelling pass the path to it as ``prefix`` (``"dwelling__"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Q

from tongxin.core.memo import Memo
from tongxin.regions.choices import (
    REGISTRY_ROLES,
    RESTRICTED_ROLES,
    REVEAL_ID_ROLES,
    REVEAL_PHONE_ROLES,
    RegionKind,
    Role,
)

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    roles: frozenset[str] = frozenset()
    # region kind -> ids of region nodes of that kind the user holds a registry role on
    regions: dict[str, frozenset[int]] = field(default_factory=dict)
    region_paths: tuple[str, ...] = ()
    grid_ids: frozenset[int] = frozenset()
    estate_ids: frozenset[int] = frozenset()  # property staff: the estates of their company
    department_ids: frozenset[int] = frozenset()
    property_company_ids: frozenset[int] = frozenset()
    # roles held per kind of node, to answer "may this user reveal here?"
    reveal_id_nodes: tuple[tuple[str, int], ...] = ()
    reveal_phone_nodes: tuple[tuple[str, int], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.regions or self.grid_ids or self.estate_ids)

    def q(self, prefix: str = "") -> Q:
        """Filter for objects carrying the location fields (optionally behind ``prefix``)."""
        if self.everything:
            return Q()
        q = Q()
        for kind, ids in self.regions.items():
            q |= Q(**{f"{prefix}{kind}_id__in": sorted(ids)})
        if self.grid_ids:
            q |= Q(**{f"{prefix}grid_id__in": sorted(self.grid_ids)})
        if self.estate_ids:
            q |= Q(**{f"{prefix}estate_id__in": sorted(self.estate_ids)})
        return q if q else NOTHING

    def region_q(self) -> Q:
        """Filter for :class:`Region` rows: subtrees of assigned nodes, plus grid buildings and their entrances."""
        if self.everything:
            return Q()
        q = Q()
        for path in self.region_paths:
            q |= Q(path__startswith=path)
        if self.grid_ids:
            q |= Q(grid_id__in=sorted(self.grid_ids))
        if self.estate_ids:
            q |= Q(pk__in=sorted(self.estate_ids)) | Q(path__regex=_estate_subtree_regex(self.estate_ids))
        return q if q else NOTHING

    def covers(self, obj: Any, nodes: tuple[tuple[str, int], ...] | None = None) -> bool:
        """Whether ``obj`` (anything with location fields) lies in this scope, optionally in a subset of nodes."""
        if self.everything:
            return True
        if nodes is None:
            if (
                getattr(obj, "grid_id", None) in self.grid_ids
                or getattr(obj, "estate_id", None) in self.estate_ids
            ):
                return True
            return any(getattr(obj, f"{kind}_id", None) in ids for kind, ids in self.regions.items())
        return any(getattr(obj, f"{kind}_id", None) == node_id for kind, node_id in nodes)

    def may_reveal(self, obj: Any, what: str) -> bool:
        """Whether the user may reveal the id number (``what="id_number"``) or phone of a person at ``obj``."""
        if self.everything:
            return True
        nodes = self.reveal_id_nodes if what == "id_number" else self.reveal_phone_nodes
        return self.covers(obj, nodes)

    def registry(self) -> Scope:
        """The part of the scope that reaches the population registry: the estates a property company serves
        are left out (property staff see dwellings, never the people living in them)."""
        if not self.estate_ids:
            return self
        return replace(self, estate_ids=frozenset())

    def nodes_q(self, nodes: tuple[tuple[str, int], ...], prefix: str = "") -> Q:
        """Filter for objects under one of ``nodes`` (``(kind, id)`` pairs, ``kind`` may be ``"grid"``)."""
        if self.everything:
            return Q()
        q = Q()
        for kind, node_id in nodes:
            q |= Q(**{f"{prefix}{kind}_id": node_id})
        return q if q else NOTHING

    @property
    def sees_restricted(self) -> bool:
        return self.everything or bool(self.roles & RESTRICTED_ROLES)

    def has_role(self, *roles: str) -> bool:
        return self.everything or bool(self.roles & set(roles))


def _estate_subtree_regex(estate_ids: frozenset[int]) -> str:
    return r"/(" + "|".join(str(i) for i in sorted(estate_ids)) + r")/"


# user pk -> Scope (frozen, shared between requests as it is): forgotten when a role assignment, a region or a
# property company's estates change (regions/apps.py); other processes follow within a second (shared cache) or
# five (none)
SCOPES = Memo("regions-scopes", ttl=60.0)


# (role, node field, node id) -> the ids of the users holding the role there (who is told about a new case):
# forgotten with the scopes, on every role-assignment change (regions/apps.py)
HOLDERS = Memo("regions-role-holders", ttl=60.0)


def user_ids_with_role(role: str, **node: Any) -> list[int]:
    """The users holding ``role`` on one node (``grid_id=…``, ``region_id=…``, ``property_company_id=…``,
    ``department_id=…``), memoised per process."""
    from tongxin.regions.models import RoleAssignment

    key = (role, *sorted(node.items()))
    return list(
        HOLDERS.get(
            key,
            lambda: tuple(RoleAssignment.objects.filter(role=role, **node).values_list("user_id", flat=True)),
        )
    )


def scope_for(user: Any) -> Scope:
    """The scope of ``user``, computed once per user object (one query for roles, one for property estates)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Scope()
    cached = getattr(user, "_tongxin_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        scope = Scope(everything=True, roles=frozenset(Role.values))
    else:
        scope = SCOPES.get(user.pk, lambda: _compute(user))
    user._tongxin_scope = scope
    return scope


def _compute(user: Any) -> Scope:
    from tongxin.regions.models import PropertyCompany, RoleAssignment

    roles: set[str] = set()
    regions: dict[str, set[int]] = {}
    paths: list[str] = []
    grids: set[int] = set()
    departments: set[int] = set()
    companies: set[int] = set()
    reveal_id: list[tuple[str, int]] = []
    reveal_phone: list[tuple[str, int]] = []
    above: list[str] = []  # paths of the districts and cities held (their subdistricts are looked up below)
    for ra in RoleAssignment.objects.filter(user=user).select_related("region"):
        roles.add(ra.role)
        if ra.role == Role.DISTRICT_ADMIN and ra.region is not None:
            # A district or city admin oversees (dashboards, rates) every subdistrict below the node; the
            # rules decide what they may do there (none of the registry's writes, no reveal).
            paths.append(ra.region.path)
            if ra.region.kind == RegionKind.SUBDISTRICT:
                regions.setdefault(RegionKind.SUBDISTRICT, set()).add(ra.region.pk)
            else:
                above.append(ra.region.path)
            continue
        if ra.role in REGISTRY_ROLES and ra.region is not None:
            kind = ra.region.kind
            regions.setdefault(kind, set()).add(ra.region.pk)
            paths.append(ra.region.path)
            node = (kind, ra.region.pk)
        elif ra.role == Role.GRID_WORKER and ra.grid_id is not None:
            grids.add(ra.grid_id)
            node = ("grid", ra.grid_id)
        elif ra.role == Role.PROPERTY_STAFF and ra.property_company_id:
            companies.add(ra.property_company_id)
            continue
        else:
            if ra.role == Role.DEPARTMENT_LIAISON and ra.department_id:
                departments.add(ra.department_id)
            continue
        if ra.role in REVEAL_ID_ROLES:
            reveal_id.append(node)
        if ra.role in REVEAL_PHONE_ROLES:
            reveal_phone.append(node)
    if above:
        from tongxin.regions.models import Region

        under = Q()
        for path in above:
            under |= Q(path__startswith=path)
        subdistricts = Region.objects.filter(under, kind=RegionKind.SUBDISTRICT).values_list("pk", flat=True)
        regions.setdefault(RegionKind.SUBDISTRICT, set()).update(subdistricts)
    estates: set[int] = set()
    if companies:
        estates = set(
            PropertyCompany.estates.through.objects.filter(propertycompany_id__in=companies).values_list(
                "region_id", flat=True
            )
        )
    if RegionKind.ENTRANCE in regions:  # entrance assignments are not a registry scope
        regions.pop(RegionKind.ENTRANCE)
    return Scope(
        roles=frozenset(roles),
        regions={k: frozenset(v) for k, v in regions.items()},
        region_paths=tuple(paths),
        grid_ids=frozenset(grids),
        estate_ids=frozenset(estates),
        department_ids=frozenset(departments),
        property_company_ids=frozenset(companies),
        reveal_id_nodes=tuple(reveal_id),
        reveal_phone_nodes=tuple(reveal_phone),
    )
