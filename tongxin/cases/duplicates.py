"""Likely duplicates shown at intake.

A candidate is an *open* case of the last ``CASES_DUPLICATE_DAYS`` days (default 14) that the caller may see, in the
same category (when one is known), at the same building, or within ``CASES_DUPLICATE_RADIUS_M`` metres (default
300) of the given point. Candidates are ranked by the similarity of their text (Jaccard index of character
bigrams) plus a bonus for the same building / the same dwelling; those under ``CASES_DUPLICATE_MIN_SCORE``
(default 0.25) are dropped. At most 200 candidates are read, newest first, so the cost is bounded at any size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tongxin.cases.suggest import normalise

EARTH_RADIUS_M = 6_371_000.0
MAX_CANDIDATES = 200


def days() -> int:
    return int(getattr(settings, "CASES_DUPLICATE_DAYS", 14))


def radius_m() -> float:
    return float(getattr(settings, "CASES_DUPLICATE_RADIUS_M", 300))


def min_score() -> float:
    return float(getattr(settings, "CASES_DUPLICATE_MIN_SCORE", 0.25))


def bigrams(text: str) -> set[str]:
    s = normalise(text).replace(" ", "")
    if len(s) < 2:
        return {s} if s else set()
    return {s[i : i + 2] for i in range(len(s) - 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bounding_box(lat: float, lon: float, radius: float) -> tuple[float, float, float, float]:
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = math.degrees(radius / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@dataclass(frozen=True)
class Duplicate:
    case: Any
    score: float
    similarity: float
    reason: str  # "dwelling", "building" or "nearby"
    distance_m: float | None

    def as_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.pk,
            "number": c.number,
            "state": c.state,
            "category": c.category.service_code if c.category_id else None,
            "submitted_at": c.submitted_at.isoformat() if c.submitted_at else None,
            "description": (c.description or "")[:120],
            "score": round(self.score, 3),
            "similarity": round(self.similarity, 3),
            "reason": self.reason,
            "distance_m": None if self.distance_m is None else round(self.distance_m),
        }


def likely_duplicates(
    user: Any,
    *,
    text: str,
    category: Any = None,
    dwelling: Any = None,
    building: Any = None,
    latitude: float | None = None,
    longitude: float | None = None,
    exclude_pk: int | None = None,
    limit: int = 5,
) -> list[Duplicate]:
    """Open cases visible to ``user`` that probably report the same problem (best first)."""
    from tongxin.cases.choices import OPEN_STATES
    from tongxin.cases.models import Case

    building_id = getattr(building, "pk", building) or getattr(dwelling, "building_id", None)
    dwelling_id = getattr(dwelling, "pk", dwelling)
    if latitude is None and building is not None and not isinstance(building, int):
        latitude, longitude = building.latitude, building.longitude
    where = Q()
    if building_id:
        where |= Q(building_id=building_id)
    if latitude is not None and longitude is not None:
        lat0, lat1, lon0, lon1 = bounding_box(latitude, longitude, radius_m())
        where |= Q(latitude__range=(lat0, lat1), longitude__range=(lon0, lon1))
    if not where:
        return []
    qs = Case.objects.visible_to(user).filter(
        where, state__in=list(OPEN_STATES), submitted_at__gte=timezone.now() - timedelta(days=days())
    )
    if category is not None:
        qs = qs.filter(category=category)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    candidates = list(qs.select_related("category").order_by("-submitted_at")[:MAX_CANDIDATES])
    mine = bigrams(text)
    found: list[Duplicate] = []
    for c in candidates:
        sim = jaccard(mine, bigrams(c.description))
        dist = None
        if latitude is not None and c.latitude is not None and c.longitude is not None:
            dist = distance_m(latitude, longitude, c.latitude, c.longitude)  # type: ignore[arg-type]
        if dwelling_id and c.dwelling_id == dwelling_id:
            reason, bonus = "dwelling", 0.2
        elif building_id and c.building_id == building_id:
            reason, bonus = "building", 0.1
        elif dist is not None and dist <= radius_m():
            reason, bonus = "nearby", 0.1 * (1 - dist / radius_m())
        else:
            continue
        score = sim + bonus
        if score >= min_score():
            found.append(Duplicate(c, score, sim, reason, dist))
    found.sort(key=lambda d: (-d.score, -d.case.pk))
    return found[:limit]
