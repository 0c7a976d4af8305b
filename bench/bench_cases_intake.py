"""Intake throughput and latency: POST /api/v1/cases/ against gunicorn on PostgreSQL, 50 concurrent clients.

Starts ``gunicorn tongxin.wsgi -w 4 -k gthread --threads 8 -b 127.0.0.1:8766`` (unless ``--url`` points at a
running server), then a load generator in a *separate process* (this script's own process; the server runs in
gunicorn's): ``--clients`` threads with keep-alive HTTP connections, each submitting cases with a fresh
Idempotency-Key, a bearer token and an address text that the server resolves (estate + building). Prints the
sustained rate and p50/p95/p99 latency of the measured window (after a warm-up).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_cases \\
        .venv/bin/python bench/bench_cases_intake.py --seconds 30 --clients 50

Needs the places and tokens made by ``bench/gen_cases.py`` (any ``--cases``, even 0).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from _http import start_gunicorn, timed_request

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tongxin_bench_cases"
TEXTS = ["楼顶漏水，天花板滴水", "楼道灯不亮", "垃圾没人清运", "楼上噪音扰民", "停水了", "电动车乱停"]
CATS = ["repairs-leak", "repairs-small", "environment", "public-order", "utilities", "parking"]


def tokens_file() -> Path:
    """API tokens made by gen_cases.py, one file per database."""
    name = os.environ.get("DATABASE_URL", DEFAULT_DB).rsplit("/", 1)[-1]
    return ROOT / "var" / "bench" / f"cases_tokens_{name}.txt"


def token(name: str = "b_staff1") -> str:
    for line in tokens_file().read_text().splitlines():
        user, key = line.split()
        if user == name:
            return key
    raise SystemExit(f"no token for {name}: run bench/gen_cases.py first")


def start_server(port: int, workers: int, threads: int, db: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=db, CONN_MAX_AGE="600", LOG_LEVEL="ERROR")
    headers = {"Authorization": f"Bearer {token()}"}
    return start_gunicorn(ROOT, port, env, workers, threads, "/api/v1/cases/categories/", headers)


def run_load(port: int, clients: int, warmup: float, seconds: float, key: str) -> dict:
    stop_at = time.monotonic() + warmup + seconds
    measure_from = time.monotonic() + warmup
    lat: list[float] = []
    errors: dict[int, int] = {}
    lock = threading.Lock()

    def worker(i: int) -> None:
        rng = random.Random(i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local: list[float] = []
        local_err: dict[int, int] = {}
        while time.monotonic() < stop_at:
            k = rng.randrange(len(TEXTS))
            body = json.dumps(
                {
                    "category": CATS[k],
                    "description": TEXTS[k],
                    "address": f"基准{rng.randint(1, 10):03d}小区{rng.randint(1, 10)}栋",
                }
            )
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            started = time.monotonic()
            conn, status, took = timed_request(conn, "POST", "/api/v1/cases/", body=body, headers=headers)
            if started >= measure_from:
                if status == 201:
                    local.append(took)
                else:
                    local_err[status] = local_err.get(status, 0) + 1
        with lock:
            lat.extend(local)
            for s, n in local_err.items():
                errors[s] = errors.get(s, 0) + n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()

    def pct(p: float) -> float:
        return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")

    return {
        "created": len(lat),
        "rate_per_s": len(lat) / seconds,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "errors": errors,
    }


def profile_intake(db: str, key: str, n: int) -> dict:
    """Statements and CPU per intake, in this process (Django's test client, the same database): what one
    POST /api/v1/cases/ costs, without the network and the other requests."""
    os.environ["DATABASE_URL"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="localhost")
    rng = random.Random(7)
    statements: list[int] = []
    cpu: list[float] = []
    for i in range(n + 5):  # the first five warm the caches
        k = rng.randrange(len(TEXTS))
        body = {
            "category": CATS[k],
            "description": TEXTS[k],
            "address": f"基准{rng.randint(1, 10):03d}小区1栋",
        }
        with CaptureQueriesContext(connection) as queries:
            started = time.process_time()
            resp = client.post(
                "/api/v1/cases/",
                data=json.dumps(body),
                content_type="application/json",
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
            )
            took = time.process_time() - started
        if resp.status_code != 201:
            raise SystemExit(f"intake answered {resp.status_code}: {resp.content[:300]!r}")
        if i >= 5:
            statements.append(len(queries.captured_queries))
            cpu.append(took)
    connection.close()
    cpu.sort()
    return {
        "n": n,
        "statements": sum(statements) / n,
        "statements_max": max(statements),
        "cpu_ms": 1000 * sum(cpu) / n,
        "cpu_p50_ms": 1000 * cpu[n // 2],
        "response_keys": sorted(resp.json()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--no-server", action="store_true", help="use a server already listening on --port")
    p.add_argument("--profile", type=int, default=50, help="intakes measured in-process first (0: skip)")
    args = p.parse_args()
    db = os.environ.get("DATABASE_URL", DEFAULT_DB)
    key = token()
    if args.profile:
        prof = profile_intake(db, key, args.profile)
        print(
            f"per intake (in-process, {prof['n']} requests): {prof['statements']:.1f} SQL statements "
            f"(max {prof['statements_max']}), Python CPU {prof['cpu_ms']:.1f} ms mean / {prof['cpu_p50_ms']:.1f} ms "
            f"p50; response keys {prof['response_keys']}; load average {os.getloadavg()[0]:.1f}"
        )
    if args.seconds <= 0:
        return 0  # the per-intake figures only
    proc = None if args.no_server else start_server(args.port, args.workers, args.threads, db)
    try:
        result = run_load(args.port, args.clients, args.warmup, args.seconds, key)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(
        f"intake: {result['created']} cases in {args.seconds:.0f} s = {result['rate_per_s']:.0f} cases/s; "
        f"latency p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms; "
        f"clients {args.clients}; gunicorn -w {args.workers} --threads {args.threads}; errors {result['errors']}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
