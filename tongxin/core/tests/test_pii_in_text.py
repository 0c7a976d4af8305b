"""Phones and id numbers inside free text, however people type them (issue 10: Open311 and staff pages)."""

from __future__ import annotations

import pytest

from tongxin.core import pii


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("请联系13912345678", "phone", "请联系139****5678"),
        ("请联系139 1234 5678谢谢", "phone", "请联系139****5678谢谢"),
        ("电话139-1234-5678", "phone", "电话139****5678"),
        ("电话 139.1234.5678", "phone", "电话 139****5678"),
        ("手机+86 139 1234 5678", "phone", "手机139****5678"),
        ("全角１３９１２３４５６７８", "phone", "全角139****5678"),
        ("座机010-6512 3456", "phone", "座机010****3456"),
        ("身份证429004 19800101 0015", "id_number", "身份证429***********0015"),
        ("身份证429004-19800101-001X。", "id_number", "身份证429***********001X。"),
        ("老证号 110105 800101 123", "id_number", "老证号 110********1123"),  # the old 15-digit number
    ],
)
def test_numbers_in_any_common_formatting_are_found_and_masked(text, kind, masked):
    found = pii.find_in_text(text)
    assert [f.kind for f in found] == [kind]
    assert pii.mask_in_text(text) == masked
    assert all(c not in pii.mask_in_text(text) for c in ("1234 5678", "19800101"))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27 共1500元",
        "工单20261127000123已办结",
        "3栋2单元501，车牌京A12345",
        "",
    ],
)
def test_dates_amounts_case_numbers_and_addresses_are_left_alone(text):
    assert pii.find_in_text(text) == []
    assert pii.mask_in_text(text) == text
