"""The notification service: in-app, e-mail, webhook and SMS channels, sent once and only on commit."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db import transaction

from tongxin.core import notifications
from tongxin.core.models import Notification
from tongxin.core.notifications import ConsoleSMSBackend


@pytest.mark.django_db(transaction=True)
def test_inapp_sent_on_commit_once_and_not_on_rollback(world):
    user = world.users["staff_a"]
    # when a transaction that notifies rolls back, nothing is sent
    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify([user], "回滚", "x")
        raise RuntimeError
    assert Notification.objects.count() == 0
    # when it commits, exactly one message per user arrives (duplicates in the list collapse)
    with transaction.atomic():
        notifications.notify([user, user.pk, None], "工单即将到期", "请尽快办理", "/cases/1/", kind="k")
        assert Notification.objects.count() == 0
    note = Notification.objects.get()
    assert (note.user_id, note.subject, note.link, note.kind) == (user.pk, "工单即将到期", "/cases/1/", "k")


@pytest.mark.django_db
def test_email_and_sms_channels(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "tongxin.core.notifications.ConsoleSMSBackend"
    staff, resident = world.users["staff_a"], world.users["resident"]
    staff.email = "staff@example.org"
    staff.save()
    ConsoleSMSBackend.outbox.clear()
    notifications.notify([staff, resident], "通知", "内容", channels=("email", "sms"), on_commit=False)
    # e-mail goes to users with an address, SMS to residents with a phone
    assert [m.to for m in mail.outbox] == [["staff@example.org"]]
    assert ConsoleSMSBackend.outbox == [("13900000001", "通知 内容")]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.django_db
def test_webhook_posts_json_and_failures_are_logged_not_raised(world, settings, caplog):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.NOTIFICATION_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
        notifications.notify(
            [world.users["grid_1"]], "吹哨", "请报到", channels=("webhook",), on_commit=False, case="X1"
        )
        assert _Hook.received[-1]["subject"] == "吹哨" and _Hook.received[-1]["case"] == "X1"
    finally:
        server.shutdown()
        server.server_close()
    # a dead endpoint: logged, the caller goes on
    settings.NOTIFICATION_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/gone"
    notifications.WebhookChannel(timeout=0.5).send([notifications.Message((1,), "x")])
    assert "webhook" in caplog.text
