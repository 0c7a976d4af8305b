"""Case querysets: who sees which case.

``Case.objects.visible_to(user)`` is the only way views and the API reach cases:

* registry staff (subdistrict admin, community staff, grid workers): cases located in their regions/grids
  (:meth:`tongxin.regions.scoping.Scope.q`);
* property staff: cases assigned to their company;
* department liaisons: cases assigned to their department or whistled to it;
* party members / volunteers: cases open for claiming in the grid they live in, and cases assigned to them;
* residents: the cases they reported or submitted;
* anyone: cases assigned to them personally.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import models
from django.db.models import Q

from tongxin.regions.scoping import NOTHING, scope_for


class CaseQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> CaseQuerySet:
        return self.filter(case_visibility_q(user))

    def open(self) -> CaseQuerySet:
        from tongxin.cases.choices import OPEN_STATES

        return self.filter(state__in=OPEN_STATES)

    def queue_for(self, user: Any) -> CaseQuerySet:
        """A handler's own open queue, most urgent first (uses the partial index ``case_queue_idx``)."""
        from tongxin.cases.choices import OPEN_STATES

        return self.filter(assignee=user, state__in=OPEN_STATES).order_by("resolve_by", "id")

    def todo_for(self, user: Any) -> CaseQuerySet:
        """我的待办 (the workbench's default list and ``/api/v1/cases/queue``): the open cases the user can see
        that wait for them — see :func:`todo_q`."""
        return self.filter(todo_q(user))


def _any(arms: list[Q]) -> Q:
    q = Q()
    for arm in arms:
        q |= arm
    return q


def visibility_arms(user: Any) -> list[Q] | None:
    """The cases ``user`` sees, as a list of alternatives (their OR); ``None`` means every case. Each arm is a
    plain column equality or ``IN`` (no join), so every arm can use an index on its own."""
    scope = scope_for(user)
    if scope.everything:
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return [NOTHING]
    # property staff see their company's cases, not everything located in the estates they serve
    region_scope = dataclasses.replace(scope, estate_ids=frozenset())
    arms: list[Q] = []
    if region_scope.regions or region_scope.grid_ids:
        arms += [Q(**{f"{kind}_id__in": sorted(ids)}) for kind, ids in sorted(region_scope.regions.items())]
        if region_scope.grid_ids:
            arms.append(Q(grid_id__in=sorted(region_scope.grid_ids)))
    arms.append(Q(assignee_id=user.pk))
    if scope.property_company_ids:
        arms.append(Q(property_company_id__in=sorted(scope.property_company_ids)))
    if scope.department_ids:
        from tongxin.cases.models import WhistleCall

        depts = sorted(scope.department_ids)
        arms.append(Q(department_id__in=depts))
        arms.append(Q(pk__in=WhistleCall.objects.filter(department_id__in=depts).values("case_id")))
    resident_id, grid_id, is_member = resident_info(user)
    # 党员接单: party members (and registered volunteers) see the cases open for claiming in their grid
    if grid_id is not None and (is_member or scope.has_role("volunteer")):
        arms.append(Q(state="open_for_claiming", grid_id=grid_id))
    arms.append(Q(submitted_by_id=user.pk))
    if resident_id is not None:
        arms.append(Q(reporter_id=resident_id))
    return arms


def case_visibility_q(user: Any) -> Q:
    """The filter behind :meth:`CaseQuerySet.visible_to` (also usable in joins: ``Q`` on Case fields)."""
    arms = visibility_arms(user)
    return Q() if arms is None else _any(arms)


def todo_arms(user: Any) -> list[Q]:
    """What waits for the user, as alternatives: assigned to them or to their company/department, whistled to
    their department (until the case is resolved), open for claiming, or waiting at the desk (submitted,
    reopened, returned)."""
    from tongxin.cases.choices import CaseState as S

    scope = scope_for(user)
    arms = [
        Q(assignee_id=getattr(user, "pk", None)),
        Q(state__in=[S.OPEN_FOR_CLAIMING, S.SUBMITTED, S.REOPENED, S.RETURNED]),
    ]
    if scope.property_company_ids:
        arms.append(Q(property_company_id__in=sorted(scope.property_company_ids)))
    if scope.department_ids:
        from tongxin.cases.models import WhistleCall

        depts = sorted(scope.department_ids)
        arms.append(Q(department_id__in=depts))
        arms.append(
            Q(pk__in=WhistleCall.objects.filter(department_id__in=depts, active=True).values("case_id"))
        )
    return arms


def todo_q(user: Any) -> Q:
    """The open cases the user sees that wait for them: (visible) AND (waiting) AND open, written out as the
    OR of every visible arm with every waiting arm. The same rows as the plain AND, but PostgreSQL can then
    answer each alternative from its own narrow index (a grid worker's 8,161 waiting cases among 10 M: one
    bitmap of the waiting states in the grid and one of his assigned cases, instead of every case located in
    the grid filtered afterwards — ~15× fewer pages read). A waiting arm that is itself a visible arm (assigned
    to the user, to the user's company or department) stands alone: it is visible whatever else holds, and no
    other arm is ANDed with it."""
    from tongxin.cases.choices import OPEN_STATES

    visible = visibility_arms(user)
    waits = todo_arms(user)
    alone = [w for w in waits if visible is None or w in visible]
    arms = list(alone)
    for wait in waits:
        if wait not in alone:
            # (see AND wait) adds nothing where ``see`` already stands alone
            arms += [see & wait for see in visible or () if see not in alone]
    return _any(arms) & Q(state__in=OPEN_STATES)


def resident_info(user: Any) -> tuple[int | None, int | None, bool]:
    """The user's resident record, the grid they live in and whether they are an active party member
    (one query, cached on the user object)."""
    cached = getattr(user, "_tongxin_case_resident", None)
    if cached is not None:
        return cached
    from tongxin.people.models import Resident

    row = (
        Resident.objects.filter(user_id=user.pk)
        .values_list("pk", "dwelling__grid_id", "party_member__active")
        .first()
    )
    info: tuple[int | None, int | None, bool] = (row[0], row[1], bool(row[2])) if row else (None, None, False)
    user._tongxin_case_resident = info
    return info


class CaseEventQuerySet(models.QuerySet):
    """Append-only: bulk inserts are fine, updates and deletes are refused."""

    def update(self, **kwargs: Any) -> int:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("case events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("case events are append-only")
