"""Browser test (issue 12, acceptance 3): a community notice about the 安心码 goes down to 锦绣江山; the grid worker
passes the estate on; the 单元长 of 3栋2单元 confirms for the entrance on the phone; two households read it on their
own phones; one is recorded door to door; the coverage shows exactly that. Phones at 375 px, no horizontal scroll.
"""

from __future__ import annotations

import pytest

from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, measure
from tongxin.notices import leaders
from tongxin.notices.choices import LeaderRole, ReceiptChannel, ReceiptStatus, RelayState
from tongxin.notices.models import Notice, Receipt, Relay
from tongxin.notices.tests.conftest import add_household

pytestmark = [pytest.mark.browser]


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_anxin_code_notice_cascades_to_jinxiu_households(live_server, world, new_page):
    # given 3栋2单元 of 锦绣江山 with 张三 (account), 周九 (its 单元长), 赵六 and 钱七 (accounts), 孙八 (no phone)
    entrance = world.dwellings["a1"].entrance
    zhou = add_household(world, "a1", "301", "周九", 21, account="zhou9")
    zhao = add_household(world, "a1", "502", "赵六", 22, account="zhao6")
    qian = add_household(world, "a1", "601", "钱七", 23, account="qian7")
    sun = add_household(world, "a1", "602", "孙八", 24)
    leaders.assign(world.users["staff_a"], role=LeaderRole.ENTRANCE_LEADER, resident=zhou, place=entrance)

    # when community staff write the notice and send it to 锦绣江山
    staff = new_page(DESKTOP)
    login(staff, "staff_a", PASSWORD)
    staff.goto("/notices/new/")
    staff.fill("#id_title", "安心码使用说明")
    staff.fill("#id_body", "安心码已启用，请各户按说明扫码登记，有困难的请联系单元长。")
    staff.select_option("#id_target", label="小区 · 锦绣江山")
    staff.select_option("#id_action", "confirm")
    staff.click("button[name=send]")
    staff.wait_for_selector("#notice-state:has-text('已发送')")
    notice = Notice.objects.get(title="安心码使用说明")
    assert notice.households == 6  # five in 3栋2单元, 李四 in 5栋
    measure(staff, "notice_detail")

    # the grid worker of 锦绣江山's grid passes the estate level on from the coverage page (on the phone)
    grid = new_page(PHONE)
    login(grid, "grid_1", PASSWORD)
    grid.goto(f"/notices/{notice.pk}/coverage/")
    grid.click("button[data-pass-on]")
    grid.wait_for_selector(".messages")
    assert Relay.objects.get(notice=notice, level="estate").state == RelayState.PASSED_ON
    no_horizontal_scroll(grid)

    # the 单元长 finds it on the phone home page and confirms for 2单元
    leader = new_page(PHONE)
    login(leader, "zhou9", PASSWORD)
    leader.goto("/notices/leader/")
    leader.wait_for_selector("#pending-relays")
    no_horizontal_scroll(leader)
    measure(leader, "leader_home")
    leader.click("#pending-relays a")
    leader.click("#relays button:has-text('确认已转达')")
    leader.wait_for_selector("#relays .state-passed_on")
    no_horizontal_scroll(leader)

    # two households read it on their own phones
    for username in ("zhao6", "qian7"):
        phone = new_page(PHONE)
        login(phone, username, PASSWORD)
        phone.goto("/notices/m/")
        phone.click(f"li[data-notice='{notice.pk}'] a")
        phone.wait_for_selector("#receipt-status:has-text('已读')")
        no_horizontal_scroll(phone)
    measure(phone, "notice_household")

    # and the 单元长 records 孙八 door to door
    sun_receipt = Receipt.objects.get(notice=notice, household=sun.household)
    leader.click(f"li[data-receipt='{sun_receipt.pk}'] button[value=door]")
    leader.wait_for_selector(f"li[data-receipt='{sun_receipt.pk}'][data-status=confirmed]")
    measure(leader, "leader_notice")

    # then the coverage shows exactly that: 3 of 6 households, 1 recorded by the 单元长, 2单元 passed on by 周九
    staff.goto(f"/notices/{notice.pk}/coverage/")
    total = staff.locator("#coverage-total").inner_text()
    assert "3/6" in total.replace(" ", "")
    building3 = staff.locator(f"li[data-region='{world.dwellings['a1'].building_id}']")
    assert (
        building3.get_attribute("data-reached") == "3" and building3.get_attribute("data-households") == "5"
    )
    assert "单元已转达1/1" in building3.inner_text().replace(" ", "")
    building5 = staff.locator(f"li[data-region='{world.dwellings['a2'].building_id}']")
    assert building5.get_attribute("data-reached") == "0" and "滞后" in building5.inner_text()
    measure(staff, "notice_coverage")
    staff.goto(f"/notices/{notice.pk}/coverage/?node={entrance.pk}")
    statuses = {
        li.get_attribute("data-receipt"): li.get_attribute("data-status")
        for li in staff.locator("#coverage-households li").all()
    }
    by_household = {r.household_id: str(r.pk) for r in Receipt.objects.filter(notice=notice)}
    assert statuses[by_household[zhao.household_id]] == ReceiptStatus.READ
    assert statuses[by_household[qian.household_id]] == ReceiptStatus.READ
    assert statuses[by_household[sun.household_id]] == ReceiptStatus.CONFIRMED
    assert statuses[by_household[zhou.household_id]] == ReceiptStatus.PENDING
    assert statuses[by_household[world.residents["a1"].household_id]] == ReceiptStatus.PENDING
    assert "周九" in staff.locator("#coverage-total").inner_text()
    door = Receipt.objects.get(pk=sun_receipt.pk)
    assert door.channel == ReceiptChannel.DOOR and door.recorded_by_id == zhou.user_id
    for page in (staff, grid, leader):
        assert page.outside_requests == []
