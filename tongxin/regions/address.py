"""Address text → estate, building, entrance, dwelling.

Accepts what staff and callers actually type: ``锦绣江山3栋2单元501``, ``满庭春小区 5号楼``,
``富丰新城12幢1单元1203室``, ``世纪雅园3-2-501``. Estate names are matched against the registry (longest
name that the text starts with, with or without the 小区 suffix), so no word list is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tongxin.core.memo import Memo

# The estates every address is matched against, and the building / entrance looked up by number under an estate
# (only for lookups over the whole registry): forgotten when a region is saved or deleted (regions/apps.py).
PLACES = Memo("regions-address-places", ttl=60.0)

ADDRESS_TAIL = re.compile(
    r"^\s*(?:小区)?\s*"
    r"(?:(?P<building>\d+)\s*(?:栋|幢|号楼|号|楼|座|-))?\s*"
    r"(?:(?P<entrance>\d+)\s*(?:单元|门|-))?\s*"
    r"(?:(?P<dwelling>\d+)\s*(?:室|号|房)?)?\s*$"
)


@dataclass(frozen=True)
class ParsedAddress:
    estate_text: str
    building: str | None
    entrance: str | None
    dwelling: str | None


def split_address(text: str, estate_names: list[str]) -> ParsedAddress | None:
    """Split ``text`` into estate name and building/entrance/dwelling numbers, or None if it fits no estate."""
    cleaned = re.sub(r"\s+", "", text or "")
    if not cleaned:
        return None
    for name in sorted(estate_names, key=len, reverse=True):
        bare = name.removesuffix("小区")
        for candidate in (name, bare):
            if candidate and cleaned.startswith(candidate):
                m = ADDRESS_TAIL.match(cleaned[len(candidate) :])
                if m:
                    return ParsedAddress(name, m.group("building"), m.group("entrance"), m.group("dwelling"))
    return None


@dataclass(frozen=True)
class Resolution:
    """The most precise place an address resolved to; less precise parts are filled in from it."""

    estate: object | None = None
    building: object | None = None
    entrance: object | None = None
    dwelling: object | None = None

    @property
    def found(self) -> bool:
        return self.estate is not None

    @property
    def level(self) -> str:
        for name in ("dwelling", "entrance", "building", "estate"):
            if getattr(self, name) is not None:
                return name
        return ""


def resolve_address(text: str, estates: object | None = None) -> Resolution:
    """Resolve address text against the registry in at most 3 small indexed queries: the estates (a short
    list), the entrance with its building (or the building alone), and the dwelling.

    ``estates`` is an optional queryset of estates to search (e.g. the user's visible regions).
    """
    from tongxin.regions.models import Dwelling, Region, RegionKind

    if estates is None:
        candidates: list[Any] = PLACES.get("estates", _all_estates)
    else:
        candidates = list(estates.filter(kind=RegionKind.ESTATE))  # type: ignore[attr-defined]
    parsed = split_address(text, [e.name for e in candidates])
    if parsed is None:
        return Resolution()
    estate = next(e for e in candidates if e.name == parsed.estate_text)
    if not parsed.building:
        return Resolution(estate=_own(estate, estates))
    entrance = None
    if parsed.entrance:
        b_no, e_no = parsed.building, parsed.entrance

        def find_entrance() -> Any:
            return (
                Region.objects.filter(
                    kind=RegionKind.ENTRANCE,
                    number=e_no,
                    parent__kind=RegionKind.BUILDING,
                    parent__number=b_no,
                    parent__parent=estate,
                )
                .select_related("parent")
                .first()
            )

        entrance = (
            PLACES.get(("entrance", estate.pk, b_no, e_no), find_entrance, copy=True)
            if estates is None
            else find_entrance()
        )
    building = entrance.parent if entrance is not None else None
    if building is None:
        b_no = parsed.building

        def find_building() -> Any:
            return Region.objects.filter(parent=estate, kind=RegionKind.BUILDING, number=b_no).first()

        building = (
            PLACES.get(("building", estate.pk, b_no), find_building, copy=True)
            if estates is None
            else find_building()
        )
    if building is None:
        return Resolution(estate=_own(estate, estates))
    dwelling = None
    if parsed.dwelling:
        dq = Dwelling.objects.filter(building=building, number=parsed.dwelling)
        if entrance is not None:
            dq = dq.filter(entrance=entrance)
        matches = list(dq.select_related("entrance")[:2])
        if len(matches) == 1:
            dwelling = matches[0]
            entrance = entrance or dwelling.entrance
    return Resolution(estate=_own(estate, estates), building=building, entrance=entrance, dwelling=dwelling)


def _all_estates() -> list[Any]:
    from tongxin.regions.models import Region, RegionKind

    return list(Region.objects.filter(kind=RegionKind.ESTATE))


def _own(estate: Any, estates: object | None) -> Any:
    """The caller's own copy of a memoised estate."""
    import copy

    return copy.copy(estate) if estates is None else estate
