"""Notifications people see: the bell, the inbox, the API, preferences, SMS/WeChat channels, never twice."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from tongxin.accounts import services as accounts
from tongxin.cases import services as cases
from tongxin.cases.tests.core_fixtures import new_case
from tongxin.core import notifications
from tongxin.core.models import Delivery, Notification, NotificationAddress, NotificationPreference
from tongxin.core.pii import encrypt, mask

LIAISON_PHONE = "17000001715"


def set_phone(user, phone: str) -> None:
    NotificationAddress.objects.update_or_create(
        user=user, defaults={"phone_enc": encrypt(phone), "phone_masked": mask(phone)}
    )


def bell(client: Client) -> int:
    html = client.get("/").content.decode()
    found = re.search(r'class="bell"[^>]*data-unread="(\d+)"', html)
    assert found, "no bell on the page"
    return int(found.group(1))


def test_dispatch_lights_the_handlers_bell_in_the_same_request_cycle(
    world, sms, django_capture_on_commit_callbacks
):
    # given a case and the grid worker who will handle it (its 新诉求 message, written with the case, unread)
    case = new_case(world)
    worker = world.client("grid_1")
    assert bell(worker) == 1
    # when community staff dispatch it to the worker (the service commits and sends on commit)
    with django_capture_on_commit_callbacks(execute=True):
        cases.dispatch(case, world.users["staff_a"], assignee=world.users["grid_1"])
    # then the worker's very next page shows one more on the bell, and the API agrees
    assert bell(worker) == 2
    assert worker.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    # and dispatch is urgent: it also went out by SMS (the worker has no phone: recorded as skipped, not lost)
    row = Delivery.objects.get(user=world.users["grid_1"], channel="sms")
    assert row.status == Delivery.Status.SKIPPED and row.kind == "case_dispatched"
    # and the dispatcher's bell stays dark
    assert bell(world.client("staff_a")) == 0


def test_a_whistle_reaches_the_liaisons_inbox_and_sms_exactly_once(
    world, sms, django_capture_on_commit_callbacks
):
    # given a department liaison with an SMS number, and a case
    liaison = world.users["department"]
    set_phone(liaison, LIAISON_PHONE)
    case = new_case(world, code="city-management", description="小区门口违章搭建")
    # when the subdistrict whistles the department
    with django_capture_on_commit_callbacks(execute=True):
        cases.whistle(case, world.users["admin"], [world.department])
    # then one message is in the liaison's inbox and one SMS went to their number
    notes = list(Notification.objects.filter(user=liaison))
    assert [n.kind for n in notes] == ["case_whistled"]
    assert [p for p, _text in sms] == [LIAISON_PHONE]
    assert case.number in sms[0][1]
    # when the same event is emitted again (a retried task, a double submit)
    note = notes[0]
    for _ in range(2):
        notifications.notify(
            [liaison], note.subject, note.body, note.link, kind="case_whistled", on_commit=False
        )
    # then nothing more is sent on either channel
    assert Notification.objects.filter(user=liaison).count() == 1
    assert len(sms) == 1
    # and the liaison reads it in the inbox page
    page = world.client("department").get("/inbox/").content.decode()
    assert note.subject in page and LIAISON_PHONE not in page


def test_the_same_kind_for_a_new_event_is_sent_again(world, sms):
    # given a message sent to a user about an object
    user = world.users["department"]
    set_phone(user, LIAISON_PHONE)
    send = lambda event: notifications.notify(  # noqa: E731
        [user], "吹哨", "", "/cases/9/", kind="case_whistled", event=event, on_commit=False
    )
    send("whistle:1")
    send("whistle:1")
    # when the emitter names a new event of the same kind on the same object
    send("whistle:2")
    # then it arrives again, once per event
    assert Notification.objects.filter(user=user).count() == 2 and len(sms) == 2


def test_a_user_who_turns_sms_off_still_gets_the_inbox(world, sms, django_capture_on_commit_callbacks):
    # given a liaison with a phone who unticks SMS for whistles on the preferences page (keeps everything else)
    liaison = world.users["department"]
    set_phone(liaison, LIAISON_PHONE)
    c = world.client("department")
    page = c.get("/inbox/preferences/").content.decode()
    ticked = re.findall(r'name="on" value="([^"]+)"[^>]*checked', page)
    assert "case_whistled:sms" in ticked
    response = c.post("/inbox/preferences/", {"on": [v for v in ticked if v != "case_whistled:sms"]})
    assert response.status_code == 302
    # when they are whistled
    case = new_case(world, code="city-management")
    with django_capture_on_commit_callbacks(execute=True):
        cases.whistle(case, world.users["admin"], [world.department])
    # then the inbox has it and no SMS was sent
    assert Notification.objects.filter(user=liaison, kind="case_whistled").count() == 1
    assert sms == []
    assert (
        NotificationPreference.objects.get(user=liaison, kind="case_whistled", channel="sms").enabled is False
    )


def test_preferences_store_the_sms_number_encrypted_and_show_it_masked(world):
    c = world.client("grid_1")
    # when a grid worker sets an SMS number
    assert c.post("/inbox/preferences/", {"phone": "170 0000 2026", "on": []}).status_code == 302
    address = NotificationAddress.objects.get(user=world.users["grid_1"])
    # then it is stored encrypted, shown masked, and used for SMS
    assert "17000002026" not in address.phone_enc and address.phone_masked == "170****2026"
    page = c.get("/inbox/preferences/").content.decode()
    assert "170****2026" in page and "17000002026" not in page
    assert notifications.phones_of([world.users["grid_1"].pk]) == {world.users["grid_1"].pk: "17000002026"}
    # and a wrong number is refused with a message, changing nothing
    page = c.post("/inbox/preferences/", {"phone": "12345"}).content.decode()
    assert "11位手机号" in page
    address.refresh_from_db()
    assert address.phone_masked == "170****2026"
    # and the remove button clears it
    c.post("/inbox/preferences/", {"phone": "", "clear_phone": "1"})
    address.refresh_from_db()
    assert address.phone_masked == "" and address.phone_enc == ""


def test_opening_a_notification_marks_it_read_and_follows_its_link(world):
    # given two unread notifications for a grid worker and one for someone else
    worker, other = world.users["grid_1"], world.users["grid_3"]
    notifications.notify([worker], "新工单", "漏水", "/cases/1/", kind="case_dispatched", on_commit=False)
    notifications.notify([worker], "外链", "", "https://example.org/", kind="x", on_commit=False)
    notifications.notify([other], "别人的", "", "/cases/2/", kind="x", on_commit=False)
    c = world.client("grid_1")
    mine = Notification.objects.filter(user=worker).order_by("id")
    # when the worker opens the first from the inbox
    response = c.post(f"/inbox/{mine[0].pk}/open/")
    # then it is read and they land on the case
    assert response.status_code == 302 and response["Location"] == "/cases/1/"
    assert Notification.objects.get(pk=mine[0].pk).read_at is not None
    assert bell(c) == 1
    # and a link off the site is not followed
    assert c.post(f"/inbox/{mine[1].pk}/open/")["Location"] == "/inbox/"
    # and someone else's notification is not found, and stays unread
    theirs = Notification.objects.get(user=other)
    assert c.post(f"/inbox/{theirs.pk}/open/").status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    # and opening needs POST
    assert c.get(f"/inbox/{mine[0].pk}/open/").status_code == 405


def test_mark_all_read_and_the_unread_filter(world):
    worker = world.users["grid_1"]
    for i in range(3):
        notifications.notify([worker], f"消息{i}", "", f"/cases/{i}/", kind="x", on_commit=False)
    notifications.notify([world.users["grid_3"]], "别人的", "", "/cases/9/", kind="x", on_commit=False)
    c = world.client("grid_1")
    assert "消息2" in c.get("/inbox/?unread=1").content.decode()
    c.post("/inbox/read-all/")
    assert bell(c) == 0
    assert "没有未读消息" in c.get("/inbox/?unread=1").content.decode()
    # another user's notifications are untouched
    assert accounts.unread_count(world.users["grid_3"]) == 1


def test_inbox_pages_need_a_signed_in_user(db):
    c = Client()
    for url in ("/inbox/", "/inbox/preferences/"):
        response = c.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_inbox_page_query_count_does_not_grow_with_notifications(world, django_assert_max_num_queries):
    worker = world.users["grid_1"]
    c = world.client("grid_1")
    notifications.notify([worker], "一", "", "/cases/1/", kind="x", on_commit=False)
    with django_assert_max_num_queries(12) as few:
        c.get("/inbox/")
    for i in range(40):
        notifications.notify([worker], f"消息{i}", "", f"/cases/{i + 2}/", kind="x", on_commit=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get("/inbox/")


# --- API ---------------------------------------------------------------------------------------------------


def test_api_lists_reads_and_counts_my_notifications(world, django_assert_max_num_queries):
    worker = world.users["grid_1"]
    for i in range(3):
        notifications.notify(
            [worker], f"消息{i}", "正文", f"/cases/{i}/", kind="case_dispatched", on_commit=False
        )
    notifications.notify([world.users["grid_3"]], "别人的", "", "/cases/9/", kind="x", on_commit=False)
    c = world.client("grid_1")
    # the list is the one envelope, newest first, only mine
    with django_assert_max_num_queries(8):
        body = c.get("/api/v1/notifications?page_size=2").json()
    assert (body["count"], body["page"], body["page_size"]) == (3, 1, 2)
    assert [n["subject"] for n in body["items"]] == ["消息2", "消息1"]
    assert body["items"][0]["read_at"] is None and body["items"][0]["link"] == "/cases/2/"
    # mark one read
    first = body["items"][0]["id"]
    read = c.post(f"/api/v1/notifications/{first}/read").json()
    assert read["id"] == first and read["read_at"] is not None
    assert c.get("/api/v1/notifications/unread-count").json() == {"unread": 2}
    assert c.get("/api/v1/notifications?unread=true").json()["count"] == 2
    # someone else's is not found, in the one error body
    theirs = Notification.objects.get(user=world.users["grid_3"]).pk
    response = c.post(f"/api/v1/notifications/{theirs}/read")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # mark all read
    assert c.post("/api/v1/notifications/read-all").json() == {"marked": 2}
    assert c.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_api_notifications_need_authentication(db):
    response = Client().get("/api/v1/notifications")
    assert response.status_code == 401 and response.json()["code"] == "unauthenticated"


# --- channels ----------------------------------------------------------------------------------------------


def test_console_sms_log_masks_the_number_and_hides_codes(caplog):
    # given the development SMS backend
    backend = notifications.ConsoleSMSBackend()
    # when it sends a one-time code and a notification that mentions a phone
    with caplog.at_level(logging.INFO, logger="tongxin.notifications"):
        backend.send("13900000002", "【同心】您的登录验证码是483920，5分钟内有效。")
        backend.send("13900000003", "居民13812345678来电：楼顶漏水 GH20261127-0042")
    text = caplog.text
    # then the log has neither a full number nor the code
    assert "13900000002" not in text and "139****0002" in text
    assert "483920" not in text and "******" in text
    assert "13812345678" not in text and "138****5678" in text
    assert "GH20261127-0042" in text  # identifiers that are not codes stay readable


class FakeWeChat(notifications.WeChatBackend):
    sent: list[tuple[str, str, dict, str]] = []

    def send_template(self, openid: str, template_id: str, data: dict[str, str], url: str) -> None:
        FakeWeChat.sent.append((openid, template_id, data, url))


def test_wechat_template_messages_go_through_the_configured_backend_once(world, settings):
    # given a WeChat backend, a template for whistles, and a liaison who bound the official account
    settings.WECHAT_BACKEND = f"{__name__}.FakeWeChat"
    settings.WECHAT_TEMPLATES = {"case_whistled": "TPL-WHISTLE"}
    settings.SITE_URL = "https://tongxin.example"
    FakeWeChat.sent = []
    liaison = world.users["department"]
    NotificationAddress.objects.create(user=liaison, wechat_openid="oAbCdEf123456")
    # when a whistle is emitted twice, and a kind without a template once
    for _ in range(2):
        notifications.notify(
            [liaison], "街道吹哨", "请报到", "/cases/5/", kind="case_whistled", on_commit=False
        )
    notifications.notify([liaison], "到期", "", "/cases/5/", kind="case_red", on_commit=False)
    # then one template message went out, to the openid, with the template, linking the case
    assert FakeWeChat.sent == [
        (
            "oAbCdEf123456",
            "TPL-WHISTLE",
            {"first": "街道吹哨", "remark": "请报到"},
            "https://tongxin.example/cases/5/",
        )
    ]
    row = Delivery.objects.get(channel="wechat")
    assert row.status == Delivery.Status.SENT and "oAbCdEf123456" not in row.address


def test_a_failing_gateway_is_recorded_and_does_not_break_the_service(world, settings):
    settings.SMS_BACKEND = f"{__name__}.BrokenSMS"
    liaison = world.users["department"]
    set_phone(liaison, LIAISON_PHONE)
    notifications.notify([liaison], "吹哨", "", "/cases/1/", kind="case_whistled", on_commit=False)
    row = Delivery.objects.get(channel="sms")
    assert row.status == Delivery.Status.FAILED and LIAISON_PHONE not in row.detail
    assert row.address == "170****1715"
    assert Notification.objects.filter(user=liaison).count() == 1


class BrokenSMS(notifications.SMSBackend):
    def send(self, phone: str, text: str) -> None:
        raise ConnectionError(f"gateway refused {phone}")


def test_legacy_kind_names_share_the_new_kinds_defaults(world, sms):
    # given the sweep's name for a red card, when it is emitted, then it goes by SMS like case_red_card
    user = world.users["admin"]
    set_phone(user, "17000009999")
    notifications.notify([user], "红牌", "", "/cases/3/", kind="case_red", on_commit=False)
    assert [p for p, _t in sms] == ["17000009999"]
    assert Notification.objects.get(user=user).kind == "case_red"  # stored as emitted


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_emissions_of_one_event_send_once(world, sms):
    import threading

    from django.db import connection

    # given two users with SMS numbers and one event emitted by 6 workers at the same moment
    users = [world.users["department"], world.users["admin"]]
    for i, user in enumerate(users):
        set_phone(user, f"1700000{i:04d}")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def emit() -> None:
        try:
            barrier.wait()
            notifications.notify(users, "吹哨", "", "/cases/77/", kind="case_whistled", on_commit=False)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=emit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then each user got one inbox row and one SMS, whichever worker won each key
    assert errors == []
    for user in users:
        assert Notification.objects.filter(user=user, link="/cases/77/").count() == 1
    assert sorted(p for p, _t in sms) == ["17000000000", "17000000001"]
