"""The demo community's places: estates, their buildings and where they stand, the grids that cut across them.

Figures follow the seeds: 满庭春社区 (仙桃) has 5 estates, 3 grids and about 30,000 residents; 大新社区's 富丰新城
has 20 buildings and about 2,800 households. Coordinates are plausible positions in 仙桃's west end
(lat ≈ 30.36, lon ≈ 113.43); they are not surveyed. 富丰新城 really is in 南海, but the demo puts both
communities under one subdistrict so one map shows them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# metres per degree at latitude 30°
M_PER_DEG_LAT = 110_850.0
M_PER_DEG_LON = 96_490.0


@dataclass(frozen=True)
class EstateSpec:
    name: str
    buildings: int
    floors: tuple[int, int]  # lowest and highest building
    entrances: int
    flats_per_floor: int  # per entrance
    centre: tuple[float, float]  # lat, lon
    grids: tuple[int, ...]  # grid sequence numbers; buildings are split west to east in this order
    occupancy: float  # share of dwellings with a household
    migrant_share: float


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    code: str
    estates: tuple[EstateSpec, ...]
    grid_names: tuple[str, ...]


CITY_NAME = "仙桃市"
CITY_CODE = "429004"
SUBDISTRICT_NAME = "干河街道"
SUBDISTRICT_CODE = "429004001"  # 6-digit 仙桃市 + 3-digit subdistrict

MANTINGCHUN = CommunitySpec(
    name="满庭春社区",
    code="001",
    grid_names=("第一网格", "第二网格", "第三网格"),
    estates=(
        EstateSpec("满庭春", 24, (11, 26), 3, 2, (30.3655, 113.4265), (1,), 0.94, 0.30),
        EstateSpec("城西花苑", 14, (6, 18), 3, 2, (30.3662, 113.4318), (1, 2), 0.93, 0.30),
        EstateSpec("世纪雅园", 18, (11, 24), 3, 2, (30.3622, 113.4338), (2,), 0.95, 0.25),
        EstateSpec("锦绣江山", 22, (18, 32), 3, 2, (30.3582, 113.4272), (3,), 0.93, 0.28),
        EstateSpec("御景城", 12, (11, 28), 3, 2, (30.3575, 113.4330), (3,), 0.92, 0.32),
    ),
)

DAXIN = CommunitySpec(
    name="大新社区",
    code="002",
    grid_names=("富丰新城第一网格", "富丰新城第二网格"),
    estates=(EstateSpec("富丰新城", 20, (16, 22), 2, 4, (30.3528, 113.4405), (1, 2), 0.92, 0.76),),
)

COMMUNITIES = (MANTINGCHUN, DAXIN)


def building_positions(spec: EstateSpec, count: int) -> list[tuple[float, float]]:
    """Buildings in rows about 45 m apart around the estate centre, listed column by column west to east."""
    cols = max(1, math.ceil(math.sqrt(count * 1.4)))
    rows = max(1, math.ceil(count / cols))
    lat0, lon0 = spec.centre
    spots = []
    for c in range(cols):
        for r in range(rows):
            dx = (c - (cols - 1) / 2) * 45.0
            dy = ((rows - 1) / 2 - r) * 40.0
            spots.append((round(lat0 + dy / M_PER_DEG_LAT, 6), round(lon0 + dx / M_PER_DEG_LON, 6)))
    return spots[:count]


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain on (x, y) points; counter-clockwise, without repeating the first point."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def grid_polygon(latlons: list[tuple[float, float]], margin_m: float = 25.0) -> dict:
    """A GeoJSON Polygon around the buildings of a grid: each building widened to a square, then the hull."""
    dlat, dlon = margin_m / M_PER_DEG_LAT, margin_m / M_PER_DEG_LON
    corners = []
    for lat, lon in latlons:
        for sy in (-1, 1):
            for sx in (-1, 1):
                corners.append((round(lon + sx * dlon, 6), round(lat + sy * dlat, 6)))
    ring = convex_hull(corners)
    ring.append(ring[0])  # GeoJSON rings are closed
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}
