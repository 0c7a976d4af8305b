"""Sensor fixtures on top of ``world``: a pump-room pressure sensor in 锦绣江山 (community A) maintained by the
property company that serves it, a water meter in dwelling a1, and MQTT helpers for the real broker."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from tongxin.sensors import services
from tongxin.sensors.choices import DeviceKind
from tongxin.sensors.models import Device
from tongxin.sensors.mqtt import Broker, Subscriber


def make_device(world: Any, serial: str = "MTC-PUMP-01", **extra: Any) -> Device:
    fields: dict[str, Any] = {
        "serial": serial,
        "name": "1号泵房供水压力",
        "kind": DeviceKind.WATER_PRESSURE,
        "place": "1号泵房",
        "region": world.estate_a,
        "property_company": world.property_company,
        **services.defaults_for(extra.get("kind", DeviceKind.WATER_PRESSURE)),
    }
    fields.update(extra)
    return services.register_device(world.users["admin"], Device(**fields))


@pytest.fixture
def pump(world: Any) -> Device:
    return make_device(world)


@pytest.fixture
def meter(world: Any) -> Device:
    return make_device(
        world,
        "MTC-WM-A1",
        name="a1 水表",
        kind=DeviceKind.WATER_METER,
        region=world.dwellings["a1"].entrance,
        dwelling=world.dwellings["a1"],
        place="水表井",
    )


def at(minutes: float, base: dt.datetime | None = None) -> dt.datetime:
    """A time ``minutes`` from a fixed recent base (readings must be within the accepted age)."""
    base = base or timezone.now().replace(microsecond=0) - dt.timedelta(hours=6)
    return base + dt.timedelta(minutes=minutes)


# --- the real broker ----------------------------------------------------------------------------------------


@pytest.fixture
def broker() -> Broker:
    b = Broker.from_url(settings.MQTT_URL)
    if not b.answers():
        pytest.skip(
            f"no MQTT broker answers at {b.host}:{b.port} (MQTT_URL): start mosquitto to run the broker tests, "
            "see docs/sensors.md"
        )
    return b


@pytest.fixture
def topic_prefix(settings: Any) -> str:
    """A prefix of our own, so parallel runs on a shared broker never see each other's messages."""
    settings.SENSORS_TOPIC_PREFIX = f"tongxin-test/{uuid.uuid4().hex[:12]}"
    return settings.SENSORS_TOPIC_PREFIX


class Publisher:
    def __init__(self, broker: Broker, prefix: str) -> None:
        import paho.mqtt.client as mqtt

        self.prefix = prefix
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:10]}", protocol=mqtt.MQTTv5
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, serial: str, payload: bytes | str, *, topic: str | None = None) -> None:
        info = self.client.publish(topic or f"{self.prefix}/{serial}/readings", payload, qos=1)
        info.wait_for_publish(10)

    def send_many(self, items: list[tuple[str, bytes | str]]) -> None:
        infos = [self.client.publish(f"{self.prefix}/{s}/readings", p, qos=1) for s, p in items]
        for info in infos:
            info.wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: Broker, topic_prefix: str) -> Iterator[Publisher]:
    p = Publisher(broker, topic_prefix)
    yield p
    p.close()


@pytest.fixture
def subscriber_factory(broker: Broker, topic_prefix: str) -> Iterator[Callable[..., Subscriber]]:
    client_id = f"test-ingest-{uuid.uuid4().hex[:10]}"
    made: list[Subscriber] = []

    def make(**kw: Any) -> Subscriber:
        sub = Subscriber(
            settings.MQTT_URL, client_id=client_id, prefix=topic_prefix, flush_interval=0.05, **kw
        )
        assert sub.connect(), "subscriber did not connect"
        made.append(sub)
        time.sleep(0.2)  # the SUBACK
        return sub

    yield make
    for sub in made:
        with contextlib.suppress(Exception):
            sub.close()
    Subscriber(settings.MQTT_URL, client_id=client_id).forget()


def pump_until(sub: Subscriber, done: Callable[[], bool], timeout: float = 15.0) -> None:
    """Run the subscriber's steps (in this thread, inside the test's transaction) until ``done()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sub.step()
        if done():
            return
    raise AssertionError("timed out waiting for the subscriber")
