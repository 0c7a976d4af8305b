"""The one-window service: a resident books a slot on the phone and gets a number, the window calls it and hands
the request to the back office once, the back office finishes it within its own deadline, the resident sees it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongxin.conftest import build_world
from tongxin.core.models import Notification
from tongxin.core.policy import PolicyDenied
from tongxin.doorstep import services
from tongxin.doorstep.choices import AppointmentState, RequestState
from tongxin.doorstep.models import Appointment, ServiceRequest, Slot
from tongxin.doorstep.services import DoorstepError
from tongxin.doorstep.tests.conftest import build_hall, resident_user


def test_booking_gives_numbers_in_order_and_refuses_a_full_slot(hall):
    """Given a slot with 3 places; when four residents of A book it, then the first three get A001–A003 and
    the fourth is refused with the reason; the slot counts 3."""
    w = hall.world
    users = [w.users["resident"]] + [resident_user(w, f"booker_{i}", f"居民{i}", 60 + i) for i in range(3)]
    numbers = [services.book(u, hall.slot).queue_number for u in users[:3]]
    assert numbers == ["A001", "A002", "A003"]
    with pytest.raises(DoorstepError) as err:
        services.book(users[3], hall.slot)
    assert "约满" in str(err.value)
    hall.slot.refresh_from_db()
    assert hall.slot.booked == 3


def test_a_resident_cannot_book_twice_nor_another_communitys_slot(hall):
    """Given a booking; when the same resident books again the function, then refused; a resident of B does not
    even see A's slot (404)."""
    services.book(hall.world.users["resident"], hall.slot)
    with pytest.raises(DoorstepError):
        services.book(hall.world.users["resident"], Slot.objects.exclude(pk=hall.slot.pk).first())
    b_user = resident_user(hall.world, "resident_b", "钱七", 70, dwelling="b1")
    with pytest.raises(PolicyDenied) as denied:
        services.book(b_user, hall.slot)
    assert denied.value.decision.value == "not_found"


def test_cancelling_frees_the_place(hall):
    a = services.book(hall.world.users["resident"], hall.slot)
    services.cancel_appointment(hall.world.users["resident"], a)
    hall.slot.refresh_from_db()
    assert hall.slot.booked == 0
    a.refresh_from_db()
    assert a.state == AppointmentState.CANCELLED


def test_window_calls_serves_and_the_back_office_finishes(hall, django_capture_on_commit_callbacks):
    """Given a booked appointment for today; when the window calls the next number and serves it, then one request
    goes to the back office due in the promised 3 days; when the back office finishes it, the resident is told
    and sees it done."""
    w = hall.world
    staff = w.users["staff_a"]
    a = services.book(w.users["resident"], hall.slot)
    Appointment.objects.filter(pk=a.pk).update(day=timezone.localdate())  # the slot's day has come
    with django_capture_on_commit_callbacks(execute=True):
        called = services.call_next(staff, hall.window)
        assert called.pk == a.pk and called.state == AppointmentState.CALLED
        services.serve(staff, called, detail="材料齐全")
    request = ServiceRequest.objects.get(appointment=a)
    assert request.state == RequestState.HANDLING
    assert request.back_office == "社保服务站"
    assert request.due_on == timezone.localdate() + dt.timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.finish(staff, request, result="已参保，社保卡7个工作日后到社区领取")
    request.refresh_from_db()
    assert request.state == RequestState.DONE
    subjects = list(Notification.objects.filter(user=w.users["resident"]).values_list("subject", flat=True))
    assert any("已办结" in s for s in subjects) and any("请到" in s for s in subjects)
    assert [e.type for e in request.events.all()] == ["received", "done"]


def test_walk_ins_get_b_numbers_and_grid_workers_of_b_cannot_work_As_window(hall):
    t = services.take_ticket(hall.world.users["grid_1"], hall.pension, name="路人甲")
    assert t.queue_number == "B001" and t.state == AppointmentState.WAITING
    with pytest.raises(PolicyDenied):
        services.take_ticket(hall.world.users["grid_3"], hall.pension, name="路人乙")
    with pytest.raises(PolicyDenied):
        services.take_ticket(hall.world.users["property"], hall.pension, name="路人丙")


def test_the_back_office_cannot_finish_twice_and_needs_a_result(hall):
    staff = hall.world.users["staff_a"]
    request = services.receive(staff, hall.pension, name="王大爷")
    with pytest.raises(DoorstepError):
        services.finish(staff, request, result=" ")
    services.finish(staff, request, result="办好了")
    with pytest.raises(PolicyDenied):  # the rule's condition: only open requests
        services.finish(staff, request, result="again")
    with pytest.raises(PolicyDenied):
        services.finish(hall.world.users["staff_b"], request, result="x")


@pytest.mark.postgres_only
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks with real threads need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_ten_simultaneous_bookings_of_a_slot_for_three_exactly_three_succeed():
    """Target 2: a slot with capacity 3 receives 10 simultaneous bookings from 10 threads: exactly 3 succeed."""
    world = build_world()
    hall = build_hall(world)
    users = [resident_user(world, f"racer_{i}", f"抢号{i}", 200 + i) for i in range(10)]
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def attempt(user):
        try:
            barrier.wait(timeout=10)
            services.book(user, hall.slot)
            outcomes.append("ok")
        except DoorstepError as exc:
            outcomes.append(getattr(exc, "code", None) or "refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("ok") == 3 and outcomes.count("slot_full") == 7
    hall.slot.refresh_from_db()
    assert hall.slot.booked == 3
    assert Appointment.objects.filter(slot=hall.slot).count() == 3
    assert sorted(Appointment.objects.filter(slot=hall.slot).values_list("queue_number", flat=True)) == [
        "A001",
        "A002",
        "A003",
    ]
