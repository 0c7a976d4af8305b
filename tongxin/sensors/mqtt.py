"""The MQTT subscriber behind ``manage.py run_sensor_ingest``.

* **Persistent session, QoS 1, acknowledged after commit.** The client connects with MQTT 5, a fixed client id,
  ``clean_start=False`` and a session expiry of a week, and subscribes with QoS 1, so the broker keeps what
  arrives while the subscriber is down. Messages are acknowledged by hand (``manual_ack``) only after the batch
  holding them has committed: a subscriber that dies before its commit gets the same messages again, and the
  (device, time) primary key turns the repeat into a counted duplicate. Nothing is lost and nothing is counted
  twice.
* **Batches, not a row per message.** The network thread only appends to a queue; the main thread takes up to
  ``batch_size`` messages every ``flush_interval`` seconds and stores them with one COPY
  (:class:`tongxin.sensors.ingest.Ingestor`). ``Receive Maximum`` lets the broker keep that many unacknowledged
  messages in flight to us, so a batch can fill while the previous one commits.
* **Never crashes on input.** A payload that cannot be read is counted (``malformed``) and acknowledged; an
  unknown device, an impossible value or a skewed clock likewise. A database error keeps the batch unacknowledged
  and retries it.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection

from tongxin.sensors.choices import Source
from tongxin.sensors.ingest import Ingestor, mqtt_entries

logger = logging.getLogger("tongxin.sensors")

SESSION_EXPIRY = 7 * 24 * 3600  # seconds the broker keeps our session (and queues for us) while we are away


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False

    @classmethod
    def from_url(cls, url: str | None = None) -> Broker:
        """``mqtt://[user:pass@]host[:port]`` (``mqtts://`` for TLS, default port 8883)."""
        parsed = urlparse(url or settings.MQTT_URL)
        if parsed.scheme not in {"mqtt", "mqtts", "tcp"}:
            raise ValueError(f"MQTT_URL scheme {parsed.scheme!r} is not supported (use mqtt:// or mqtts://)")
        tls = parsed.scheme == "mqtts"
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (8883 if tls else 1883),
            username=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            tls=tls,
        )

    def answers(self, timeout: float = 1.0) -> bool:
        """Whether something accepts TCP connections at the broker's address."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False


def topic_filter(prefix: str | None = None) -> str:
    return f"{(prefix or settings.SENSORS_TOPIC_PREFIX).rstrip('/')}/+/readings"


class Subscriber:
    """One subscriber: connect, then call :meth:`step` (or :meth:`run`) in the main thread."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client_id: str = "tongxin-sensor-ingest",
        prefix: str | None = None,
        batch_size: int = 5000,
        flush_interval: float = 0.2,
        receive_maximum: int = 20000,
        ingestor: Ingestor | None = None,
    ) -> None:
        self.broker = Broker.from_url(url)
        self.client_id = client_id
        self.prefix = prefix or settings.SENSORS_TOPIC_PREFIX
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.receive_maximum = receive_maximum
        self.ingestor = ingestor or Ingestor(Source.MQTT)
        self.queue: collections.deque[tuple[int, int, str, bytes]] = collections.deque()
        self.pending: list[tuple[int, int, str, bytes]] = []  # taken from the queue, not yet committed
        self.connected = threading.Event()
        self.session_present: bool | None = None
        self.messages = 0
        self.batches = 0
        self.errors = 0
        self._last_flush = time.monotonic()
        self.client = self._client()

    # --- paho --------------------------------------------------------------------------------------------------
    def _client(self) -> Any:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("MQTT connection refused: %s", reason)
            return
        self.session_present = bool(getattr(flags, "session_present", False))
        client.subscribe(topic_filter(self.prefix), qos=1)
        logger.info(
            "MQTT connected to %s:%s as %s (session %s), subscribed to %s",
            self.broker.host,
            self.broker.port,
            self.client_id,
            "resumed" if self.session_present else "new",
            topic_filter(self.prefix),
        )
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if reason.is_failure:
            logger.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        # the network thread: nothing but an append (deque appends are thread-safe)
        self.queue.append((message.mid, message.qos, message.topic, message.payload))

    # --- life cycle --------------------------------------------------------------------------------------------
    def connect(self, timeout: float = 10.0) -> bool:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY
        props.ReceiveMaximum = self.receive_maximum
        self.client.connect(
            self.broker.host, self.broker.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()
        return self.connected.wait(timeout)

    def step(self) -> int:
        """Wait for a batch to fill (or the flush interval to pass), then store and acknowledge it."""
        deadline = self._last_flush + self.flush_interval
        while len(self.queue) < self.batch_size and time.monotonic() < deadline:
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        return self.flush()

    def flush(self) -> int:
        """Store what is pending (a batch that failed before) or queued; acknowledge it after the commit."""
        self._last_flush = time.monotonic()
        if not self.pending:
            take = min(len(self.queue), self.batch_size)
            self.pending = [self.queue.popleft() for _ in range(take)]
        if not self.pending:
            return 0
        try:
            self.ingestor.process(mqtt_entries(((t, p) for _m, _q, t, p in self.pending), self.prefix))
        except (DatabaseError, InterfaceError):
            self.errors += 1
            logger.exception("storing a batch of %s messages failed; will retry", len(self.pending))
            connection.close()  # a broken connection is reopened on the next query
            time.sleep(min(5.0, 0.5 * self.errors))
            return 0
        self.errors = 0
        for mid, qos, _topic, _payload in self.pending:  # in the order received, as MQTT requires
            if qos:
                self.client.ack(mid, qos)
        n = len(self.pending)
        self.messages += n
        self.batches += 1
        self.pending = []
        return n

    def run(self, stop: threading.Event, *, stats_every: float = 60.0, out: Any = None) -> None:
        """Loop until ``stop`` is set, then store and acknowledge what arrived and disconnect cleanly."""
        started = last = time.monotonic()
        last_messages = 0
        while not stop.is_set():
            self.step()
            now = time.monotonic()
            if stats_every and now - last >= stats_every:
                totals = dict(self.ingestor.totals)
                rate = (self.messages - last_messages) / (now - last)
                line = f"sensors ingest: {self.messages} messages, {rate:.0f} msg/s, {totals}"
                (out.write(line) if out else logger.info(line))
                last, last_messages = now, self.messages
        while self.queue or self.pending:
            if not self.flush() and self.pending:
                break  # the database is down: leave the rest unacknowledged for the broker to resend
        self.close()
        logger.info("sensors ingest stopped after %.0f s", time.monotonic() - started)

    def close(self) -> None:
        """A clean DISCONNECT: the broker keeps the session (expiry) and queues for us until we return."""
        self.client.disconnect()
        self.client.loop_stop()

    def forget(self) -> None:
        """Delete this client's session from the broker (a clean start with no expiry, then away)."""
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        if self.broker.username:
            c.username_pw_set(self.broker.username, self.broker.password)
        c.connect(self.broker.host, self.broker.port, clean_start=True)
        c.loop_start()
        time.sleep(0.3)
        c.disconnect()
        c.loop_stop()

    def kill(self) -> None:
        """Drop the connection without storing or acknowledging anything (what a crash looks like to the
        broker). For tests."""
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        self.queue.clear()
        self.pending = []
