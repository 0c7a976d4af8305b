"""Registry search shared by the staff UI and the API.

One box understands: a name or its beginning (``张``, ``张三``), the last 4 digits of an id number or phone
(``1234``), a whole id number or phone (exact, through the keyed hash), and an address such as
``锦绣江山3栋2单元501`` or ``满庭春小区 5号楼``. Every branch is an indexed lookup, so it stays fast over millions
of residents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from tongxin.core import pii
from tongxin.regions.address import resolve_address

DIGITS = re.compile(r"^\d+[\dXx]?$")


@dataclass(frozen=True)
class ResidentFilters:
    q: str = ""
    tags: tuple[str, ...] = ()
    residence_status: str = ""
    member_type: str = ""
    grid_id: int | None = None
    region_id: int | None = None
    status: str = "active"


def search_residents(qs: QuerySet, f: ResidentFilters, *, tag_levels: list[str] | None = None) -> QuerySet:
    """Apply the search box and filters to an already scoped resident queryset. ``tag_levels``: the tag
    sensitivities the user may filter by (None: all)."""
    text = (f.q or "").strip()
    if text:
        qs = qs.filter(_text_q(text))
    if f.status:
        qs = qs.filter(status=f.status)
    if f.residence_status:
        qs = qs.filter(residence_status=f.residence_status)
    tags = [t for t in f.tags if t]
    if tags:
        from tongxin.people.models import Tag

        allowed = Tag.objects.filter(code__in=tags)
        if tag_levels is not None:
            allowed = allowed.filter(sensitivity__in=tag_levels)
        for tag_id in allowed.values_list("id", flat=True):
            qs = qs.filter(tags__id=tag_id)
        if len(tags) != len(list(allowed.values_list("id", flat=True))):
            qs = qs.none()  # an unknown or forbidden tag matches nobody rather than being ignored
    if f.member_type:
        qs = qs.filter(party_member__member_type=f.member_type, party_member__active=True)
    if f.grid_id:
        qs = qs.filter(dwelling__grid_id=f.grid_id)
    if f.region_id:
        from tongxin.regions.models import Region

        region = Region.objects.filter(pk=f.region_id).only("kind").first()
        qs = qs.filter(**{f"dwelling__{region.kind}_id": region.pk}) if region else qs.none()
    return qs


def _text_q(text: str) -> Q:
    compact = re.sub(r"\s+", "", text)
    if DIGITS.match(compact):
        if len(compact) == 4:
            return Q(id_last4=compact.upper()) | Q(phone_last4=compact)
        if len(compact) == 18:
            return Q(id_number_hash=pii.lookup_hash(compact))
        if len(compact) in (11, 12):
            try:
                return Q(phone_hash=pii.lookup_hash(pii.normalise_phone(compact)))
            except pii.PIIError:
                return Q(pk__in=[])
        return Q(pk__in=[])
    place = resolve_address(compact)
    if place.found:
        if place.dwelling is not None:
            return Q(dwelling_id=place.dwelling.pk)  # type: ignore[attr-defined]
        if place.entrance is not None:
            return Q(dwelling__entrance_id=place.entrance.pk)  # type: ignore[attr-defined]
        if place.building is not None:
            return Q(dwelling__building_id=place.building.pk)  # type: ignore[attr-defined]
        return Q(dwelling__estate_id=place.estate.pk)  # type: ignore[attr-defined]
    return Q(name__startswith=compact)
