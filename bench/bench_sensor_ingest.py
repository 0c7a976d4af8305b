"""Sensor ingestion over MQTT into PostgreSQL: readings per second, sustained.

Three processes: this one (sets up devices, watches the database, prints figures), the subscriber
(``manage.py run_sensor_ingest``, exactly as deployed) and a publisher (this script with ``--publish``) that
sends QoS 1 messages to the broker as fast as it can (or at ``--rate``). The figure is readings *committed to
PostgreSQL* per second, from the first to the last stored reading, plus the slowest 5-second window.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_sensors \
        .venv/bin/python bench/bench_sensor_ingest.py --readings 300000 --devices 500 --per-message 1

``--per-message N`` puts N readings in one payload (a gateway batching); 1 is the worst case, one message per
reading. Target (issue 14): ≥ 5,000 readings/s sustained.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tongxin_bench_sensors"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def base_time(readings: int, devices: int) -> dt.datetime:
    span = readings // devices + 1
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=span + 3600)


# --- the publisher process ------------------------------------------------------------------------------------


def publish(args: argparse.Namespace) -> None:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.max_inflight_messages_set(args.inflight)
    client.max_queued_messages_set(0)
    client.connect(args.host, args.port)
    client.loop_start()
    base = dt.datetime.fromisoformat(args.base)
    serials = [f"BENCH-{i:05d}" for i in range(args.devices)]
    per = args.per_message
    started = time.monotonic()
    # Keep at most ``inflight`` messages outstanding: paho rescans its whole queue on every PUBACK, so queueing
    # far beyond the in-flight window makes the publisher, not the system under test, the bottleneck.
    outstanding: collections.deque = collections.deque()
    sent = 0
    k = args.start
    end = args.start + args.readings
    while k < end:
        device = (k // per) % args.devices
        items = []
        for _ in range(min(per, end - k)):
            # message m goes to device m % devices; its j-th reading is that device's (round·per + j)-th second
            m, j = divmod(k, per)
            t = base + dt.timedelta(seconds=(m // args.devices) * per + j)
            items.append({"t": t.isoformat(), "v": round(0.30 + (k % 97) / 1000, 3)})
            k += 1
        body = json.dumps(items[0] if per == 1 else items)
        while len(outstanding) >= args.inflight:
            outstanding[0].wait_for_publish(60)
            while outstanding and outstanding[0].is_published():
                outstanding.popleft()
        outstanding.append(client.publish(f"{args.prefix}/{serials[device]}/readings", body, qos=1))
        sent += 1
        if args.rate and sent % 100 == 0:
            ahead = (k - args.start) / args.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    for info in outstanding:
        info.wait_for_publish(60)
    k -= args.start
    elapsed = time.monotonic() - started
    print(
        f"publisher: {sent} messages, {k} readings in {elapsed:.1f} s = {k / elapsed:.0f} readings/s",
        flush=True,
    )
    client.disconnect()
    client.loop_stop()


# --- the driver -------------------------------------------------------------------------------------------------


def setup_devices(n: int) -> None:
    from django.db import connection

    from tongxin.regions.models import Grid, PropertyCompany, Region
    from tongxin.sensors.choices import DeviceKind
    from tongxin.sensors.models import Device

    sub, _ = Region.objects.get_or_create(kind="subdistrict", name="基准街道", defaults={"code": "429004999"})
    com, _ = Region.objects.get_or_create(
        kind="community", name="基准社区", parent=sub, defaults={"code": "999"}
    )
    est, _ = Region.objects.get_or_create(kind="estate", name="基准小区", parent=com)
    grid, _ = Grid.objects.get_or_create(
        community=com, name="基准网格", defaults={"code": Grid.build_code(com, 1)}
    )
    company, _ = PropertyCompany.objects.get_or_create(name="基准物业")
    company.estates.add(est)
    have = set(Device.objects.filter(serial__startswith="BENCH-").values_list("serial", flat=True))
    new = [
        Device(
            serial=s,
            name=f"基准压力{s[-5:]}",
            kind=DeviceKind.WATER_PRESSURE,
            unit="MPa",
            region=est,
            subdistrict=sub,
            community=com,
            estate=est,
            grid=grid,
            low=0.15,
            high=0.8,
            property_company=company,
        )
        for s in (f"BENCH-{i:05d}" for i in range(n))
        if s not in have
    ]
    Device.objects.bulk_create(new, batch_size=1000)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE sensors_reading")
        cur.execute("DELETE FROM sensors_ingestcount")
    Device.objects.filter(serial__startswith="BENCH-").update(
        last_measured_at=None, last_value=None, online=False, normal_streak=0
    )


def stored() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(count), 0) FROM sensors_ingestcount WHERE outcome = 'stored'")
        return int(cur.fetchone()[0])


def drive(args: argparse.Namespace) -> int:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    db_url = os.environ["DATABASE_URL"]
    name = db_url.rsplit("/", 1)[1]
    import psycopg

    with psycopg.connect(db_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tongxin.sensors.mqtt import Broker, Subscriber

    broker = Broker.from_url(settings.MQTT_URL)
    if not broker.answers():
        print(f"no MQTT broker answers at {broker.host}:{broker.port}; start mosquitto (docs/sensors.md)")
        return 2
    call_command("migrate", verbosity=0)
    setup_devices(args.devices)
    prefix = f"bench/{uuid.uuid4().hex[:8]}"
    client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    print(
        f"== sensor ingest: {args.readings} readings, {args.devices} devices, {args.per_message} per message, "
        f"{args.publishers} publisher process(es)"
    )
    print(f"load before: {loadavg()}  (database {name})", flush=True)
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    sub = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "run_sensor_ingest",
            "--client-id",
            client_id,
            "--prefix",
            prefix,
            "--batch-size",
            str(args.batch_size),
            "--stats-seconds",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert sub.stdout is not None
    line = sub.stdout.readline()
    print("subscriber:", line.strip(), flush=True)
    base = base_time(args.readings, args.devices)
    share = -(-args.readings // args.publishers)
    # each publisher sends whole rounds of all devices' readings (k = device + devices * second)
    share = -(-share // (args.devices * args.per_message)) * args.devices * args.per_message
    pubs = []
    for p in range(args.publishers):
        start = p * share
        count_p = max(0, min(share, args.readings - start))
        if not count_p:
            continue
        pubs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--publish",
                    "--readings",
                    str(count_p),
                    "--start",
                    str(start),
                    "--devices",
                    str(args.devices),
                    "--per-message",
                    str(args.per_message),
                    "--prefix",
                    prefix,
                    "--base",
                    base.isoformat(),
                    "--host",
                    broker.host,
                    "--port",
                    str(broker.port),
                    "--rate",
                    str(args.rate / args.publishers if args.rate else 0),
                    "--inflight",
                    str(args.inflight),
                ],
                env=env,
                cwd=ROOT,
            )
        )
    first_at = None
    samples: list[tuple[float, int]] = []
    last_change = time.monotonic()
    count = 0
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        new = stored()
        if new != count:
            last_change = now
        if new and first_at is None:
            first_at = now
        count = new
        samples.append((now, count))
        if count >= args.readings or now - last_change > 30:
            break
    for pub in pubs:
        pub.wait(timeout=120)
    load_after = loadavg()
    sub.terminate()
    out, _ = sub.communicate(timeout=60)
    Subscriber(settings.MQTT_URL, client_id=client_id).forget()  # leave no session behind
    # rate from the first second with rows to the sample where the last row appeared
    done_at = next(t for t, c in samples if c == count)
    start_t, start_c = next((t, c) for t, c in samples if c > 0)
    elapsed = done_at - start_t
    rate = (count - start_c) / elapsed if elapsed > 0 else float("nan")
    windows = []
    for i in range(len(samples)):
        j = i + 5
        if j < len(samples) and samples[j][0] <= done_at and samples[i][1] > 0:
            windows.append((samples[j][1] - samples[i][1]) / (samples[j][0] - samples[i][0]))
    print(f"stored: {count} of {args.readings} readings")
    print(f"sustained: {rate:.0f} readings/s over {elapsed:.1f} s (first to last stored reading)")
    if windows:
        print(
            f"5-s windows: min {min(windows):.0f}, median {sorted(windows)[len(windows) // 2]:.0f} readings/s"
        )
    print(f"load after: {load_after}")
    print("subscriber:", " | ".join(out.strip().splitlines()[-2:]))
    return 0 if count >= args.readings else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=300_000)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--per-message", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=0, help="publisher readings/s (0: as fast as it can)")
    parser.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    parser.add_argument("--base", default="", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=1883, help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, default=100, help="publisher's messages in flight")
    parser.add_argument("--publishers", type=int, default=1, help="publisher processes")
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        publish(args)
        return 0
    return drive(args)


if __name__ == "__main__":
    raise SystemExit(main())
