"""The 1715 steps on the staff case page, on a grid worker's phone (375 px): 到场 with a site photo and the time,
形成方案, 进展, 办结 with a result photo — each a button the policy shows — then a colleague's 回访."""

from __future__ import annotations

import pytest

from tongxin.cases import services
from tongxin.cases.choices import CaseState, EventType
from tongxin.cases.models import Case
from tongxin.cases.tests.core_fixtures import new_case
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login

pytestmark = [pytest.mark.browser]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def act(page, name: str) -> None:
    details = page.locator(f"details[data-action={name}]")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def submit(page, name: str) -> None:
    page.click(f"details[data-action={name}] button[type=submit]")
    page.wait_for_selector(".messages")


def test_grid_worker_works_a_1715_case_on_the_phone(world, new_page, settings, tmp_path, default_categories):
    # given a leak dispatched to the grid worker
    settings.MEDIA_ROOT = tmp_path
    case = new_case(world, now=None, description="楼顶漏水，请联系139 1234 5678")
    services.dispatch(case.pk, world.users["staff_a"], assignee=world.users["grid_1"])
    page = new_page(PHONE)
    login(page, "grid_1", PASSWORD)
    page.goto(f"/cases/{case.pk}/")
    # the policy shows the worker's steps (and, in his own grid, the dispatcher's: 转单, 合并 …)
    shown = set(page.locator("details[data-action]").evaluate_all("els => els.map(e => e.dataset.action)"))
    assert {"on-site", "plan", "comment", "resolve", "return"} <= shown
    assert not {"accept", "follow-up", "claim"} & shown
    assert "139 1234 5678" not in page.content() and "139****5678" in page.content()
    # 到场 with a photo of the site
    act(page, "on-site")
    page.set_input_files("#photos-o", files=[{"name": "site.png", "mimeType": "image/png", "buffer": PNG}])
    submit(page, "on-site")
    # 形成方案, 进展
    act(page, "plan")
    page.fill("#plan", "先更换屋面防水卷材，再修复天花板")
    submit(page, "plan")
    act(page, "comment")
    page.fill("#comment-p", "材料已到，明天上午施工")
    submit(page, "comment")
    # 办结 with a photo of the result
    act(page, "resolve")
    page.fill("#result", "防水层已更换，雨后复查不再渗水")
    page.set_input_files("#photos-r", files=[{"name": "done.png", "mimeType": "image/png", "buffer": PNG}])
    submit(page, "resolve")
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.RESOLVED and case.on_site_at is not None and case.plan
    assert sorted(case.photos.values_list("stage", flat=True)) == ["on_site", "result"]
    assert case.events.filter(type=EventType.COMMENT).exists()
    # the page fits the phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the worker who resolved it is not offered the call-back; a colleague records it on the desktop
    page.goto(f"/cases/{case.pk}/")
    assert page.locator("details[data-action=follow-up]").count() == 0
    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto(f"/cases/{case.pk}/")
    act(staff, "follow-up")
    staff.select_option("#rating-f", "satisfied")
    submit(staff, "follow-up")
    case.refresh_from_db()
    assert (case.state, case.rating_source) == (CaseState.CLOSED, "follow_up_call")
