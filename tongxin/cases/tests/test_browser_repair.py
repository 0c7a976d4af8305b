"""Issue 9, acceptance 1: a repair from the resident's phone to the property company and back to the resident —
auto-routed at intake, 到场 within the 10 minutes, 形成方案, 改类 to 大修 (the deadline moves to 15 days), 办结
with a photo, and the resident's rating; every step on a page, the field steps on a 375 px phone."""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.cases.choices import CaseState
from tongxin.cases.models import Case, Category
from tongxin.cases.tests.test_browser_1715 import PNG, act, submit
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login

pytestmark = [pytest.mark.browser]


def test_a_repair_goes_from_the_residents_phone_to_the_property_company_and_back(
    world, default_categories, new_page, settings, tmp_path
):
    # given repairs route themselves to the estate's property company
    settings.MEDIA_ROOT = tmp_path
    Category.objects.filter(service_code="repairs").update(auto_route=True)
    resident = new_page(PHONE)
    login(resident, "resident_1", PASSWORD)
    # when the resident reports a broken door on the phone
    resident.goto("/cases/m/new/")
    resident.click("#cats label:has-text('房屋报修') span")
    resident.fill("#id_description", "单元门禁坏了，门关不上")
    resident.click("#submit-case")
    resident.wait_for_url("**/cases/m/*/")
    case = Case.objects.get(description="单元门禁坏了，门关不上")
    # then it went straight to the property company, with the 1715 on-site clock running
    assert case.property_company_id == world.property_company.pk and case.state == CaseState.DISPATCHED
    assert case.on_site_by is not None and case.on_site_by - case.submitted_at <= dt.timedelta(minutes=10)
    # when the property staff arrive within the 10 minutes and record a plan, on the phone
    staff = new_page(PHONE)
    login(staff, "property_a", PASSWORD)
    staff.goto(f"/cases/{case.pk}/")
    act(staff, "on-site")
    staff.set_input_files("#photos-o", files=[{"name": "site.png", "mimeType": "image/png", "buffer": PNG}])
    submit(staff, "on-site")
    act(staff, "plan")
    staff.fill("#plan", "门禁主板损坏，需整体更换门禁系统")
    submit(staff, "plan")
    case.refresh_from_db()
    assert case.on_site_at is not None and case.on_site_at <= case.on_site_by and case.plan
    # and the community re-categorises it as 大修: the deadline becomes 15 days from the change
    desk = new_page(DESKTOP)
    login(desk, "staff_a", PASSWORD)
    desk.goto(f"/cases/{case.pk}/reclassify/")
    desk.select_option("#reclassify-category", "repairs-large")
    desk.fill("#reclassify-reason", "需整体更换门禁，属大修")
    desk.click("#reclassify-form button[type=submit]")
    desk.wait_for_load_state()
    case.refresh_from_db()
    assert case.category.service_code == "repairs-large"
    assert case.resolve_by - case.on_site_at >= dt.timedelta(days=14)
    # when the property staff resolve it with a photo of the new lock
    staff.goto(f"/cases/{case.pk}/")
    act(staff, "resolve")
    staff.fill("#result", "门禁系统已更换，试用正常")
    staff.set_input_files("#photos-r", files=[{"name": "done.png", "mimeType": "image/png", "buffer": PNG}])
    submit(staff, "resolve")
    assert staff.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # then the resident rates it on the phone, and the case closes on the resident's word
    resident.goto(f"/cases/m/{case.pk}/")
    resident.click("#rate label:has-text('满意') >> nth=0")
    resident.click("#rate button[type=submit]")
    resident.wait_for_load_state()
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED and case.rating and case.rating_source != "follow_up_call"
    assert sorted(case.photos.values_list("stage", flat=True)) == ["on_site", "result"]
