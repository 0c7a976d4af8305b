"""The audit page in a real browser: a subdistrict admin finds who changed what, with the before/after diff, the
source IP and the time; roles without the audit action are answered 404 and see no menu entry."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tongxin.conftest import DESKTOP, PASSWORD, login, measure
from tongxin.core import audit

pytestmark = pytest.mark.browser


def _rows(page) -> list[str]:
    return page.locator("table.audit > tbody > tr").all_inner_texts()


def test_subdistrict_admin_filters_the_audit_log_and_reads_the_diff(
    live_server, transactional_db, world, new_page
):
    # given three audit rows: community staff changed 张三's phone (masked in the log) from one address, a grid
    # worker exported the roster from another, and the same staff member changed another resident
    resident, other = world.residents["a1"], world.residents["b1"]
    change = audit.record(
        "update",
        resident,
        actor=world.users["staff_a"],
        before={"name": "张三", "phone": "139****0001"},
        after={"name": "张三", "phone": "139****0009"},
        ip="192.0.2.5",
    )
    audit.record("export", object_type="people.resident", actor=world.users["grid_1"], ip="198.51.100.7")
    audit.record(
        "update",
        other,
        actor=world.users["staff_a"],
        before={"name": "王五"},
        after={"name": "王小五"},
        ip="192.0.2.5",
    )
    # when the subdistrict admin signs in and opens 审计日志 from the menu
    page = new_page(DESKTOP)
    login(page, "sub_admin", PASSWORD)
    page.click("nav >> text=审计日志")
    page.wait_for_url("**/audit/")
    # then every row is listed, newest first (their own sign-in on top)
    assert len(_rows(page)) == 4 and "登录" in _rows(page)[0]
    # when they filter by who (the staff member), what (修改) and which object (张三's record)
    page.fill("#id_actor", "staff_a")
    page.select_option("#id_action", "update")
    page.fill("#id_object_type", "people.resident")
    page.fill("#id_object_id", str(resident.pk))
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/audit/?*object_id=*")
    page.wait_for_load_state()
    # then exactly that row shows: who, what, which object, the changed field before and after, the IP and the
    # time in Beijing time
    (row,) = _rows(page)
    assert "staff_a" in row and "修改" in row and f"people.resident#{resident.pk}" in row
    diff = page.locator("table.audit table.diff tr")
    assert diff.count() == 2  # one line per field: the unchanged name and the phone
    phone = diff.filter(has_text="phone")
    assert phone.locator("del").inner_text() == "139****0001"
    assert phone.locator("ins").inner_text() == "139****0009"
    assert "192.0.2.5" in row
    assert timezone.localtime(change.at).strftime("%Y-%m-%d %H:%M:%S") in row
    # and the filters stay filled in, so the next question starts from this one
    assert page.input_value("#id_actor") == "staff_a"
    assert page.input_value("#id_object_id") == str(resident.pk)
    measure(page, "audit_filtered_desktop")
    # when they reset and ask which rows came from the grid worker's address
    page.click("text=重置")
    page.wait_for_url("**/audit/")
    page.fill("#id_ip", "198.51.100.7")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/audit/?*ip=198.51.100.7*")
    page.wait_for_load_state()
    # then only the export shows, with no diff
    (row,) = _rows(page)
    assert "grid_1" in row and "导出" in row and "198.51.100.7" in row
    assert page.locator("table.audit table.diff").count() == 0
    # when they give an address that is not one, then the form says so next to the field and lists nothing new
    page.fill("#id_ip", "not-an-ip")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#id_ip ~ .error").count() == 1
    assert page.outside_requests == []


@pytest.mark.parametrize("username", ["staff_a", "grid_1", "property_a", "dept_cg", "resident_1"])
def test_roles_without_the_audit_action_get_404_and_no_menu_entry(
    live_server, transactional_db, world, new_page, username
):
    # given an audit row and a signed-in user of a role that may not read the audit log
    audit.record("update", world.residents["a1"], actor=world.users["admin"], before={"a": 1}, after={"a": 2})
    page = new_page(DESKTOP)
    login(page, username, PASSWORD)
    # then the menu has no 审计日志 entry
    assert page.locator("nav >> text=审计日志").count() == 0
    # when they type the address, then the answer is 404 and nothing of the log shows
    response = page.goto("/audit/")
    assert response is not None and response.status == 404
    assert page.locator("table.audit").count() == 0
