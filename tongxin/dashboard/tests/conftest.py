"""Browser-test fixtures: Debian's chromium driven by Playwright against pytest-django's live server.

The live server runs in a thread of the test process, so an in-process SMS outbox lets a test read the one-time
code a resident receives. On SQLite the live server shares the in-memory test database connection (pytest-django
does this for ``live_server``); on PostgreSQL it uses the real test database. Screenshots go to
``test-output/screenshots/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

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
SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"
PAGE_METRICS = Path(settings.BASE_DIR) / "test-output" / "page_metrics"  # one JSON file per page
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1366, "height": 800}


class OutboxSMS:
    """SMS backend for tests: keeps messages in memory (the live server shares this process)."""

    messages: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        OutboxSMS.messages.append((phone, text))


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[tuple[str, str]]]:
    settings.SMS_BACKEND = "tongxin.dashboard.tests.conftest.OutboxSMS"
    OutboxSMS.messages = []
    yield OutboxSMS.messages


_SHARED: dict[str, Any] = {}


def shared_chromium() -> Any:
    """One Playwright and one browser per test process: every app's browser tests use this (two sync Playwrights
    in one process refuse to start), closed when the process ends."""
    if "browser" not in _SHARED:
        import atexit

        from playwright.sync_api import sync_playwright

        # Playwright's sync API keeps an event loop on the test thread; the test's own ORM calls are still
        # synchronous, so Django's async-safety guard is lifted for browser tests only.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        pw = sync_playwright().start()
        _SHARED["pw"], _SHARED["browser"] = (
            pw,
            pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS),
        )

        def close() -> None:
            _SHARED["browser"].close()
            _SHARED["pw"].stop()

        atexit.register(close)
    return _SHARED["browser"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    yield shared_chromium()


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
