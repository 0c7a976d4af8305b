"""The places API: region tree, grids, dwellings and address resolution, per role and within scope."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.core.models import ApiToken
from tongxin.regions.models import Dwelling, Grid, Region

ROLES = ("admin", "staff_a", "staff_b", "grid_1", "grid_3", "property", "department", "volunteer", "resident")


def api(user) -> Client:
    _token, key = ApiToken.issue(user, "test")
    return Client(headers={"authorization": f"Bearer {key}"})


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(item["name"] for item in response.json()["items"])


def add_dwellings(world, count: int) -> None:
    """More buildings, entrances and dwellings in grid 1, so page sizes make a difference."""
    for i in range(count):
        b = Region.objects.create(
            kind="building", name=f"{20 + i}栋", number=str(20 + i), parent=world.estate_a, grid=world.grid_1
        )
        e = Region.objects.create(kind="entrance", name="1单元", number="1", parent=b)
        d = Dwelling(number="101", floor=1)
        d.place_under(e)
        d.save()


def test_each_role_lists_the_region_nodes_it_may_see(world):
    # given the world: community A (锦绣江山, grids 1 and 2) and community B (富丰新城, grid 3)
    places = ("admin", "staff_a", "staff_b", "grid_1", "grid_3", "property")
    seen = {role: names(api(world.users[role]).get("/api/v1/regions/?page_size=200")) for role in places}
    # then the subdistrict admin sees the whole tree, community staff their community's subtree
    assert seen["admin"] == sorted(
        [
            "干河街道",
            "满庭春社区",
            "大新社区",
            "锦绣江山",
            "富丰新城",
            "3栋",
            "5栋",
            "12栋",
            "2单元",
            "2单元",
            "2单元",
        ]
    )
    assert seen["staff_a"] == sorted(["满庭春社区", "锦绣江山", "3栋", "5栋", "2单元", "2单元"])
    assert seen["staff_b"] == sorted(["大新社区", "富丰新城", "12栋", "2单元"])
    # a grid worker the buildings of their grid and their entrances, property staff their estates
    assert seen["grid_1"] == ["2单元", "3栋"]
    assert seen["grid_3"] == ["12栋", "2单元"]
    assert seen["property"] == sorted(["锦绣江山", "3栋", "5栋", "2单元", "2单元"])
    # departments, volunteers and residents have no region tree at all
    for role in ("department", "volunteer", "resident"):
        assert api(world.users[role]).get("/api/v1/regions/").status_code == 404, role


def test_region_filters_and_detail(world):
    client = api(world.users["staff_a"])
    # when filtering by kind and by parent
    assert names(client.get("/api/v1/regions/?kind=building")) == ["3栋", "5栋"]
    assert names(client.get(f"/api/v1/regions/?parent={world.community_a.pk}")) == ["锦绣江山"]
    # then a bad kind is a 422 naming the parameter
    bad = client.get("/api/v1/regions/?kind=planet")
    assert bad.status_code == 422 and bad.json()["field"] == "kind"
    # and a node's detail carries its visible ancestors and children
    building = Region.objects.get(name="3栋")
    body = client.get(f"/api/v1/regions/{building.pk}").json()
    assert body["kind"] == "building" and body["grid_id"] == world.grid_1.pk
    assert [a["name"] for a in body["ancestors"]] == ["满庭春社区", "锦绣江山"]  # not the subdistrict
    assert [c["name"] for c in body["children"]] == ["2单元"]


def test_region_outside_scope_is_404(world):
    # given nodes of community B and the estate of grid 1
    b_building = Region.objects.get(name="12栋")
    # then community staff A get 404; grid worker 1 may open the estate above his building (the way there, as
    # on the region pages) but not a building of another grid
    assert api(world.users["staff_a"]).get(f"/api/v1/regions/{b_building.pk}").status_code == 404
    assert api(world.users["grid_1"]).get(f"/api/v1/regions/{world.estate_a.pk}").status_code == 200
    other = Region.objects.get(name="5栋")
    assert api(world.users["grid_1"]).get(f"/api/v1/regions/{other.pk}").status_code == 404
    assert api(world.users["department"]).get(f"/api/v1/regions/{world.subdistrict.pk}").status_code == 404
    assert api(world.users["staff_a"]).get("/api/v1/regions/999999").status_code == 404


def test_each_role_lists_the_grids_it_may_see(world):
    grids = {
        role: names(api(world.users[role]).get("/api/v1/regions/grids/"))
        for role in ("admin", "staff_a", "staff_b", "grid_1", "grid_3")
    }
    assert grids["admin"] == sorted(["第一网格", "第二网格", "富丰第一网格"])
    assert grids["staff_a"] == sorted(["第一网格", "第二网格"])
    assert grids["staff_b"] == ["富丰第一网格"]
    assert grids["grid_1"] == ["第一网格"]
    assert grids["grid_3"] == ["富丰第一网格"]
    # grids are the registry's units: property staff, departments and residents have none
    for role in ("property", "department", "resident"):
        assert api(world.users[role]).get("/api/v1/regions/grids/").status_code == 404, role


def test_grid_detail_has_code_chief_workers_buildings_polygon(world):
    # given grid 1 with a chief and a polygon
    world.grid_1.chief = world.users["grid_1"]
    world.grid_1.polygon = {"type": "Polygon", "coordinates": [[[113.1, 30.6], [113.2, 30.6], [113.2, 30.7]]]}
    world.grid_1.save()
    # when its grid worker fetches it
    body = api(world.users["grid_1"]).get(f"/api/v1/regions/grids/{world.grid_1.pk}").json()
    # then everything is there
    assert body["code"] == world.grid_1.code and len(body["code"]) == 15 and body["code"].isdigit()
    assert body["community"] == {"id": world.community_a.pk, "name": "满庭春社区"}
    assert body["chief"] == {"id": world.users["grid_1"].pk, "name": "grid_1"}
    assert body["workers"] == [{"id": world.users["grid_1"].pk, "name": "grid_1"}]
    assert [b["name"] for b in body["buildings"]] == ["3栋"]
    assert body["buildings"][0]["estate_id"] == world.estate_a.pk
    assert body["polygon"]["type"] == "Polygon"
    # and another grid is 404 for them, and for community staff of the other community
    assert api(world.users["grid_1"]).get(f"/api/v1/regions/grids/{world.grid_3.pk}").status_code == 404
    assert api(world.users["staff_b"]).get(f"/api/v1/regions/grids/{world.grid_1.pk}").status_code == 404


def test_dwellings_are_scoped_and_filtered(world):
    a1, a2, b1 = world.dwellings["a1"], world.dwellings["a2"], world.dwellings["b1"]

    def ids(client: Client, query: str = "") -> list[int]:
        response = client.get(f"/api/v1/regions/dwellings/{query}")
        assert response.status_code == 200
        return sorted(d["id"] for d in response.json()["items"])

    admin, grid_1 = api(world.users["admin"]), api(world.users["grid_1"])
    # then each role sees the dwellings of its scope
    assert ids(admin) == sorted([a1.pk, a2.pk, b1.pk])
    assert ids(grid_1) == [a1.pk]
    assert ids(api(world.users["property"])) == sorted([a1.pk, a2.pk])
    assert api(world.users["volunteer"]).get("/api/v1/regions/dwellings/").status_code == 404
    # and the filters narrow it down
    assert ids(admin, f"?grid={world.grid_3.pk}") == [b1.pk]
    assert ids(admin, f"?building={a2.building_id}") == [a2.pk]
    assert ids(admin, f"?entrance={a1.entrance_id}") == [a1.pk]
    assert ids(admin, f"?estate={world.estate_a.pk}") == sorted([a1.pk, a2.pk])
    assert ids(grid_1, f"?grid={world.grid_3.pk}") == []
    # and one dwelling shows its address and floor area; out of scope it is 404
    body = grid_1.get(f"/api/v1/regions/dwellings/{a1.pk}").json()
    assert body["address"] == "锦绣江山3栋2单元501" and body["floor_area"] == 89.5
    assert grid_1.get(f"/api/v1/regions/dwellings/{a2.pk}").status_code == 404


def test_resolve_address_within_scope(world):
    admin, grid_1 = api(world.users["admin"]), api(world.users["grid_1"])
    # when an address is resolved down to the dwelling
    body = admin.get("/api/v1/regions/resolve", {"address": "锦绣江山3栋2单元501"}).json()
    # then estate, building, entrance and dwelling are named
    assert body["level"] == "dwelling"
    assert body["estate"]["name"] == "锦绣江山" and body["building"]["name"] == "3栋"
    assert body["entrance"]["name"] == "2单元" and body["dwelling"]["id"] == world.dwellings["a1"].pk
    # and shorter forms resolve to the most precise level given
    assert admin.get("/api/v1/regions/resolve", {"address": "富丰新城 12幢"}).json()["level"] == "building"
    assert admin.get("/api/v1/regions/resolve", {"address": "锦绣江山小区"}).json()["level"] == "estate"
    # a grid worker resolves addresses in their grid, even though they do not see the whole estate
    assert grid_1.get("/api/v1/regions/resolve", {"address": "锦绣江山3-2-501"}).json()["level"] == "dwelling"
    # but another grid's dwelling, another community's estate, or an unknown place is 404
    assert grid_1.get("/api/v1/regions/resolve", {"address": "锦绣江山5栋2单元501"}).status_code == 404
    assert grid_1.get("/api/v1/regions/resolve", {"address": "锦绣江山5栋"}).status_code == 404
    assert (
        api(world.users["staff_b"]).get("/api/v1/regions/resolve", {"address": "锦绣江山"}).status_code == 404
    )
    assert admin.get("/api/v1/regions/resolve", {"address": "不存在花园1栋"}).status_code == 404
    # and a missing address is a 422 naming the parameter
    missing = admin.get("/api/v1/regions/resolve")
    assert missing.status_code == 422 and missing.json()["field"] == "address"


def test_region_lists_run_constant_queries_whatever_the_page_size(world):
    # given 25 more buildings with a dwelling each in grid 1
    add_dwellings(world, 25)
    client = api(world.users["staff_a"])
    client.get("/api/v1/me")  # the token's first use writes last_used_at; keep that out of the counts
    for url in ("/api/v1/regions/", "/api/v1/regions/grids/", "/api/v1/regions/dwellings/"):
        counts = []
        for size in (1, 200):
            # when the list is fetched with a small and a large page
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, {"page_size": size})
            assert response.status_code == 200
            assert len(response.json()["items"]) == min(size, response.json()["count"])
            counts.append(len(ctx.captured_queries))
        # then the number of queries is the same and small
        assert counts[0] == counts[1] <= 10, (url, counts)
    assert Grid.objects.count() == 3


def test_page_size_is_capped(world):
    response = api(world.users["admin"]).get("/api/v1/regions/dwellings/?page_size=201")
    assert response.status_code == 422
    assert response.json()["field"] == "page_size"
