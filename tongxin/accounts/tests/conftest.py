"""Fixtures of the accounts tests. The browser page fixture is the dashboard's (the one chromium per process is
in tongxin/conftest.py)."""

from __future__ import annotations

import pytest

from tongxin.core.notifications import MemorySMSBackend
from tongxin.dashboard.tests.conftest import default_categories, new_page  # noqa: F401


@pytest.fixture
def sms(settings) -> list[tuple[str, str]]:
    """SMS sent during the test, as (phone, text), kept in memory."""
    settings.SMS_BACKEND = "tongxin.core.notifications.MemorySMSBackend"
    MemorySMSBackend.outbox = []
    return MemorySMSBackend.outbox
