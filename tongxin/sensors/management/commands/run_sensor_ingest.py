"""``manage.py run_sensor_ingest``: subscribe to the sensors' MQTT topics and store their readings.

    manage.py run_sensor_ingest                         # MQTT_URL, default mqtt://127.0.0.1:1883
    manage.py run_sensor_ingest --when-broker-answers   # exit quietly when no broker answers (make run)

Stops cleanly on Ctrl-C / SIGTERM: what arrived is stored and acknowledged, the session stays with the broker.
See docs/sensors.md.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.sensors.mqtt import Broker, Subscriber


class Command(BaseCommand):
    help = "订阅传感器MQTT主题并入库读数 (subscribe to the sensors' MQTT topics and store their readings)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="broker URL (default: MQTT_URL)")
        parser.add_argument(
            "--client-id", default="tongxin-sensor-ingest", help="MQTT client id (the session)"
        )
        parser.add_argument("--prefix", default="", help="topic prefix (default: SENSORS_TOPIC_PREFIX)")
        parser.add_argument("--batch-size", type=int, default=5000, help="messages per stored batch")
        parser.add_argument("--flush-ms", type=int, default=200, help="longest wait before storing a batch")
        parser.add_argument(
            "--stats-seconds", type=float, default=60.0, help="print totals this often (0: never)"
        )
        parser.add_argument(
            "--seconds", type=float, default=0.0, help="stop after this long (0: run until stopped)"
        )
        parser.add_argument(
            "--when-broker-answers",
            action="store_true",
            help="exit quietly (status 0) when no broker answers at the URL",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        url = opts["url"] or settings.MQTT_URL
        broker = Broker.from_url(url)
        if not broker.answers():
            message = f"no MQTT broker answers at {broker.host}:{broker.port}: sensor ingestion not started"
            if opts["when_broker_answers"]:
                self.stdout.write(message + " (see docs/sensors.md)")
                return
            raise CommandError(message)
        subscriber = Subscriber(
            url,
            client_id=opts["client_id"] or settings.MQTT_CLIENT_ID,
            prefix=opts["prefix"] or None,
            batch_size=opts["batch_size"],
            flush_interval=opts["flush_ms"] / 1000.0,
        )
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if opts["seconds"]:
            threading.Timer(opts["seconds"], stop.set).start()
        if not subscriber.connect():
            raise CommandError(f"could not connect to the MQTT broker at {broker.host}:{broker.port}")
        self.stdout.write(
            f"sensors ingest: subscribed to {subscriber.prefix}/+/readings on {broker.host}:{broker.port} "
            f"as {subscriber.client_id} (session {'resumed' if subscriber.session_present else 'new'})"
        )
        self.stdout.flush()
        started = time.monotonic()
        subscriber.run(stop, stats_every=opts["stats_seconds"], out=self.stdout)
        totals = dict(subscriber.ingestor.totals)
        self.stdout.write(
            f"sensors ingest: stopped after {time.monotonic() - started:.1f} s; "
            f"{subscriber.messages} messages in {subscriber.batches} batches; {totals}"
        )
