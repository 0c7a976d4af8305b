"""Browser test on a 375 px phone: the grid worker's and the party member's workbench and case page are cards
that fit the screen (no horizontal scroll), with screenshots in test-output."""

from __future__ import annotations

import pytest

from tongxin.cases import services
from tongxin.cases.tests.core_fixtures import make_member
from tongxin.conftest import PASSWORD, PHONE, login, measure

pytestmark = [pytest.mark.browser]


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} lays out {width} px wide"


def test_grid_worker_and_member_workbench_fit_a_phone(live_server, world, default_categories, new_page):
    # given a case in grid 1 dispatched to its grid worker, and one open for claiming by the grid's members
    member = make_member(world, "dangyuan_1", post="patrol")
    mine = services.submit(
        channel="grid_patrol",
        category="public-order",
        description="巡查发现楼道堆放杂物，堵塞消防通道",
        actor=world.users["grid_1"],
        dwelling=world.dwellings["a1"],
    )
    services.dispatch(mine, world.users["staff_a"], assignee=world.users["grid_1"])
    open_case = services.submit(
        channel="hotline",
        category="public-order",
        description="夜间广场舞噪音扰民",
        actor=world.users["staff_a"],
        dwelling=world.dwellings["a1"],
    )
    services.open_for_claiming(open_case, world.users["staff_a"])
    # when the grid worker opens the workbench and the case on the phone
    grid = new_page(PHONE)
    login(grid, "grid_1", PASSWORD)
    grid.goto("/cases/")
    grid.wait_for_selector(f"tr[data-case='{mine.number}']")
    # then the queue is cards that fit the screen, the case number readable on one line
    no_horizontal_scroll(grid)
    row = grid.locator(f"tr[data-case='{mine.number}'] td:first-child a").bounding_box()
    assert row is not None and row["width"] > 100 and row["height"] >= 40
    measure(grid, "cases_workbench_grid_worker_phone")
    grid.goto(f"/cases/{mine.pk}/")
    no_horizontal_scroll(grid)
    measure(grid, "cases_case_grid_worker_phone")
    # and the party member sees the claimable case the same way
    phone = new_page(PHONE)
    login(phone, member.username, PASSWORD)
    phone.goto("/cases/")
    phone.wait_for_selector(f"tr[data-case='{open_case.number}']")
    no_horizontal_scroll(phone)
    measure(phone, "cases_workbench_member_phone")
