"""Leaders in the grid roster (一表): the leader columns of the roster export and the "leaders" import kind.

people never imports notices (apps depend downward); instead this module registers itself with the hooks
``tongxin.people.imports.ROSTER_EXTRA`` and ``IMPORTERS`` when Django starts (``NoticesConfig.ready``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core import pii, policy
from tongxin.notices.choices import ROLE_PLACE_KIND, LeaderRole
from tongxin.notices.models import LeaderAssignment

ROSTER_HEADERS = ["楼栋长", "单元长", "层管员", "党员中心户"]
ROLE_TEXT: dict[str, str] = {
    "楼栋长": LeaderRole.BUILDING_LEADER,
    "楼长": LeaderRole.BUILDING_LEADER,
    "单元长": LeaderRole.ENTRANCE_LEADER,
    "层管员": LeaderRole.FLOOR_STEWARD,
    "党员中心户": LeaderRole.PARTY_HOUSEHOLD_LEADER,
}
YES = {"是", "y", "yes", "1", "true", "√"}


def roster_values(dwellings: list[Any]) -> dict[int, list[Any]]:
    """Per dwelling: its building leaders (双楼长 both), entrance leader, its floor's steward, party household
    leaders of its entrance. One query."""
    places = [(d.pk, d.building_id, d.entrance_id, d.floor) for d in dwellings]
    buildings = {b for _, b, _, _ in places}
    found: dict[tuple, list[str]] = defaultdict(list)
    rows = (
        LeaderAssignment.objects.filter(ended_on__isnull=True, building_id__in=buildings)
        .order_by("role", "-cadre", "pk")
        .values_list("role", "building_id", "entrance_id", "floor", "cadre", "resident__name")
    )
    for role, b, e, floor, cadre, name in rows:
        label = f"{name}（下沉干部）" if cadre else name
        if role == LeaderRole.BUILDING_LEADER:
            found[(role, b)].append(label)
        elif role == LeaderRole.FLOOR_STEWARD:
            found[(role, e, floor)].append(label)
        else:
            found[(role, e)].append(label)
    out = {}
    for pk, b, e, floor in places:
        out[pk] = [
            "、".join(found.get((LeaderRole.BUILDING_LEADER, b), [])),
            "、".join(found.get((LeaderRole.ENTRANCE_LEADER, e), [])),
            "、".join(found.get((LeaderRole.FLOOR_STEWARD, e, floor), [])),
            "、".join(found.get((LeaderRole.PARTY_HOUSEHOLD_LEADER, e), [])),
        ]
    return out


def import_leaders(ctx: Any, table: Any, index: dict[str, int]) -> Callable[[Any], None]:
    """Rows: 小区, 楼栋, 单元 (blank for a building leader), 楼层 (层管员), 职责, 身份证号, 下沉干部 (是/否)."""
    from tongxin.party.choices import MemberType
    from tongxin.party.models import PartyMember
    from tongxin.people.imports import BUILDING_SUFFIX, _rows
    from tongxin.people.models import Resident
    from tongxin.regions.models import Region

    err = ctx.errors.add
    parsed: list[tuple[int, str, int, int | None, bool, str]] = []  # row, role, place, floor, cadre, hash
    for n, (row, get) in enumerate(_rows(table, index), 1):
        ctx.progress(n)
        role = ROLE_TEXT.get(get("role"))
        if role is None:
            err(
                row,
                "职责",
                _("职责“%(v)s”无效，应为 楼栋长、单元长、层管员 或 党员中心户") % {"v": get("role")},
            )
            continue
        estate, building, entrance = get("estate"), get("building"), get("entrance")
        place_id: int | None = None
        if ROLE_PLACE_KIND[role] == "entrance":
            if not entrance:
                err(row, "单元", _("单元长、层管员、党员中心户须填写单元"))
                continue
            found = ctx.places.resolve(estate, building, entrance)
            if isinstance(found[0], str):
                err(row, found[0], found[1])
                continue
            place_id = found[4]
        else:
            estates = [e for e in ctx.places.estates.get(estate, []) if e in ctx.places.allowed]
            if len(set(estates)) != 1:
                err(row, "小区", _("小区“%(e)s”不存在或不在您的管辖范围内") % {"e": estate})
                continue
            place_id = ctx.places.buildings.get((estates[0], building)) or ctx.places.buildings.get(
                (estates[0], BUILDING_SUFFIX.sub("", building))
            )
            if place_id is None:
                err(row, "楼栋", _("%(e)s没有楼栋“%(b)s”") % {"e": estate, "b": building})
                continue
        floor = None
        if get("floor"):
            try:
                floor = int(get("floor"))
            except ValueError:
                err(row, "楼层", _("楼层应为整数"))
                continue
        if role == LeaderRole.FLOOR_STEWARD and floor is None:
            err(row, "楼层", _("层管员需填写楼层"))
            continue
        try:
            id_hash = pii.lookup_hash(pii.parse_id_number(get("id_number")).number)
        except pii.PIIError as e:
            err(row, "身份证号", str(e))
            continue
        parsed.append((row, role, place_id, floor, get("cadre").strip().lower() in YES, id_hash))
    hashes = {p[5] for p in parsed}
    residents = {
        r.id_number_hash: r
        for r in Resident.objects.filter(id_number_hash__in=hashes, status="active").select_related(
            "dwelling"
        )
    }
    dual = set(
        PartyMember.objects.filter(
            resident__id_number_hash__in=hashes, active=True, member_type=MemberType.DUAL_REGISTERED
        ).values_list("resident_id", flat=True)
    )
    regions = {r.pk: r for r in Region.objects.filter(pk__in={p[2] for p in parsed})}
    existing = set(
        LeaderAssignment.objects.filter(ended_on__isnull=True, place_id__in=list(regions)).values_list(
            "role", "place_id", "resident_id"
        )
    )
    from tongxin.notices.leaders import _place_fields

    new: list[LeaderAssignment] = []
    seen: set[tuple[str, int, int]] = set()
    for row, role, place_id, floor, cadre, id_hash in parsed:
        resident = residents.get(id_hash)
        if resident is None:
            err(row, "身份证号", _("登记中没有这位在住居民"))
            continue
        place = regions[place_id]
        fields = _place_fields(place)
        if cadre and (role != LeaderRole.BUILDING_LEADER or resident.pk not in dual):
            err(row, "下沉干部", _("下沉干部须为在册的双报到党员，且只担任楼栋长"))
            continue
        if not cadre and (
            resident.dwelling is None or resident.dwelling.building_id != fields["building_id"]
        ):
            err(row, "身份证号", _("楼栋长、单元长须为本楼栋居民（下沉干部除外）"))
            continue
        key = (role, place_id, resident.pk)
        if key in existing or key in seen:
            continue  # unchanged
        seen.add(key)
        candidate = LeaderAssignment(
            role=role,
            resident=resident,
            place=place,
            floor=floor,
            cadre=cadre,
            assigned_by=ctx.user,
            **fields,
        )
        if not policy.can(ctx.user, "notices.assign_leader", candidate):
            err(row, "小区", _("不在您的管辖范围内"))
            continue
        new.append(candidate)

    def write(writer: Any) -> None:
        LeaderAssignment.objects.bulk_create(new, batch_size=1000)
        ctx.count("created", len(new))

    return write


def install() -> None:
    from tongxin.people import imports

    if "leaders" not in imports.KINDS:
        imports.KINDS["leaders"] = imports.KindSpec(
            "leaders",
            gettext_lazy("楼栋长、单元长"),
            [
                imports.Column("小区", "estate", True, "锦绣江山"),
                imports.Column("楼栋", "building", True, "3栋"),
                imports.Column("单元", "entrance", False, "2单元"),
                imports.Column("楼层", "floor", False, ""),
                imports.Column("职责", "role", True, "单元长"),
                imports.Column("身份证号", "id_number", True, "429004198001010015"),
                imports.Column("下沉干部", "cadre", False, "否"),
            ],
        )
        imports.IMPORTERS["leaders"] = import_leaders
    if not any(x.values is roster_values for x in imports.ROSTER_EXTRA):
        imports.ROSTER_EXTRA.append(imports.RosterColumns(ROSTER_HEADERS, roster_values))
