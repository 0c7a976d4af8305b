"""A fresh event's messages (issue 15): the inbox rows in the emitter's transaction, the SMS and WeChat rows as an
outbox the worker sends from after the commit — nothing sent for a rolled back write, nothing sent twice."""

from __future__ import annotations

from django.db import transaction

from tongxin.core import notifications
from tongxin.core.models import Delivery, Notification, NotificationPreference


def emit(world, **kw):
    users = [world.users["resident"], world.users["staff_a"], world.users["grid_1"]]
    notifications.notify(
        users, "新工单 1：漏水", "漏水", "/cases/1/", kind="case_dispatched", fresh=True, **kw
    )


def test_fresh_event_writes_inbox_and_outbox_in_the_transaction_and_the_worker_sends(
    world, sms_outbox, django_capture_on_commit_callbacks
):
    """Given a resident with a phone, a staff member without one and a grid worker who turned SMS off for the kind,
    when a fresh case_dispatched message is emitted in a transaction, then the inbox rows and one pending SMS row
    per user exist before the commit; after the commit the worker sends the resident's SMS once and skips the
    others with the reason; a second run sends nothing."""
    NotificationPreference.objects.create(
        user=world.users["grid_1"], kind="case_dispatched", channel="sms", enabled=False
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        emit(world)
        assert Notification.objects.filter(kind="case_dispatched").count() == 3
        pending = Delivery.objects.filter(channel="sms", status=Delivery.Status.PENDING)
        assert pending.filter(detail=notifications.OUTBOX).count() == 3
    notifications.send_outbox()  # the worker (already run on commit when tasks run immediately)
    sms = {d.user_id: (d.status, d.detail) for d in Delivery.objects.filter(channel="sms")}
    assert sms == {
        world.users["resident"].pk: (Delivery.Status.SENT, ""),
        world.users["staff_a"].pk: (Delivery.Status.SKIPPED, "no address"),
        world.users["grid_1"].pk: (Delivery.Status.SKIPPED, "turned off"),
    }
    assert sms_outbox == [("13900000001", "新工单 1：漏水 漏水")]
    assert notifications.send_outbox() == 0 and len(sms_outbox) == 1


def test_a_rolled_back_fresh_event_leaves_nothing_to_send(
    world, sms_outbox, django_capture_on_commit_callbacks
):
    """Given a fresh message emitted in a transaction that is rolled back, when the worker runs, then there is no
    inbox row, no delivery row and no SMS."""
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                emit(world)
                raise RuntimeError("the write failed")
        except RuntimeError:
            pass
    assert notifications.send_outbox() == 0
    assert not Notification.objects.exists() and not Delivery.objects.exists() and sms_outbox == []


def test_wechat_rows_are_skipped_when_the_channel_is_off(
    world, sms_outbox, django_capture_on_commit_callbacks
):
    """Given no WeChat backend configured, when a fresh case_dispatched message is sent through the outbox, then
    its WeChat rows end skipped (channel off) and the SMS still goes out."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        emit(world)
    notifications.send_outbox()
    wechat = set(Delivery.objects.filter(channel="wechat").values_list("status", "detail"))
    assert wechat == {(Delivery.Status.SKIPPED, "channel off")}
    assert len(sms_outbox) == 1
