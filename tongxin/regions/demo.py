"""Regions' part of the demo foundation: 干河街道 with 满庭春社区 (5 estates, 3 grids) and 大新社区 (富丰新城),
their buildings, entrances and dwellings, grid polygons, the departments and the property companies.

``foundation(ctx)`` leaves in ``ctx.data``: ``subdistrict``, ``communities`` / ``estates`` (name -> Region),
``grids`` (community name -> grids), ``buildings`` (community name -> :class:`BuildingInfo`, whose ``residents``
the people step fills), ``departments`` (short name -> Department) and ``property_company`` (满庭春's).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tongxin.core.demo import DemoContext, fast_insert
from tongxin.regions import demo_data
from tongxin.regions.models import Department, Dwelling, Grid, PropertyCompany, Region

DEPARTMENTS = (
    ("城市管理局", "城管"),
    ("住房和城乡建设局", "住建"),
    ("公安派出所", "公安"),
    ("教育局", "教育"),
    ("卫生健康委员会", "卫健"),
    ("民政局", "民政"),
)
PROPERTY_COMPANY = "满庭春第一物业服务公司"
PROPERTY_HOTLINE = "400-000-1715"  # fake number: the 24-hour line of seed 000 and its 1715 rule
FUFENG_PROPERTY = "富丰新城物业服务中心"


@dataclass
class BuildingInfo:
    region: Region
    estate: Region
    grid: Grid
    community: Region
    entrances: list[Region] = field(default_factory=list)
    dwellings: list[Dwelling] = field(default_factory=list)
    residents: list[Any] = field(default_factory=list)  # people.Resident, filled by the people step


def foundation(ctx: DemoContext) -> None:
    loader = RegionsLoader(ctx)
    ctx.timed("places", loader._places)
    ctx.timed("units", loader._units)


class RegionsLoader:
    def __init__(self, ctx: DemoContext) -> None:
        self.rng, self.scale, self.out = ctx.rng, ctx.scale, ctx.out
        self.buildings: dict[str, list[BuildingInfo]] = ctx.data.setdefault("buildings", defaultdict(list))
        self.communities: dict[str, Region] = ctx.data.setdefault("communities", {})
        self.grids: dict[str, list[Grid]] = ctx.data.setdefault("grids", {})
        self.estates: dict[str, Region] = ctx.data.setdefault("estates", {})
        self.ctx = ctx

    def _places(self) -> None:
        # 仙桃市 (a county-level city: its subdistricts sit right under it) above 干河街道, with a second, quiet
        # subdistrict so the city's dashboard has subdistricts to rank (issue 15)
        city = Region.objects.create(
            kind=Region.Kind.CITY, name=demo_data.CITY_NAME, code=demo_data.CITY_CODE
        )
        self.ctx.data["city"] = city
        sub = Region.objects.create(
            kind=Region.Kind.SUBDISTRICT,
            name=demo_data.SUBDISTRICT_NAME,
            code=demo_data.SUBDISTRICT_CODE,
            latitude=30.3610,
            longitude=113.4320,
            parent=city,
        )
        neighbour = Region.objects.create(
            kind=Region.Kind.SUBDISTRICT, name="龙华山街道", code="429004002", parent=city
        )
        Region.objects.create(kind=Region.Kind.COMMUNITY, name="龙华山社区", code="001", parent=neighbour)
        self.subdistrict = self.ctx.data["subdistrict"] = sub
        root = math.sqrt(self.scale)
        for cspec in demo_data.COMMUNITIES:
            lat = sum(e.centre[0] for e in cspec.estates) / len(cspec.estates)
            lon = sum(e.centre[1] for e in cspec.estates) / len(cspec.estates)
            community = Region.objects.create(
                kind=Region.Kind.COMMUNITY,
                name=cspec.name,
                code=cspec.code,
                parent=sub,
                latitude=round(lat, 6),
                longitude=round(lon, 6),
            )
            self.communities[cspec.name] = community
            grids = [
                Grid.objects.create(community=community, name=gname, code=Grid.build_code(community, i + 1))
                for i, gname in enumerate(cspec.grid_names)
            ]
            self.grids[cspec.name] = grids
            grid_points: dict[int, list[tuple[float, float]]] = defaultdict(list)
            for espec in cspec.estates:
                estate = Region.objects.create(
                    kind=Region.Kind.ESTATE,
                    name=espec.name,
                    parent=community,
                    latitude=espec.centre[0],
                    longitude=espec.centre[1],
                )
                self.estates[espec.name] = estate
                count = max(3, round(espec.buildings * root))
                lo, hi = (max(2, round(f * root)) for f in espec.floors)
                positions = demo_data.building_positions(espec, count)
                # split the buildings west to east into the estate's grids
                chunk = math.ceil(count / len(espec.grids))
                for b in range(count):
                    grid = grids[espec.grids[b // chunk] - 1]
                    lat_b, lon_b = positions[b]
                    grid_points[grid.pk].append((lat_b, lon_b))
                    building = Region.objects.create(
                        kind=Region.Kind.BUILDING,
                        name=f"{b + 1}栋",
                        number=str(b + 1),
                        parent=estate,
                        grid=grid,
                        latitude=lat_b,
                        longitude=lon_b,
                    )
                    info = BuildingInfo(building, estate, grid, community)
                    floors = self.rng.randint(lo, hi)
                    areas = [
                        Decimal(f"{self.rng.uniform(60, 140):.2f}") for _ in range(espec.flats_per_floor)
                    ]
                    for e in range(espec.entrances):
                        entrance = Region(
                            kind=Region.Kind.ENTRANCE, name=f"{e + 1}单元", number=str(e + 1), parent=building
                        )
                        entrance.grid_id = grid.pk
                        entrance.save()
                        info.entrances.append(entrance)
                        for floor in range(1, floors + 1):
                            for flat in range(espec.flats_per_floor):
                                d = Dwelling(
                                    number=f"{floor}{flat + 1:02d}", floor=floor, floor_area=areas[flat]
                                )
                                d.place_under(entrance)
                                info.dwellings.append(d)
                    self.buildings[cspec.name].append(info)
            for grid in grids:
                grid.polygon = demo_data.grid_polygon(grid_points[grid.pk])
                grid.save(update_fields=["polygon"])
        all_dwellings = [d for infos in self.buildings.values() for i in infos for d in i.dwellings]
        fast_insert(Dwelling, all_dwellings)
        self.out.write(
            f"places: {sum(len(v) for v in self.buildings.values())} buildings, {len(all_dwellings)} dwellings"
        )

    def _units(self) -> None:
        self.departments = self.ctx.data["departments"] = {
            short: Department.objects.create(subdistrict=self.subdistrict, name=name, short_name=short)
            for name, short in DEPARTMENTS
        }
        self.property_company = self.ctx.data["property_company"] = PropertyCompany.objects.create(
            name=PROPERTY_COMPANY, hotline=PROPERTY_HOTLINE, has_party_branch=True
        )
        self.property_company.estates.add(self.estates["满庭春"])
        other = PropertyCompany.objects.create(name=FUFENG_PROPERTY, hotline="400-000-2800")
        other.estates.add(self.estates["富丰新城"])
