"""Against the real broker (Mosquitto on MQTT_URL; skipped with a message when none answers): a burst-pipe pressure
drop opens exactly one case routed to the property company, a thousand more low readings open no second one,
malformed payloads are counted while the subscriber keeps running, and a subscriber that dies and comes back loses
no reading (persistent session, QoS 1, acknowledged after commit)."""

from __future__ import annotations

import json
import time

from django.db.models import Sum

from tongxin.cases.choices import CaseState
from tongxin.cases.models import Case
from tongxin.sensors.choices import AlertState, Rejection
from tongxin.sensors.models import Alert, IngestCount, Reading
from tongxin.sensors.tests.conftest import at, pump_until


def payload(t, v) -> str:
    return json.dumps({"t": t.isoformat(), "v": v})


def counted(outcome: str) -> int:
    return IngestCount.objects.filter(outcome=outcome).aggregate(n=Sum("count"))["n"] or 0


def test_burst_pipe_opens_one_case_routed_to_the_property_company(world, pump, publisher, subscriber_factory):
    # given the subscriber and a pump-room pressure sensor reading a normal 0.35 MPa
    sub = subscriber_factory()
    publisher.send_many([(pump.serial, payload(at(i), 0.35)) for i in range(5)])
    pump_until(sub, lambda: Reading.objects.filter(device=pump).count() == 5)
    assert not Case.objects.exists()
    # when the pressure drops to 0.04 MPa (a burst pipe)
    publisher.send(pump.serial, payload(at(5), 0.04))
    pump_until(sub, lambda: Alert.objects.exists())
    # then exactly one case is open, filed under the sensor channel, dispatched to the property company
    case = Case.objects.get()
    assert case.property_company == world.property_company
    assert case.state == CaseState.DISPATCHED
    assert case.estate_id == world.estate_a.pk and case.community_id == world.community_a.pk
    assert case.category.service_code == "utilities"
    assert "1号泵房" in case.description and "0.04MPa" in case.description
    alert = Alert.objects.get()
    assert alert.case == case and alert.state == AlertState.ACTIVE and alert.rule == "low"

    # when 1,000 more low readings arrive
    publisher.send_many([(pump.serial, payload(at(6 + i / 10), 0.03)) for i in range(1000)])
    pump_until(sub, lambda: Reading.objects.filter(device=pump).count() == 1006)
    # then no second case is opened; the one alert counts every low reading
    assert Case.objects.count() == 1
    alert.refresh_from_db()
    assert alert.crossings == 1001 and alert.state == AlertState.ACTIVE


def test_recovery_is_recorded_on_the_case(world, pump, publisher, subscriber_factory):
    # given an open alert after a pressure drop
    sub = subscriber_factory()
    publisher.send_many([(pump.serial, payload(at(0), 0.35)), (pump.serial, payload(at(1), 0.02))])
    pump_until(sub, lambda: Alert.objects.exists())
    case = Case.objects.get()
    # when three normal readings follow (the device's recover_after)
    publisher.send_many([(pump.serial, payload(at(2 + i), 0.36)) for i in range(3)])
    pump_until(sub, lambda: Alert.objects.filter(state=AlertState.RECOVERED).exists())
    # then the case carries a comment saying so, and stays with its handler
    comments = [e.payload["text"] for e in case.events.filter(type="comment")]
    assert any("恢复正常" in c for c in comments)
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED


def test_malformed_payloads_are_counted_and_the_subscriber_keeps_running(pump, publisher, subscriber_factory):
    # given a running subscriber
    sub = subscriber_factory()
    # when garbage, wrong shapes, an unknown device and an impossible value arrive among good readings
    publisher.send(pump.serial, b"\xff\xfe not json")
    publisher.send(pump.serial, "{}")
    publisher.send(pump.serial, json.dumps([{"t": "yesterday", "v": 1}]))
    publisher.send(pump.serial, "[1, 2, 3]")
    publisher.send("NO-SUCH-DEVICE", payload(at(0), 0.3))
    publisher.send(pump.serial, payload(at(1), 99.0))
    publisher.send(pump.serial, payload(at(2), 0.33))
    pump_until(sub, lambda: Reading.objects.filter(device=pump).exists())
    pump_until(sub, lambda: counted(Rejection.MALFORMED) >= 4)
    # then each bad payload is counted under its reason, the good reading is stored, nothing crashed
    assert counted(Rejection.MALFORMED) == 4
    assert counted(Rejection.UNKNOWN_DEVICE) == 1
    assert counted(Rejection.IMPOSSIBLE_VALUE) == 1
    assert counted("stored") == 1
    # and it goes on storing what comes next
    publisher.send(pump.serial, payload(at(3), 0.34))
    pump_until(sub, lambda: Reading.objects.filter(device=pump).count() == 2)


def test_a_restarted_subscriber_loses_no_reading(pump, publisher, subscriber_factory):
    # given a subscriber that has received 200 readings but dies before storing them (no acknowledgement)
    first = subscriber_factory(batch_size=100000)
    first.flush_interval = 3600
    publisher.send_many([(pump.serial, payload(at(i / 60), 0.35)) for i in range(200)])
    deadline = time.monotonic() + 10
    while len(first.queue) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(first.queue) == 200 and not Reading.objects.exists()
    first.kill()
    # when 300 more readings are published while no subscriber runs
    publisher.send_many([(pump.serial, payload(at(200 + i / 60), 0.35)) for i in range(300)])
    # and a new subscriber with the same client id (the same session) starts
    second = subscriber_factory()
    assert second.session_present is True
    pump_until(second, lambda: Reading.objects.filter(device=pump).count() >= 500, timeout=30)
    time.sleep(0.3)
    second.flush()
    # then every reading is stored exactly once
    assert Reading.objects.filter(device=pump).count() == 500
    assert counted("stored") == 500
