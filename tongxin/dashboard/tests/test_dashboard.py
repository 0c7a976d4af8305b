"""Grid map and dashboard: scope, the rates from the rollups, exports."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tongxin.cases import services
from tongxin.cases.tests.core_fixtures import new_case

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[113.45, 30.36], [113.46, 30.36], [113.46, 30.37], [113.45, 30.36]]],
}


def test_map_shows_visible_grids_coloured_and_case_counts(world, django_assert_max_num_queries):
    world.grid_1.polygon = SQUARE
    world.grid_1.save(update_fields=["polygon"])
    new_case(world, key="a1", now=None)
    c = world.client("staff_a")
    with django_assert_max_num_queries(10):
        r = c.get("/dashboard/map/")
    data = r.context["map_data"]
    names = {g["name"]: g for g in data["grids"]}
    # community A's staff see its two grids, not community B's
    assert set(names) == {"第一网格", "第二网格"}
    assert names["第一网格"]["open"] == 1 and names["第二网格"]["open"] == 0
    assert names["第一网格"]["colour"] != names["第二网格"]["colour"]
    assert data["tile_url"] == ""  # blank base layer unless a tile server is configured
    assert "leaflet.js" in r.content.decode()


def test_grid_panel_scoped(world):
    new_case(world, key="a1", now=None)
    c = world.client("grid_1")
    r = c.get(f"/dashboard/map/grid/{world.grid_1.pk}/")
    assert r.status_code == 200 and "grid_1" in r.content.decode()
    assert c.get(f"/dashboard/map/grid/{world.grid_3.pk}/").status_code == 404


def test_dashboard_rates_follow_the_rollups_and_respect_scope(world):
    case = new_case(world, key="a1", now=None)
    staff = world.client("staff_a")
    r = staff.get("/dashboard/", {"region": world.community_a.pk})
    assert r.status_code == 200
    before = r.context["report"].rates
    services.dispatch(case, world.users["staff_a"], assignee=world.users["grid_1"])
    services.resolve(case, world.users["grid_1"], "已修好")
    services.follow_up_call(case, world.users["staff_a"], "satisfied")
    after = staff.get("/dashboard/", {"region": world.community_a.pk}).context["report"].rates
    assert before["satisfaction"] is None and after["satisfaction"] == 1.0
    assert after["resolution"] == 1.0
    # community A's staff cannot look at community B, grid workers and residents not at all
    assert staff.get("/dashboard/", {"region": world.community_b.pk}).status_code == 404
    assert world.client("grid_1").get("/dashboard/").status_code == 404
    assert world.client("resident").get("/dashboard/map/").status_code == 404


def test_exports_xlsx_and_pdf(world):
    case = new_case(world, key="a1", now=None)
    services.whistle(case, world.users["admin"], [world.department], note="占道经营")
    c = world.client("admin")
    r = c.get("/dashboard/export.xlsx", {"region": world.subdistrict.pk})
    wb = load_workbook(io.BytesIO(r.content))
    assert "趋势" in wb.sheetnames and wb["总览"]["B1"].value == "干河街道"
    whistles = list(wb["吹哨报到"].iter_rows(min_row=2, values_only=True))
    assert whistles[0][:3] == ("城管", 1, 0)  # one call, not reported in yet
    r = c.get("/dashboard/report.pdf", {"region": world.subdistrict.pk, "month": "2026-11"})
    assert r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF") and len(r.content) > 2000
