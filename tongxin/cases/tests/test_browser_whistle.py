"""Browser test: the street whistles 城管 to a case; the department never reports in; at +30 min (the clock moved by
the test, not waited for) it is marked late, the case page says so to the community and the department, and the
street rates it on the case page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.cases import services
from tongxin.cases.models import WhistleCall
from tongxin.cases.tasks import mark_late_report_ins
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, measure

pytestmark = [pytest.mark.browser]


def test_department_that_never_reports_in_is_marked_late(live_server, world, default_categories, new_page):
    # given a city-management case in 满庭春
    case = services.submit(
        channel="hotline",
        category="city-management",
        description="小区门口井盖缺失，夜里有人绊倒",
        actor=world.users["staff_a"],
        dwelling=world.dwellings["a1"],
    )
    # when the street whistles 城管 on the case page
    street = new_page(DESKTOP)
    login(street, "sub_admin", PASSWORD)
    street.goto(f"/cases/{case.pk}/")
    street.click("details[data-action=whistle] summary")
    street.check(f"details[data-action=whistle] input[value='{world.department.pk}']")
    street.fill("details[data-action=whistle] input[name=note]", "井盖缺失，请城管到场")
    street.click("details[data-action=whistle] button[type=submit]")
    street.wait_for_selector("#department-panel:has-text('待报到')")
    call = WhistleCall.objects.get(case=case)
    # and nobody reports in: the check runs with the clock 31 minutes later
    assert mark_late_report_ins(now=timezone.now() + dt.timedelta(minutes=31)) == 1
    # then the community sees 超时未报到 on the case page
    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto(f"/cases/{case.pk}/")
    staff.wait_for_selector("#department-panel:has-text('超时未报到')")
    assert staff.locator(".timeline:has-text('部门超时未报到')").count() == 1
    measure(staff, "cases_department_late")
    # and the department, on its phone, sees it too and can still report in (late stays)
    dept = new_page(PHONE)
    login(dept, "dept_cg", PASSWORD)
    dept.goto(f"/cases/{case.pk}/")
    dept.wait_for_selector("#department-panel:has-text('超时未报到')")
    assert dept.evaluate("document.documentElement.scrollWidth") <= 375
    services.report_in(call, world.users["department"], note="迟到，已到场处理")
    # and the street rates the department 2 on the case page
    street.reload()
    street.check("form.rate-department input[value='2']")
    street.fill("form.rate-department input[name=comment]", "超时未报到")
    street.click("form.rate-department button[type=submit]")
    street.wait_for_selector("#department-panel:has-text('街道评分')")
    call.refresh_from_db()
    assert call.late is True and call.rating == 2
