"""The map and the dashboard on the policy layer: each role reaches what the policy table says."""

from __future__ import annotations

from django.test import Client

PAGES = ("/dashboard/", "/dashboard/export.xlsx", "/dashboard/report.pdf", "/dashboard/map/")


def test_pages_by_role(world):
    # given every role, when each opens the dashboard, its exports, the map and a grid panel of grid 1
    panel = f"/dashboard/map/grid/{world.grid_1.pk}/"
    expected = {
        "admin": (200, 200, 200, 200, 200),
        "staff_a": (200, 200, 200, 200, 200),
        "staff_b": (200, 200, 200, 200, 404),  # its own community's dashboard; grid 1 is not its grid
        "grid_1": (404, 404, 404, 200, 200),  # the map of its grid, not the managers' dashboard
        "grid_3": (404, 404, 404, 200, 404),
        "property": (404,) * 5,
        "department": (404,) * 5,
        "volunteer": (404,) * 5,
        "resident": (404,) * 5,
    }
    for role, statuses in expected.items():
        c = world.client(role)
        got = tuple(c.get(url).status_code for url in (*PAGES, panel))
        assert got == statuses, role
    # then anonymous visitors are sent to sign in
    assert Client().get("/dashboard/")["Location"].startswith("/login/")


def test_a_manager_cannot_pick_a_region_outside_their_scope(world):
    c = world.client("staff_a")
    for url in PAGES[:3]:
        assert c.get(url, {"region": world.community_b.pk}).status_code == 404, url
        assert c.get(url, {"region": world.community_a.pk}).status_code == 200, url
