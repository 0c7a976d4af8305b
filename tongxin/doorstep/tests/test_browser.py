"""Browser tests (issue 13, target 3). A resident books a 社保 appointment on the phone (375 px), the window calls
the number and hands the request to the back office, the back office finishes it and the resident sees it done;
the resident books a room. An errand goes from the resident's request to a signed hand-back on the volunteer's
phone and credits the volunteer's hours."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tongxin.conftest import DESKTOP, PASSWORD, PHONE, login, measure
from tongxin.doorstep.choices import RequestState
from tongxin.doorstep.models import Appointment, ServiceRequest, VenueBooking
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import Unit

pytestmark = [pytest.mark.browser]


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_a_pension_appointment_from_the_phone_to_the_back_office_and_back(live_server, hall, new_page):
    # given the 社保 window of 满庭春 with slots tomorrow; when the resident books on the phone
    phone = new_page(PHONE)
    login(phone, "resident_1", PASSWORD)
    phone.goto("/doorstep/m/book/")
    no_horizontal_scroll(phone)
    phone.click("a:has-text('城乡居民养老保险参保登记')")
    phone.wait_for_selector("text=身份证")
    no_horizontal_scroll(phone)
    measure(phone, "doorstep_book")
    phone.click("button[data-slot]")
    phone.wait_for_selector(".number:has-text('A001')")
    no_horizontal_scroll(phone)
    appointment = Appointment.objects.get(resident__user__username="resident_1")
    # the day has come: the appointment is in today's queue
    Appointment.objects.filter(pk=appointment.pk).update(day=timezone.localdate())

    # the window calls the next number and hands the request to the back office
    desk = new_page(DESKTOP)
    login(desk, "staff_a", PASSWORD)
    desk.goto("/doorstep/")
    desk.click("button[value=call_next]")
    desk.wait_for_selector("text=已叫号：A001")
    desk.fill("input[name=detail]", "材料齐全")
    desk.click("button[value=serve]")
    desk.wait_for_selector("text=已受理，转后台办理")
    measure(desk, "doorstep_desk")
    request = ServiceRequest.objects.get(appointment=appointment)
    assert request.state == RequestState.HANDLING

    # the back office finishes it
    desk.goto("/doorstep/requests/")
    desk.click(f"a[href='/doorstep/requests/{request.pk}/']")
    desk.fill("textarea[name=result]", "已参保，社保卡到社区领取")
    desk.click("button[value=finish]")
    desk.wait_for_selector("text=已办结，已通知居民")

    # the resident sees it done, and books the dance room for tomorrow evening
    phone.goto("/doorstep/m/")
    phone.wait_for_selector(".state-done:has-text('已办结')")
    no_horizontal_scroll(phone)
    measure(phone, "doorstep_my_services")
    phone.goto("/doorstep/m/venues/")
    phone.fill("input[name=purpose]", "广场舞排练")
    phone.fill("input[name=attendees]", "12")
    phone.click("form.card button.primary")
    phone.wait_for_selector("text=场地预约成功")
    no_horizontal_scroll(phone)
    assert VenueBooking.objects.filter(venue=hall.room, purpose="广场舞排练").count() == 1
    # the same hour again is refused with the clash named
    phone.fill("input[name=purpose]", "再来一次")
    phone.fill("input[name=attendees]", "5")
    phone.click("form.card button.primary")
    phone.wait_for_selector("text=与已有预约冲突")


def test_an_errand_from_request_to_signed_hand_back_on_the_phone(live_server, hall, new_page):
    # given a resident who asks for an errand on the phone
    resident = new_page(PHONE)
    login(resident, "resident_1", PASSWORD)
    resident.goto("/doorstep/m/errand/")
    resident.select_option("select[name=function]", label="社保 · 城乡居民养老保险参保登记")
    resident.fill("input[name=title]", "代缴养老保险")
    resident.click("button.primary")
    resident.wait_for_selector("text=代办申请已提交")
    no_horizontal_scroll(resident)
    errand = ServiceRequest.objects.get(title="代缴养老保险")

    # when a volunteer living in the community takes it and runs it on the phone
    volunteer = new_page(PHONE)
    login(volunteer, "volunteer_a", PASSWORD)
    volunteer.goto("/doorstep/errands/")
    no_horizontal_scroll(volunteer)
    volunteer.click(f"a[href='/doorstep/errands/{errand.pk}/']")
    volunteer.click("button[value=take]")
    volunteer.fill("textarea[name=documents]", "身份证、户口簿")
    volunteer.fill("input[name=signed_by]", "张三")
    volunteer.click("button[value=hand_in]")
    volunteer.fill("textarea[name=result]", "已缴纳")
    volunteer.click("button[value=finish]")
    volunteer.fill("textarea[name=documents]", "身份证、户口簿、缴费凭证")
    volunteer.fill("input[name=signed_by]", "张三")
    volunteer.fill("input[name=hours]", "1.5")
    volunteer.click("button[value=hand_back]")
    volunteer.wait_for_selector("text=已签字交还")
    no_horizontal_scroll(volunteer)
    measure(volunteer, "doorstep_errand")

    # then the errand is handed back both ways signed, and the volunteer holds the hours
    errand.refresh_from_db()
    assert errand.state == RequestState.HANDED_BACK and errand.hand_overs.count() == 2
    assert ledger.person_account(hall.volunteer.resident, Unit.HOURS).balance == Decimal("1.50")
    resident.goto(f"/doorstep/m/requests/{errand.pk}/")
    resident.wait_for_selector("text=已交还")
    no_horizontal_scroll(resident)
