"""Browser tests: Debian's chromium through Playwright against the live server (SQLite and PostgreSQL).

Few and end-to-end on purpose: they run twice in CI. Each one saves screenshots of the pages it passes through
(resident pages at 375 px, staff pages at 1366 px) and records first contentful paint and JS+CSS bytes in
``test-output/page_metrics/`` (docs/bench/pages.md has the figures).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tongxin.cases.choices import CaseState, Channel
from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import make_member, new_case
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, Counter, login, measure, record_metrics

pytestmark = [pytest.mark.browser]

JS_CSS_BUDGET = 500 * 1024
FCP_BUDGET_MS = 1000
GRID_SQUARES = {
    "grid_1": [[113.450, 30.360], [113.455, 30.360], [113.455, 30.365], [113.450, 30.365], [113.450, 30.360]],
    "grid_2": [[113.455, 30.360], [113.460, 30.360], [113.460, 30.365], [113.455, 30.365], [113.455, 30.360]],
}


def open_action(page, name: str) -> None:
    """Unfold an action on the case page (the first one is unfolded already)."""
    details = page.locator(f"details[data-action={name}]")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def check_budget(figures: dict) -> None:
    assert figures["js_bytes"] + figures["css_bytes"] <= JS_CSS_BUDGET, figures
    # FCP on a shared 2-core CI box is noisy; the figure is recorded, the budget is checked with slack
    if figures["fcp_ms"] is not None:
        assert figures["fcp_ms"] <= FCP_BUDGET_MS * 3, figures


def test_resident_request_to_rated_closure_moves_the_dashboard(
    live_server, world, default_categories, sms_outbox, new_page
):
    member = make_member(world, "member_1", key="a1", post="environment")
    for key, ring in GRID_SQUARES.items():
        grid = getattr(world, key)
        grid.polygon = {"type": "Polygon", "coordinates": [ring]}
        grid.save(update_fields=["polygon"])

    # the subdistrict admin looks at the dashboard first: nothing rated yet
    admin = new_page(DESKTOP)
    login(admin, "sub_admin", PASSWORD)
    admin.goto(f"/dashboard/?region={world.subdistrict.pk}")
    assert admin.locator("#kpis").inner_text().count("—") >= 3

    # given resident 张三 on a phone signs in with their number and the code the SMS brought
    phone = new_page(PHONE)
    phone.goto("/m/login/")
    measure(phone, "resident_login")
    phone.fill("#id_phone", "13900000001")
    phone.click("button[type=submit]")
    code = re.search(r"(\d{6})", sms_outbox[-1][1]).group(1)
    phone.fill("#id_code", code)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/cases/m/")
    # when they report a problem in a few taps: category tile, "my home" (preselected), description, submit
    phone.click("text=我要反映")
    phone.click("#cats label:has-text('环境卫生')")
    phone.fill("#id_description", "楼下垃圾桶满了好几天没人清运，有异味")
    check_budget(measure(phone, "resident_submit"))
    # (the point picker loads Leaflet only when asked for, and a tap sets the coordinates)
    phone.click("label:has-text('地图选点')")
    phone.wait_for_selector("#pick-map.leaflet-container")
    phone.click("#pick-map", position={"x": 120, "y": 90})
    assert phone.input_value("#id_latitude") != ""
    phone.click("label:has-text('我家')")
    phone.click("button[type=submit]")
    phone.wait_for_selector("#case-state")
    case = Case.objects.get(channel=Channel.RESIDENT_APP)
    assert case.dwelling_id == world.dwellings["a1"].pk
    check_budget(measure(phone, "resident_case"))

    # then community staff see it in their queue and open it for the grid's party members
    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto("/cases/")
    staff.wait_for_selector(f"tr[data-case='{case.number}']")
    check_budget(measure(staff, "workbench"))
    staff.click(f"a:has-text('{case.number}')")
    check_budget(measure(staff, "case_page"))
    open_action(staff, "open-for-claiming")
    staff.click("details[data-action=open-for-claiming] button[type=submit]")
    staff.wait_for_selector(".messages")

    # a party member living in the grid claims it and resolves it
    m = new_page(DESKTOP)
    login(m, member.username, PASSWORD)
    m.goto(f"/cases/{case.pk}/")
    open_action(m, "claim")
    m.click("details[data-action=claim] button[type=submit]")
    m.wait_for_selector("details[data-action=resolve]")
    open_action(m, "resolve")
    m.fill("#result", "已联系环卫清运，垃圾桶已清洗")
    m.click("details[data-action=resolve] button[type=submit]")
    m.wait_for_selector(".messages")
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.assignee_id == member.pk

    # the resident confirms and rates on the phone
    phone.goto(f"/cases/m/{case.pk}/")
    phone.click("#rate label:has-text('满意') >> nth=0")
    phone.click("#rate button[type=submit]")
    phone.wait_for_selector("text=感谢您的评价")
    case.refresh_from_db()
    assert case.rating == "satisfied"
    measure(phone, "resident_rated")
    phone.goto("/cases/m/")
    measure(phone, "resident_my_requests")

    # and the dashboard's rates moved: satisfaction and resolution are now 100%
    admin.goto(f"/dashboard/?region={world.subdistrict.pk}")
    admin.wait_for_function("document.body.dataset.chartsReady === '1'")
    kpis = admin.locator("#kpis").inner_text()
    assert "100.0%" in kpis
    check_budget(measure(admin, "dashboard"))
    admin.goto("/dashboard/map/")
    admin.wait_for_selector("#grid-map[data-ready='1']")
    admin.click(".grid-link >> nth=0")
    admin.wait_for_selector("#grid-panel h3")
    check_budget(measure(admin, "grid_map", full_page=False))
    for page in (phone, staff, m, admin):
        assert page.outside_requests == []


def test_hotline_call_recorded_within_the_interaction_budget(
    live_server, world, default_categories, new_page
):
    page = new_page(DESKTOP)
    login(page, "staff_a", PASSWORD)
    page.goto("/cases/intake/")
    check_budget(measure(page, "intake"))
    started = time.monotonic()
    ui = Counter(page)
    # the caller's number finds 张三 and their home
    ui.fill("#id_phone", "13900000001")
    page.wait_for_selector("#caller:has-text('张三')")
    assert page.input_value("#id_address").startswith("锦绣江山")
    # the operator types what the caller says; the category is suggested while typing
    ui.fill("#id_description", "家里停水了，楼上说也没有水")
    expect(page.locator("#id_category")).not_to_have_value("")  # no page-side eval: the CSP forbids it
    ui.click("#intake-submit")
    page.wait_for_selector("#intake-done")
    elapsed = time.monotonic() - started
    assert ui.count <= 8 and elapsed <= 60, (ui.count, elapsed)
    case = Case.objects.get(channel=Channel.HOTLINE)
    assert case.reporter_id == world.residents["a1"].pk
    assert case.dwelling_id == world.dwellings["a1"].pk
    assert case.category.service_code == "utilities"
    measure(page, "intake_done")
    record_metrics("hotline_call", {"interactions": ui.count, "seconds": round(elapsed, 2)})


def test_grid_worker_cannot_open_another_grids_case(live_server, world, default_categories, new_page):
    other = new_case(world, key="a2", now=None, description="5栋楼道灯坏了")
    mine = new_case(world, key="a1", now=None, description="3栋门禁坏了")
    page = new_page(DESKTOP)
    login(page, "grid_1", PASSWORD)
    response = page.goto(f"/cases/{other.pk}/")
    assert response is not None and response.status == 404
    response = page.goto(f"/cases/{mine.pk}/")
    assert response is not None and response.status == 200
    page.goto("/cases/?mine=0")
    assert page.locator(f"tr[data-case='{other.number}']").count() == 0
    assert page.locator(f"tr[data-case='{mine.number}']").count() == 1
