"""Browser test of mediation: the grid worker registers a dispute on patrol with the phone, community staff assign
the legal adviser, the adviser records the session and the agreement on the phone and downloads the agreement to
sign; the follow-up visit finds it kept and the dispute is closed. Phones at 375 px, no horizontal scroll."""

from __future__ import annotations

import pytest

from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, make_user, measure
from tongxin.mediation import services
from tongxin.mediation.choices import MediatorKind
from tongxin.mediation.models import Dispute

pytestmark = [pytest.mark.browser]


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_a_dispute_from_patrol_to_a_kept_agreement(live_server, world, new_page):
    lawyer_user = make_user("lawyer_liu")
    services.add_mediator(
        world.users["staff_a"],
        community=world.community_a,
        kind=MediatorKind.LEGAL_ADVISER,
        name="刘律师",
        organisation="正信律师事务所",
        user=lawyer_user,
    )

    grid = new_page(PHONE)
    login(grid, "grid_1", PASSWORD)
    grid.goto("/mediation/new/")
    grid.select_option("select[name=kind]", "neighbours")
    grid.fill("input[name=title]", "楼上漏水殃及楼下")
    grid.fill("textarea[name=description]", "卫生间防水层破损，楼下天花板霉变。")
    grid.fill("input[name=applicant_name]", "张三")
    grid.fill("input[name=applicant_phone]", "13912345678")
    grid.fill("input[name=respondent_name]", "李四")
    grid.click("form.stack button")
    grid.wait_for_selector("h1:has-text('楼上漏水殃及楼下')")
    assert "13912345678" not in grid.content()  # masked
    no_horizontal_scroll(grid)
    dispute = Dispute.objects.get(title="楼上漏水殃及楼下")

    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto(f"/mediation/{dispute.pk}/")
    staff.click("form:has(input[value=assign]) button")
    staff.wait_for_selector("text=刘律师（")

    lawyer = new_page(PHONE)
    login(lawyer, "lawyer_liu", PASSWORD)
    lawyer.goto("/mediation/")
    lawyer.click(f"[data-dispute='{dispute.pk}'] a")
    lawyer.fill("textarea[name=notes]", "双方到场，物业查明漏点在楼上卫生间。")
    lawyer.click("form:has(input[value=session]) button")
    lawyer.wait_for_selector("text=物业查明漏点")
    lawyer.fill("textarea[name=text]", "李四负责维修防水层并赔偿张三500元。")
    lawyer.click("form:has(input[value=agreement]) button")
    lawyer.wait_for_selector("text=协议书 PDF")
    no_horizontal_scroll(lawyer)
    measure(lawyer, "mediation_detail")
    with lawyer.expect_download() as download:
        lawyer.click("text=协议书 PDF")
    assert download.value.suggested_filename.endswith(".pdf")
    lawyer.click("button[name=kept][value='1']")
    lawyer.wait_for_selector("text=已结案")
    dispute.refresh_from_db()
    assert dispute.state == "closed"
    for page in (grid, staff, lawyer):
        assert page.outside_requests == []
