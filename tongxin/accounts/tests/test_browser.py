"""The bell and the inbox in a real browser: a grid worker on a desktop, a resident on a 375 px phone."""

from __future__ import annotations

import pytest

from tongxin.cases import services as cases
from tongxin.cases.tests.core_fixtures import new_case
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, measure
from tongxin.core import notifications

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def badge(page) -> str:
    return page.get_attribute("a.bell", "data-unread")


def test_grid_worker_sees_a_dispatch_on_the_bell_and_opens_it(
    live_server, world, default_categories, new_page
):
    # given a grid worker at their desk, having read everything (a new case in their grid told them already)
    case = new_case(world)
    page = new_page(DESKTOP)
    login(page, "grid_1", PASSWORD)
    if badge(page) != "0":
        page.goto("/inbox/")
        page.click("text=全部标为已读")
    page.goto("/")
    assert badge(page) == "0" and page.locator("a.bell .badge").count() == 0
    # when community staff dispatch the case to them
    cases.dispatch(case, world.users["staff_a"], assignee=world.users["grid_1"])
    # then the next page they open shows 1 on the bell
    page.goto("/")
    assert badge(page) == "1" and page.inner_text("a.bell .badge") == "1"
    # and the bell leads to the inbox, where the dispatch is the one unread item
    page.click("a.bell")
    page.wait_for_url("**/inbox/")
    item = page.locator(".inbox li.unread")
    assert item.count() == 1 and case.number in item.inner_text()
    measure(page, "inbox_desktop")
    # when they open it, then they land on the case and the bell is dark again
    item.locator("button.open").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert badge(page) == "0"


def test_resident_reads_the_inbox_on_a_phone_without_sideways_scrolling(
    live_server, world, default_categories, new_page
):
    # given a resident with two messages: one asks them to rate their resolved request
    resident = world.users["resident"]
    notifications.notify(
        [resident],
        "您的诉求已办结，请评价",
        "楼道灯已修好",
        "/cases/m/",
        kind="case_rate_request",
        on_commit=False,
    )
    notifications.notify(
        [resident], "诉求已受理", "网格员将上门查看", "/cases/m/", kind="case_new", on_commit=False
    )
    # when they sign in on a 375 px phone
    phone = new_page(PHONE)
    login(phone, "resident_1", PASSWORD)
    phone.goto("/inbox/")
    # then the bell shows 2, the inbox lists both, and nothing scrolls sideways
    assert badge(phone) == "2"
    assert phone.locator(".inbox li.unread").count() == 2
    assert phone.evaluate(NO_SIDEWAYS_SCROLL), phone.evaluate("document.documentElement.scrollWidth")
    assert phone.locator("a.bell").is_visible()
    measure(phone, "inbox_resident_375")
    # and the preferences page fits too
    phone.click("text=接收设置")
    phone.wait_for_url("**/inbox/preferences/")
    assert phone.evaluate(NO_SIDEWAYS_SCROLL), phone.evaluate("document.documentElement.scrollWidth")
    measure(phone, "inbox_preferences_375")
    # when they mark everything read, then the bell has no badge
    phone.goto("/inbox/")
    phone.click("text=全部标为已读")
    phone.wait_for_load_state()
    assert badge(phone) == "0" and phone.locator("a.bell .badge").count() == 0
    assert phone.outside_requests == []
