"""Fixtures of the accounts tests (the browser fixtures are the shared ones of tongxin/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def sms(sms_outbox: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """SMS sent during the test, as (phone, text), kept in memory (the shared ``sms_outbox``)."""
    return sms_outbox
