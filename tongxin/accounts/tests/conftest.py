"""Fixtures of the accounts tests. The browser fixtures (Debian chromium through Playwright against the live
server) are the dashboard's."""

from __future__ import annotations

import pytest

from tongxin.core.notifications import MemorySMSBackend
from tongxin.dashboard.tests.conftest import chromium, default_categories, new_page  # noqa: F401


@pytest.fixture
def sms(settings) -> list[tuple[str, str]]:
    """SMS sent during the test, as (phone, text), kept in memory."""
    settings.SMS_BACKEND = "tongxin.core.notifications.MemorySMSBackend"
    MemorySMSBackend.outbox = []
    return MemorySMSBackend.outbox
