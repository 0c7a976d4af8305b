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
        from tongxin.cases.choices import OPEN_STATES

        return self.visible_to(user).filter(todo_q(user), state__in=OPEN_STATES)


def case_visibility_q(user: Any) -> Q:
    """The filter behind :meth:`CaseQuerySet.visible_to` (also usable in joins: ``Q`` on Case fields)."""
    scope = scope_for(user)
    if scope.everything:
        return Q()
    if user is None or not getattr(user, "is_authenticated", False):
        return NOTHING
    # property staff see their company's cases, not everything located in the estates they serve
    region_scope = dataclasses.replace(scope, estate_ids=frozenset())
    q = region_scope.q() if (region_scope.regions or region_scope.grid_ids) else Q(pk__in=[])
    q |= Q(assignee_id=user.pk)
    if scope.property_company_ids:
        q |= Q(property_company_id__in=sorted(scope.property_company_ids))
    if scope.department_ids:
        from tongxin.cases.models import WhistleCall

        depts = sorted(scope.department_ids)
        q |= Q(department_id__in=depts) | Q(
            pk__in=WhistleCall.objects.filter(department_id__in=depts).values("case_id")
        )
    resident_id, grid_id, is_member = resident_info(user)
    # 党员接单: party members (and registered volunteers) see the cases open for claiming in their grid
    if grid_id is not None and (is_member or scope.has_role("volunteer")):
        q |= Q(state="open_for_claiming", grid_id=grid_id)
    # plain column equalities (no join) so every arm of the OR can use an index
    q |= Q(submitted_by_id=user.pk)
    if resident_id is not None:
        q |= Q(reporter_id=resident_id)
    return q


def todo_q(user: Any) -> Q:
    """What waits for the user among the cases they see: assigned to them or to their company/department,
    whistled to their department (until the case is resolved), open for claiming, or waiting at the desk
    (submitted, reopened, returned)."""
    from tongxin.cases.choices import CaseState as S

    scope = scope_for(user)
    q = Q(assignee_id=getattr(user, "pk", None)) | Q(
        state__in=[S.OPEN_FOR_CLAIMING, S.SUBMITTED, S.REOPENED, S.RETURNED]
    )
    if scope.property_company_ids:
        q |= Q(property_company_id__in=sorted(scope.property_company_ids))
    if scope.department_ids:
        from tongxin.cases.models import WhistleCall

        depts = sorted(scope.department_ids)
        q |= Q(department_id__in=depts) | Q(
            pk__in=WhistleCall.objects.filter(department_id__in=depts, active=True).values("case_id")
        )
    return q


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
