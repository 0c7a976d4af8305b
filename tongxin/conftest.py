"""Shared fixtures: a small world with two communities, three grids and one user per role.

``world`` is what most tests need: given this world, when a user of some role does X, then Y.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tongxin.core import pii
from tongxin.core.middleware import IdleSessionMiddleware
from tongxin.core.models import User
from tongxin.people.models import Household, Membership, Resident
from tongxin.people.pii import set_id_number, set_phone
from tongxin.regions.models import Department, Dwelling, Grid, PropertyCompany, Region, RoleAssignment

PASSWORD = "tongxin-test-pw"


@dataclass
class World:
    subdistrict: Region
    community_a: Region
    community_b: Region
    estate_a: Region  # 锦绣江山, community A, grids 1 and 2
    estate_b: Region  # 富丰新城, community B, grid 3
    grid_1: Grid
    grid_2: Grid
    grid_3: Grid
    dwellings: dict[str, Dwelling]  # "a1" (grid 1), "a2" (grid 2), "b1" (grid 3)
    residents: dict[str, Resident]  # same keys
    users: dict[str, User]
    department: Department
    property_company: PropertyCompany

    def client(self, role: str) -> Client:
        c = Client()
        c.force_login(self.users[role])
        # A user in the middle of their work: the idle-timeout stamp is fresh, so requests don't rewrite it.
        session = c.session
        session[IdleSessionMiddleware.KEY] = time.time()
        session.save()
        return c


def make_user(username: str, **extra: Any) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, display_name=username, **extra)


def make_resident(
    dwelling: Dwelling, name: str, seq: int, *, female: bool = False, phone: str = ""
) -> Resident:
    r = Resident(name=name, dwelling=dwelling)
    set_id_number(
        r, pii.generate_id_number("429004", dt.date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 28), seq, female)
    )
    set_phone(r, phone or f"139{seq:08d}")
    r.save()
    hh = Household.objects.create(dwelling=dwelling, head=r)
    r.household = hh
    r.relation = "head"
    r.save(update_fields=["household", "relation"])
    Membership.objects.create(household=hh, resident=r, relation="head")
    return r


def build_world() -> World:
    sub = Region.objects.create(kind="subdistrict", name="干河街道", code="429004001")
    ca = Region.objects.create(kind="community", name="满庭春社区", parent=sub, code="001")
    cb = Region.objects.create(kind="community", name="大新社区", parent=sub, code="002")
    g1 = Grid.objects.create(community=ca, name="第一网格", code=Grid.build_code(ca, 1))
    g2 = Grid.objects.create(community=ca, name="第二网格", code=Grid.build_code(ca, 2))
    g3 = Grid.objects.create(community=cb, name="富丰第一网格", code=Grid.build_code(cb, 1))
    ea = Region.objects.create(kind="estate", name="锦绣江山", parent=ca)
    eb = Region.objects.create(kind="estate", name="富丰新城", parent=cb)
    dwellings: dict[str, Dwelling] = {}
    for key, estate, grid, bno in (("a1", ea, g1, "3"), ("a2", ea, g2, "5"), ("b1", eb, g3, "12")):
        b = Region.objects.create(kind="building", name=f"{bno}栋", number=bno, parent=estate, grid=grid)
        e = Region.objects.create(kind="entrance", name="2单元", number="2", parent=b)
        d = Dwelling(number="501", floor=5, floor_area=Decimal("89.50"))
        d.place_under(e)
        d.save()
        dwellings[key] = d
    residents = {
        "a1": make_resident(dwellings["a1"], "张三", 1, phone="13900000001"),
        "a2": make_resident(dwellings["a2"], "李四", 2, phone="13900000002"),
        "b1": make_resident(dwellings["b1"], "王五", 3, phone="13900000003"),
    }
    dept = Department.objects.create(subdistrict=sub, name="城市管理局", short_name="城管")
    pc = PropertyCompany.objects.create(name="满庭春第一物业", has_party_branch=True)
    pc.estates.add(ea)
    users = {
        "admin": make_user("sub_admin", is_staff=True),
        "staff_a": make_user("staff_a", is_staff=True),
        "staff_b": make_user("staff_b", is_staff=True),
        "grid_1": make_user("grid_1", is_staff=True),
        "grid_3": make_user("grid_3", is_staff=True),
        "property": make_user("property_a", is_staff=True),
        "department": make_user("dept_cg", is_staff=True),
        "volunteer": make_user("volunteer_1"),
        "resident": make_user("resident_1"),
    }
    RoleAssignment.objects.create(user=users["admin"], role="subdistrict_admin", region=sub)
    RoleAssignment.objects.create(user=users["staff_a"], role="community_staff", region=ca)
    RoleAssignment.objects.create(user=users["staff_b"], role="community_staff", region=cb)
    RoleAssignment.objects.create(user=users["grid_1"], role="grid_worker", grid=g1)
    RoleAssignment.objects.create(user=users["grid_3"], role="grid_worker", grid=g3)
    RoleAssignment.objects.create(user=users["property"], role="property_staff", property_company=pc)
    RoleAssignment.objects.create(user=users["department"], role="department_liaison", department=dept)
    RoleAssignment.objects.create(user=users["volunteer"], role="volunteer")
    RoleAssignment.objects.create(user=users["resident"], role="resident")
    g1.workers.add(users["grid_1"])
    g3.workers.add(users["grid_3"])
    residents["a1"].user = users["resident"]
    residents["a1"].save(update_fields=["user"])
    return World(sub, ca, cb, ea, eb, g1, g2, g3, dwellings, residents, users, dept, pc)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; tests that create many users use a fast hasher (production keeps Argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> World:
    return build_world()


# --- browser tests: one chromium per test process, shared by every app's browser tests -------------------------
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        # never a silent skip: `make test` installs it where it can; otherwise say how
        pytest.fail(
            f"{CHROMIUM} is missing: run `apt-get install -y chromium fonts-wqy-microhei` (or `make browser`)"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on the test thread; the test's own ORM calls are still
    # synchronous, so Django's async-safety guard is lifted for browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- browser-test helpers shared by every app: pages on the live server, screenshots, page metrics ---------------
SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"
PAGE_METRICS = Path(settings.BASE_DIR) / "test-output" / "page_metrics"  # one JSON file per page
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1366, "height": 800}


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[tuple[str, str]]]:
    """SMS sent during the test (the live server shares this process), as (phone, text)."""
    from tongxin.core.notifications import MemorySMSBackend

    settings.SMS_BACKEND = "tongxin.core.notifications.MemorySMSBackend"
    MemorySMSBackend.outbox = []
    yield MemorySMSBackend.outbox


class Counter:
    """Counts the user's interactions (clicks, fills, key presses) a scenario needed."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0

    def click(self, selector: str, **kw: Any) -> None:
        self.count += 1
        self.page.click(selector, **kw)

    def fill(self, selector: str, value: str) -> None:
        self.count += 1
        self.page.fill(selector, value)

    def press(self, selector: str, key: str) -> None:
        self.count += 1
        self.page.press(selector, key)

    def select(self, selector: str, value: str) -> None:
        self.count += 1
        self.page.select_option(selector, value)


@pytest.fixture
def new_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """``new_page(viewport)`` opens a fresh browser context (own cookies) on the live server."""
    contexts: list[Any] = []

    def make(viewport: dict[str, int] | None = None, locale: str = "zh-CN") -> Any:
        ctx = chromium.new_context(viewport=viewport or DESKTOP, locale=locale, base_url=live_server.url)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        # Nothing may come from outside the live server: fail loudly if a page asks for it.
        outside: list[str] = []
        page.on(
            "request",
            lambda req: (
                outside.append(req.url)
                if not req.url.startswith((live_server.url, "data:", "blob:", "about:"))
                else None
            ),
        )
        page.outside_requests = outside
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def login(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def record_metrics(name: str, figures: dict[str, Any]) -> None:
    """One file per page, so parallel test workers never write the same file."""
    PAGE_METRICS.mkdir(parents=True, exist_ok=True)
    (PAGE_METRICS / f"{name}.json").write_text(json.dumps(figures, ensure_ascii=False))


def measure(page: Any, name: str, full_page: bool = True) -> dict[str, Any]:
    """Screenshot the page and record first contentful paint and the JS+CSS bytes it loaded."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
    figures = page.evaluate(
        """() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        let js = 0, css = 0;
        for (const r of performance.getEntriesByType('resource')) {
          const size = r.decodedBodySize || r.encodedBodySize || 0;
          if (r.initiatorType === 'script' || r.name.endsWith('.js')) js += size;
          else if (r.initiatorType === 'link' || r.name.endsWith('.css')) css += size;
        }
        return {fcp_ms: fcp ? Math.round(fcp.startTime) : null, js_bytes: js, css_bytes: css};
    }"""
    )
    figures["page"] = name
    figures["url"] = page.url
    record_metrics(name, figures)
    return figures


@pytest.fixture
def default_categories(transactional_db: None) -> None:
    """The default category tree comes from a data migration; a transactional test's flush removes it."""
    import importlib

    from django.apps import apps

    from tongxin.cases.models import Category

    if not Category.objects.exists():
        importlib.import_module("tongxin.cases.migrations.0002_default_categories").forwards(apps, None)
        from tongxin.cases.choices import PUBLIC_CATEGORIES

        Category.objects.filter(service_code__in=PUBLIC_CATEGORIES).update(public=True)


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """Abuse-limit counters live in the cache (tongxin.core.throttle) and the memos in this process
    (tongxin.core.memo): every test starts with none."""
    from tongxin.core.memo import forget_all
    from tongxin.core.throttle import clear_counters

    clear_counters()
    forget_all()
    yield
    clear_counters()
    forget_all()
