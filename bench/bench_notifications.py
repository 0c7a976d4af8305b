"""Notifications: fan-out of one event to many recipients, a repeated emission (never twice), and what the bell
and the inbox cost per page.

Its own PostgreSQL database, ``BENCH_NOTIFICATIONS_URL`` (default
postgres://postgres@127.0.0.1:5432/tongxin_bench_notifications), created and migrated on demand.

    .venv/bin/python bench/bench_notifications.py [--recipients 1000] [--history 10000] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_notifications"


def setup() -> None:
    url = os.environ.get("BENCH_NOTIFICATIONS_URL", DEFAULT_URL)
    name = url.rsplit("/", 1)[1]
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    os.environ["SMS_BACKEND"] = "tongxin.core.notifications.MemorySMSBackend"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument(
        "--history", type=int, default=10000, help="notifications already in one user's inbox"
    )
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tongxin.accounts import services
    from tongxin.core import notifications, pii
    from tongxin.core.models import Notification, NotificationAddress, User

    run = int(time.time())
    users = User.objects.bulk_create(
        [User(username=f"bench-{run}-{i}", display_name=f"用户{i}") for i in range(args.recipients)]
    )
    NotificationAddress.objects.bulk_create(
        [
            NotificationAddress(user=u, phone_enc=pii.encrypt(f"170{i:08d}"), phone_masked="170****0000")
            for i, u in enumerate(users[::2])
        ]
    )
    ids = [u.pk for u in users]
    link = f"/cases/{run}/"

    # one whistle-like event to every recipient: in-app for all, SMS for the half with a number
    t = time.perf_counter()
    notifications.notify(ids, "街道吹哨：请报到", "基准", link, kind="case_whistled", on_commit=False)
    fan_out = time.perf_counter() - t
    sms = len(notifications.MemorySMSBackend.outbox)
    # the same event again: every key is taken, nothing is sent
    t = time.perf_counter()
    notifications.notify(ids, "街道吹哨：请报到", "基准", link, kind="case_whistled", on_commit=False)
    repeat = time.perf_counter() - t
    assert len(notifications.MemorySMSBackend.outbox) == sms

    # one user with a long history: the bell (unread count) and the first inbox page
    heavy = users[0]
    Notification.objects.bulk_create(
        [
            Notification(
                user=heavy,
                subject=f"消息{i}",
                kind="case_new",
                read_at=None if i % 20 == 0 else heavy.date_joined,
            )
            for i in range(args.history)
        ],
        batch_size=2000,
    )
    bell_ms, page_ms = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        services.unread_count(heavy)
        bell_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        list(services.inbox(heavy)[:30])
        page_ms.append((time.perf_counter() - t) * 1000)
    with CaptureQueriesContext(connection) as q:
        services.unread_count(heavy)
    load = os.getloadavg()[0]
    print(f"recipients {args.recipients}, {sms} with an SMS number; load {load:.1f}")
    print(
        f"fan-out: {fan_out:.2f} s for {args.recipients} in-app + {sms} SMS deliveries "
        f"({(args.recipients + sms) / fan_out:.0f} deliveries/s)"
    )
    print(f"repeat of the same event: {repeat:.2f} s, nothing sent")
    print(
        f"bell (unread count, {args.history} notifications, {args.history // 20} unread): "
        f"{len(q.captured_queries)} query, p50 {statistics.median(bell_ms):.2f} ms, p95 {pct(bell_ms, 95):.2f} ms"
    )
    print(f"inbox first page (30): p50 {statistics.median(page_ms):.2f} ms, p95 {pct(page_ms, 95):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
