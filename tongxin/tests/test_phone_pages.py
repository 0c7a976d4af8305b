"""Every page a grid worker, a party member or a resident can open fits a 375 px phone: no horizontal scroll.

The pages are not listed by hand: the route walker's world (tongxin/tests/test_routes.py, with every app's
samples) and the route table give every page; each role opens every one the policy lets it open (the sample
objects of community A), in chromium at 375 px, and the page's ``scrollWidth`` must not exceed the screen. A
screenshot of each lands in test-output/screenshots/phone-<role>-<page>.png.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tongxin import routes
from tongxin.conftest import PASSWORD, PHONE, SCREENSHOTS, login
from tongxin.core.policy import Decision
from tongxin.tests.test_routes import SESSION_ENDING, _expected, _objects, _url, walk_world  # noqa: F401

pytestmark = [pytest.mark.browser]

PHONE_ROLES = ("grid_1", "member", "resident")


def _phone_pages(user: Any) -> list[tuple[str, str]]:
    """(name, url) of every HTML page the user may open, with the first sample object where one is needed."""
    client = Client()
    client.force_login(user)
    out: list[tuple[str, str]] = []
    for route in routes.pages():
        if route.access is None or route.name in SESSION_ENDING:
            continue
        objects = _objects(route.access.model)[:1] if route.access.model else [None]
        for obj in objects:
            if _expected(user, route, obj) is not Decision.ALLOW:
                continue
            url = _url(route, obj)
            response = client.get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                out.append((route.name or url, url))
    return out


def test_every_page_of_the_phone_roles_fits_a_375px_screen(default_categories, walk_world, new_page):  # noqa: F811
    # given the walker's world: every app's sample objects in community A and B
    users = walk_world["users"]
    too_wide: list[str] = []
    seen = 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for role in PHONE_ROLES:
        pages = _phone_pages(users[role])
        assert pages, f"{role} can open no page at all"
        # when the role signs in on a phone and opens each page it may open
        page = new_page(PHONE)
        login(page, users[role].username, PASSWORD)
        for name, url in pages:
            page.goto(url)
            page.wait_for_load_state()
            width = page.evaluate("document.documentElement.scrollWidth")
            slug = re.sub(r"[^\w-]+", "-", name).strip("-")
            page.screenshot(path=str(SCREENSHOTS / f"phone-{role}-{slug}.png"), full_page=False)
            seen += 1
            # then nothing is wider than the screen
            if width > PHONE["width"]:
                too_wide.append(f"{role} {url}: {width}px")
    assert seen >= 10
    assert too_wide == [], "\n".join(too_wide)
