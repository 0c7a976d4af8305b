"""Browser test (issue 11, acceptance 3): a matter goes from a resident's proposal on the phone to a published
implementation result, with a 四方联席会议 and a building vote in between.

Given three households in 富丰新城 12栋2单元 (业主0 and 业主1 with accounts, 王五 without), when 业主0 raises a matter on
his phone, 业主1 supports it, community staff move it to 协调, convene a 四方联席会议 with it on the agenda and record
the decision, save the five-step plan, open a building vote, both owners vote on their phones (业主1 changes his
mind once), staff close the vote, record progress and finish, then 业主0 sees every stage's outcome published on his
phone. Phones at 375 px, no horizontal scroll.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongxin.assembly.models import Ballot, Matter, Vote
from tongxin.assembly.tests.conftest import add_owner
from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, measure
from tongxin.core.models import Notification

pytestmark = [pytest.mark.browser]


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_a_residents_proposal_becomes_a_published_result(live_server, world, new_page):
    owner0 = add_owner(world, "b1", "601", "业主0", 100, account="owner_0")
    owner1 = add_owner(world, "b1", "602", "业主1", 101, account="owner_1")
    building = world.dwellings["b1"].building

    # the resident raises the matter on his phone
    me = new_page(PHONE)
    login(me, "owner_0", PASSWORD)
    me.goto("/assembly/m/")
    me.click("text=我要提议题")
    me.fill("#id_title", "12栋更换防火门")
    me.fill("#id_description", "12栋防火门老化，关不严，存在消防隐患。")
    me.select_option("#id_place", str(building.pk))
    me.click("#submit-matter")
    me.wait_for_selector("h1:has-text('12栋更换防火门')")
    matter = Matter.objects.get(title="12栋更换防火门")
    assert matter.source == "resident" and matter.building_id == building.pk
    no_horizontal_scroll(me)
    measure(me, "assembly_mine_detail")

    # a neighbour supports it on his phone
    neighbour = new_page(PHONE)
    login(neighbour, "owner_1", PASSWORD)
    neighbour.goto(f"/assembly/m/{matter.pk}/")
    neighbour.click("#support")
    neighbour.wait_for_selector("text=您已附议")
    matter.refresh_from_db()
    assert matter.supports == 1

    # community staff move it to coordination and convene a four-party meeting with it on the agenda
    staff = new_page(DESKTOP)
    login(staff, "staff_b", PASSWORD)
    staff.goto(f"/assembly/{matter.pk}/")
    staff.fill("#advance input[name=note]", "征集意见结束，提交四方联席会议")
    staff.click("#advance button[value=coordination]")
    staff.wait_for_selector("#plan")
    staff.goto("/assembly/meetings/new/")
    staff.select_option("#id_kind", "four_party")
    staff.fill("#id_title", "富丰新城四方联席会议")
    staff.fill("#id_starts_at", (timezone.localtime() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    staff.fill("#id_location", "大新社区党群服务中心")
    staff.check(f"input[name=agenda][value='{matter.pk}']")
    staff.click("#meeting-form button")
    staff.wait_for_selector("#minutes")
    staff.fill(
        "#minutes textarea[name=minutes]", "社区党委、居委会、业委会、物业四方到会，议定更换12栋防火门。"
    )
    staff.fill(
        f"#minutes textarea[name=decision_{matter.pk}]",
        "由物业公司实施，费用从公共收益列支，先由本楼住户表决",
    )
    staff.click("#minutes button")
    staff.wait_for_selector("text=由物业公司实施")
    assert matter.decisions.count() == 1

    # the five steps and the building vote
    staff.goto(f"/assembly/{matter.pk}/")
    staff.fill("#id_where", "四方联席会议")
    staff.fill("#id_what", "更换12栋防火门")
    staff.fill("#id_who", "社区党委、居委会、业委会、物业公司")
    staff.fill("#id_how", "联席会议协商，本楼住户表决")
    staff.fill("#id_carry_out", "物业公司采购安装，业委会监督")
    staff.fill("#id_responsible", "富丰物业")
    staff.click("#plan button")
    staff.wait_for_selector("#open-vote")
    staff.fill("#id_title", "是否同意更换12栋防火门")
    staff.select_option("#id_electorate", "households")
    staff.select_option("#id_place", str(building.pk))
    staff.fill("#id_closes_at", (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    staff.click("#open-vote button")
    staff.wait_for_selector("[data-sheet]")
    vote = Vote.objects.get(matter=matter)
    assert vote.electors.count() == 3  # 601, 602 and 王五's 501

    # both owners vote on their phones; 业主1 changes his mind before the deadline
    me.goto("/assembly/m/")
    me.click(f"[data-vote='{vote.pk}'] a")
    me.click("button[value=agree]")
    me.wait_for_selector("[data-current=agree]")
    no_horizontal_scroll(me)
    measure(me, "assembly_ballot")
    neighbour.goto(f"/assembly/m/votes/{vote.pk}/")
    neighbour.click("button[value=against]")
    neighbour.wait_for_selector("[data-current=against]")
    neighbour.click("button[value=agree]")
    neighbour.wait_for_selector("[data-current=agree]")
    assert list(Ballot.objects.filter(vote=vote).values_list("choice", flat=True)) == ["agree", "agree"]

    # staff close the vote: 2 of 3 households took part and both agreed
    staff.goto(f"/assembly/votes/{vote.pk}/")
    staff.click("#close-vote button")
    staff.wait_for_selector("[data-verdict]:has-text('通过')")
    measure(staff, "assembly_vote")
    matter.refresh_from_db()
    assert matter.stage == "implementation"

    # implementation: a milestone, then the result
    staff.goto(f"/assembly/{matter.pk}/")
    staff.fill("#milestone input[name=title]", "防火门到货，开始安装")
    staff.fill("#milestone input[name=progress]", "60")
    staff.fill("#milestone input[name=cost]", "18600")
    staff.click("#milestone button")
    staff.wait_for_selector("text=防火门到货")
    staff.fill("#finish textarea[name=result]", "12栋20樘防火门已全部更换，业委会验收合格。")
    staff.click("#finish button")
    staff.wait_for_selector(".stages li.current:has-text('已办结')")
    measure(staff, "assembly_detail")

    # the resident sees each stage's outcome on his phone (件件有回音), and has them in his inbox
    me.goto(f"/assembly/m/{matter.pk}/")
    me.wait_for_selector("[data-published]:has-text('已实施完毕')")
    published = me.locator("[data-published]").all_inner_texts()
    assert any("转入协调" in t for t in published) and any("进入表决" in t for t in published)
    assert any("20樘防火门" in t for t in published)
    no_horizontal_scroll(me)
    assert Notification.objects.filter(user=owner0.user, kind="assembly_outcome").count() >= 4
    assert Notification.objects.filter(user=owner1.user, kind="assembly_outcome").exists()
    for page in (me, neighbour, staff):
        assert page.outside_requests == []
