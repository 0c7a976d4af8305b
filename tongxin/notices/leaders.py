"""Leaders on places: assign and end (services), and the read helpers the pages, the roster and the cascade share.

A leader is a resident of the registry (so the roster, the household pages and their phone home page all speak of
the same person). A dual-registered cadre (双报到 在职党员) may hold a building next to a resident building leader:
the 双楼长 pair is simply two current building-leader assignments on one building, one with ``cadre`` set.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.notices.choices import ROLE_PLACE_KIND, LeaderRole
from tongxin.notices.models import LeaderAssignment
from tongxin.people.choices import ResidentStatus
from tongxin.people.models import Household, Resident
from tongxin.regions.models import Dwelling, Region


def _place_fields(place: Region) -> dict[str, Any]:
    ids = place.place_ids()
    if len(ids) < 4:
        raise ValidationError({"place": _("请选择楼栋或单元")})
    grid_id = place.grid_id
    if grid_id is None:  # an entrance saved before its building had a grid: take the building's
        grid_id = Region.objects.filter(pk=ids[3]).values_list("grid_id", flat=True).first()
    return {
        "subdistrict_id": ids[0],
        "community_id": ids[1],
        "estate_id": ids[2],
        "building_id": ids[3],
        "entrance_id": ids[4] if len(ids) > 4 else None,
        "grid_id": grid_id,
    }


def _is_dual_registered(resident: Resident) -> bool:
    from tongxin.party.choices import MemberType
    from tongxin.party.models import PartyMember

    return PartyMember.objects.filter(
        resident=resident, active=True, member_type=MemberType.DUAL_REGISTERED
    ).exists()


@transaction.atomic
def assign(
    actor: Any,
    *,
    role: str,
    resident: Resident,
    place: Region,
    floor: int | None = None,
    cadre: bool = False,
    started_on: dt.date | None = None,
) -> LeaderAssignment:
    """Make ``resident`` a leader of ``place`` (a building for building leaders, an entrance for the others).

    A cadre must be an active dual-registered party member; everyone else must live in the building they lead
    (楼长 are neighbours). A floor steward needs a floor."""
    if role not in LeaderRole.values:
        raise ValidationError({"role": _("未知的职责")})
    if place.kind != ROLE_PLACE_KIND[role]:
        raise ValidationError(
            {"place": _("%(role)s应任命在%(kind)s上") % {"role": LeaderRole(role).label, "kind": _kind(role)}}
        )
    fields = _place_fields(place)
    candidate = LeaderAssignment(
        role=role, resident=resident, place=place, floor=floor, cadre=cadre, **fields
    )
    policy.require(actor, "notices.assign_leader", candidate)
    if role == LeaderRole.FLOOR_STEWARD and floor is None:
        raise ValidationError({"floor": _("层管员需填写楼层")})
    if resident.status != ResidentStatus.ACTIVE:
        raise ValidationError({"resident": _("该居民不在住")})
    if cadre:
        if role != LeaderRole.BUILDING_LEADER:
            raise ValidationError({"cadre": _("下沉干部只担任楼栋长（双楼长）")})
        if not _is_dual_registered(resident):
            raise ValidationError({"cadre": _("下沉干部须为在册的双报到党员")})
    else:
        lives_in = (
            Dwelling.objects.filter(pk=resident.dwelling_id or 0)
            .values_list("building_id", flat=True)
            .first()
        )
        if lives_in != fields["building_id"]:
            raise ValidationError({"resident": _("楼栋长、单元长须为本楼栋居民（下沉干部除外）")})
    Region.objects.select_for_update().filter(pk=place.pk).first()  # one assignment at a time per place
    if LeaderAssignment.objects.filter(
        role=role, place=place, resident=resident, ended_on__isnull=True
    ).exists():
        raise ValidationError({"resident": _("该居民已担任此职责")})
    candidate.started_on = started_on or timezone.localdate()
    candidate.assigned_by = actor if getattr(actor, "is_authenticated", False) else None
    candidate.save()
    audit.record(
        AuditLog.Action.CREATE,
        candidate,
        actor=actor,
        after={"role": role, "resident": resident.pk, "place": place.pk, "floor": floor, "cadre": cadre},
    )
    _forget_leader(resident)
    return candidate


@transaction.atomic
def end(actor: Any, assignment: LeaderAssignment, ended_on: dt.date | None = None) -> LeaderAssignment:
    """End an assignment (kept for the record)."""
    locked = LeaderAssignment.objects.select_for_update().get(pk=assignment.pk)
    policy.require(actor, "notices.assign_leader", locked)
    if locked.ended_on is not None:
        raise ValidationError(_("该任职已结束"))
    locked.ended_on = ended_on or timezone.localdate()
    locked.save(update_fields=["ended_on"])
    audit.record(
        AuditLog.Action.UPDATE, locked, actor=actor, field="ended_on", before=None, after=str(locked.ended_on)
    )
    _forget_leader(locked.resident)
    return locked


def _kind(role: str) -> str:
    return _("楼栋") if ROLE_PLACE_KIND[role] == "building" else _("单元")


def _forget_leader(resident: Resident) -> None:
    user = getattr(resident, "user", None)
    if user is not None:
        for attr in ("_tongxin_led", "_tongxin_roles"):
            if hasattr(user, attr):
                delattr(user, attr)


# ------------------------------------------------------------------------------------------- read helpers
def current() -> QuerySet[LeaderAssignment]:
    return LeaderAssignment.objects.filter(ended_on__isnull=True)


@dataclass
class PlaceLeaders:
    """The current leaders of one building (and its entrances), as the pages show them."""

    building: list[LeaderAssignment] = field(default_factory=list)
    by_entrance: dict[int, list[LeaderAssignment]] = field(default_factory=lambda: defaultdict(list))

    @property
    def paired(self) -> bool:
        """双楼长: a cadre and a resident building leader on the same building."""
        kinds = {a.cadre for a in self.building}
        return kinds == {True, False}


def by_building(building_ids: Iterable[int]) -> dict[int, PlaceLeaders]:
    """Current leaders of the buildings (one query)."""
    out: dict[int, PlaceLeaders] = defaultdict(PlaceLeaders)
    qs = current().filter(building_id__in=list(building_ids)).select_related("resident", "place")
    for a in qs.order_by("building_id", "role", "entrance_id", "floor", "pk"):
        if a.role == LeaderRole.BUILDING_LEADER:
            out[a.building_id].building.append(a)
        else:
            out[a.building_id].by_entrance[a.entrance_id or 0].append(a)
    return out


def for_dwelling(dwelling: Dwelling) -> list[LeaderAssignment]:
    """The leaders a household turns to: its building's leaders, its entrance's, its floor's steward."""
    qs = current().filter(building_id=dwelling.building_id).select_related("resident", "place")
    return [
        a
        for a in qs.order_by("role", "pk")
        if a.role == LeaderRole.BUILDING_LEADER
        or (a.entrance_id == dwelling.entrance_id and (a.floor is None or a.floor == dwelling.floor))
    ]


def households_led(user: Any) -> QuerySet[Dwelling]:
    """The dwellings of the places ``user`` leads, for their home page (households listed per dwelling)."""
    from tongxin.notices.policy import led_by

    led = led_by(user)
    if not led:
        return Dwelling.objects.none()
    return Dwelling.objects.filter(led.q()).select_related("estate", "building", "entrance")


def household_heads(dwellings: Iterable[Dwelling]) -> dict[int, tuple[str, int]]:
    """``dwelling_id -> (head name, people)`` of the current household (two queries)."""
    ids = [d.pk for d in dwellings]
    heads: dict[int, tuple[str, int]] = {}
    rows = Household.objects.filter(dwelling_id__in=ids, ended_on__isnull=True).values_list(
        "pk", "dwelling_id", "head__name"
    )
    hh_to_dwelling = {}
    for hid, did, name in rows:
        hh_to_dwelling[hid] = did
        heads[did] = (name or "", 0)
    from django.db.models import Count

    counts = (
        Resident.objects.filter(household_id__in=list(hh_to_dwelling), status=ResidentStatus.ACTIVE)
        .values("household_id")
        .annotate(n=Count("pk"))
    )
    for row in counts:
        did = hh_to_dwelling[row["household_id"]]
        heads[did] = (heads[did][0], row["n"])
    return heads


def leader_label(a: LeaderAssignment) -> str:
    label = a.get_role_display()
    if a.role == LeaderRole.FLOOR_STEWARD and a.floor is not None:
        label = _("%(floor)s层层管员") % {"floor": a.floor}
    if a.cadre:
        label = _("%(label)s（下沉干部）") % {"label": label}
    return str(label)
