"""Dashboard reads from two app processes against a PostgreSQL primary, with and without its streaming replica.

Runs inside ``.ci/pg_replica`` (a throwaway primary and a hot standby made by ``pg_basebackup -R``; it sets
``DATABASE_URL`` and ``DATABASE_REPLICA_URL`` and removes both clusters afterwards):

    .ci/pg_replica .venv/bin/python bench/bench_replica.py --seconds 20 --clients 16 --rounds 2

Loads the demo into the primary and waits until the standby has replayed it. Then starts two configurations of
two app processes each (``gunicorn tongxin.wsgi -w 2 -k gthread --threads 4``: two app servers behind a proxy):
*primary only* (``DATABASE_URL``) and *primary + replica* (``DATABASE_REPLICA_URL`` as well, so the views marked
``@reads_from_replica`` read on the standby). Each round drives one configuration with the same load —
``--clients`` threads with keep-alive connections spread over its two processes, signed in as staff, cycling
through the pages below — and the configurations alternate. Prints, per configuration: requests/s, latency
p50/p95/p99, p50 per page, and where the statements went (``pg_stat_database``: transactions and rows read on
the primary and on the standby during the round; one autocommit statement is one transaction).

The case list is a control: it reads the primary in both configurations (a list shown after a POST must show the
write). Both servers share this machine's cores, so the replica moves work off the primary but adds no CPU here.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from statistics import mean
from urllib.parse import urlparse

from _http import start_gunicorn, stop, timed_request

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (label, user, path); "{grid}" is a grid of mtc's community
PAGES = [
    ("dashboard (jiedao)", "jiedao", "/dashboard/"),
    ("dashboard (mtc)", "mtc", "/dashboard/"),
    ("grid map (mtc)", "mtc", "/dashboard/map/"),
    ("grid panel (mtc)", "mtc", "/dashboard/map/grid/{grid}/"),
    ("case list, control (mtc)", "mtc", "/cases/?mine=0"),
]


def manage(*args: str) -> None:
    env = dict(os.environ, LOG_LEVEL="ERROR")  # the demo's SMS log lines are not figures
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def pg(url: str, sql: str) -> tuple:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return tuple(row)


def wait_for_replay(primary: str, standby: str, timeout: float = 120.0) -> float:
    lsn = pg(primary, "SELECT pg_current_wal_lsn()::text")[0]
    started = time.monotonic()
    while not pg(standby, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0]:
        if time.monotonic() - started > timeout:
            raise SystemExit(f"the standby did not replay up to {lsn} within {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - started


def counters(url: str) -> tuple[int, int]:
    """Transactions committed and rows read in the app's database on this server, so far."""
    name = urlparse(url).path.lstrip("/")
    xacts, rows = pg(
        url, f"SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database WHERE datname = '{name}'"
    )
    return int(xacts), int(rows)


def sessions_and_grid() -> tuple[dict[str, str], int]:
    """A signed-in session cookie per user of PAGES (made the way a login makes one) and a grid of mtc's."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    django.setup()
    from django.conf import settings
    from django.test import Client

    from tongxin.core.middleware import IdleSessionMiddleware
    from tongxin.core.models import User
    from tongxin.regions.models import Grid

    cookies = {}
    for username in sorted({user for _, user, _ in PAGES}):
        client = Client()
        client.force_login(User.objects.get(username=username))
        session = client.session
        session[IdleSessionMiddleware.KEY] = time.time() + 3600  # no refresh write during the rounds
        session.save()
        cookies[username] = client.cookies[settings.SESSION_COOKIE_NAME].value
    mtc = User.objects.get(username="mtc")
    grid = Grid.objects.visible_to(mtc).order_by("pk").first()
    assert grid is not None, "the demo has no grid for mtc"
    return cookies, grid.pk


def run_load(
    ports: list[int], clients: int, warmup: float, seconds: float, requests: list[tuple[str, str, str]]
):
    """``clients`` threads, thread i on ports[i % 2], each cycling through ``requests`` from its own offset.
    Returns the latencies of the measured window per page, its errors, and how many requests were sent in all
    (the warm-up included: the statement counters see those too)."""
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    lat: dict[str, list[float]] = {label: [] for label, _, _ in requests}
    errors: dict[int, int] = {}
    sent = [0]
    lock = threading.Lock()

    def worker(i: int) -> None:
        port = ports[i % len(ports)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: dict[str, list[float]] = {label: [] for label, _, _ in requests}
        bad: dict[int, int] = {}
        k = i
        n = 0
        while time.monotonic() < stop_at:
            label, cookie, path = requests[k % len(requests)]
            k += 1
            started = time.monotonic()
            conn, status, took = timed_request(conn, "GET", path, headers={"Cookie": cookie})
            n += 1
            if started >= measure_from:
                if status == 200:
                    mine[label].append(took)
                else:
                    bad[status] = bad.get(status, 0) + 1
        with lock:
            sent[0] += n
            for label, values in mine.items():
                lat[label].extend(values)
            for status, n in bad.items():
                errors[status] = errors.get(status, 0) + n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errors, sent[0]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return 1000 * values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="rounds per configuration, alternating")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app process")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=8781, help="first of four app ports")
    parser.add_argument("--settle", type=float, default=11.0, help="seconds for idle backends to flush stats")
    args = parser.parse_args()

    primary, standby = os.environ.get("DATABASE_URL", ""), os.environ.get("DATABASE_REPLICA_URL", "")
    if not primary or not standby:
        raise SystemExit("run me through .ci/pg_replica (it sets DATABASE_URL and DATABASE_REPLICA_URL)")
    assert pg(standby, "SELECT pg_is_in_recovery()")[0], "DATABASE_REPLICA_URL is not a standby"

    t0 = time.monotonic()
    manage("migrate", "--no-input", "--verbosity", "0")
    manage("sync_holidays")
    manage("load_demo")
    cookies, grid = sessions_and_grid()
    replay = wait_for_replay(primary, standby)
    print(f"demo loaded in {time.monotonic() - t0:.0f} s; the standby caught up {replay:.2f} s later")

    base = dict(os.environ, CONN_MAX_AGE="600", LOG_LEVEL="ERROR", HUEY_IMMEDIATE="1")
    base.pop("DATABASE_REPLICA_URL")
    configs = {
        "primary only": (dict(base), [args.port, args.port + 1]),
        "primary + replica": (dict(base, DATABASE_REPLICA_URL=standby), [args.port + 2, args.port + 3]),
    }
    requests = [(label, f"sessionid={cookies[user]}", path.format(grid=grid)) for label, user, path in PAGES]
    procs = []
    results: dict[str, list[dict]] = {name: [] for name in configs}
    try:
        for env, ports in configs.values():
            procs += [
                start_gunicorn(ROOT, port, env, args.workers, args.threads, "/m/login/") for port in ports
            ]
        for rnd in range(args.rounds):
            for name, (_, ports) in configs.items():
                time.sleep(args.settle)
                before = counters(primary), counters(standby)
                load = os.getloadavg()
                lat, errors, sent = run_load(ports, args.clients, args.warmup, args.seconds, requests)
                time.sleep(args.settle)  # idle backends flush their statistics
                after = counters(primary), counters(standby)
                total = sum(len(v) for v in lat.values())
                everything = [x for v in lat.values() for x in v]
                row = {
                    "rate": total / args.seconds,
                    "p50": pct(everything, 0.50),
                    "p95": pct(everything, 0.95),
                    "p99": pct(everything, 0.99),
                    "pages": lat,
                    "primary": [(after[0][i] - before[0][i]) / max(sent, 1) for i in (0, 1)],
                    "standby": [(after[1][i] - before[1][i]) / max(sent, 1) for i in (0, 1)],
                    "errors": errors,
                    "load": load[0],
                }
                results[name].append(row)
                print(
                    f"round {rnd + 1} {name:18} {row['rate']:6.1f} req/s  p50 {row['p50']:5.0f} ms  "
                    f"p95 {row['p95']:5.0f} ms  p99 {row['p99']:5.0f} ms  per request: primary "
                    f"{row['primary'][0]:4.1f} xacts {row['primary'][1]:6.0f} rows, standby "
                    f"{row['standby'][0]:4.1f} xacts {row['standby'][1]:6.0f} rows  errors {errors or 0}  "
                    f"load {load[0]:.1f}",
                    flush=True,
                )
    finally:
        for proc in procs:
            stop(proc)

    print(f"\n{args.clients} clients over two app processes (gunicorn -w {args.workers} --threads {args.threads}), "
          f"{args.rounds} × {args.seconds:.0f} s per configuration; p50 per page over all rounds (ms):")  # fmt: skip
    names = list(configs)
    print(f"{'page':28} " + "  ".join(f"{n:>18}" for n in names))
    for label, _, _ in PAGES:
        cells = [pct([x for r in results[n] for x in r["pages"][label]], 0.50) for n in names]
        print(f"{label:28} " + "  ".join(f"{c:18.0f}" for c in cells))
    for name in names:
        rows = results[name]
        print(
            f"{name:18}: {mean(r['rate'] for r in rows):6.1f} req/s mean of rounds; per request: primary "
            f"{mean(r['primary'][0] for r in rows):.1f} xacts {mean(r['primary'][1] for r in rows):.0f} rows read, "
            f"standby {mean(r['standby'][0] for r in rows):.1f} xacts {mean(r['standby'][1] for r in rows):.0f} rows read"
        )
    print(f"load average now: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
