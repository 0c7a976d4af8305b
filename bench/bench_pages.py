"""Web pages with the demo data: server time p50/p95 and SQL queries per page, for the user who sees each page.

Loads the demo (``manage.py load_demo``) once into a separate PostgreSQL database (default
``tongxin_bench_pages``), then requests every page of the web front ``--runs`` times through Django's test client
in-process (no HTTP server, so the figures are server time only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_pages \\
        .venv/bin/python bench/bench_pages.py --runs 30

Target (issue 4): p95 ≤ 150 ms for every page. JS+CSS bytes and first contentful paint are measured in the
browser test (tongxin/dashboard/tests/test_browser.py → test-output/page_metrics.json).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_pages"
TARGET_MS = 150.0


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pages() -> list[tuple[str, str, str]]:
    """(label, username, url) for every page, with ids picked from the demo data."""
    from tongxin.cases.choices import OPEN_STATES, Channel
    from tongxin.cases.models import Case
    from tongxin.core.models import User
    from tongxin.regions.models import Grid

    jumin = User.objects.get(username="jumin")
    mine = Case.objects.visible_to(jumin).order_by("-submitted_at").first()
    mtc = User.objects.get(username="mtc")
    staff_case = Case.objects.visible_to(mtc).filter(state__in=OPEN_STATES).order_by("resolve_by").first()
    box = Case.objects.filter(channel=Channel.SUGGESTION_BOX).order_by("pk").first()
    grid = Grid.objects.visible_to(mtc).order_by("pk").first()
    out = [
        ("resident: my requests", "jumin", "/cases/m/"),
        ("resident: submit", "jumin", "/cases/m/new/"),
        ("resident: suggestion box", "", "/cases/box/"),
        ("sign-in by phone", "", "/m/login/"),
        ("workbench: my queue (mtc)", "mtc", "/cases/"),
        ("workbench: all cases (mtc)", "mtc", "/cases/?mine=0"),
        ("workbench: all cases (jiedao)", "jiedao", "/cases/?mine=0"),
        ("workbench: queue (wangge1)", "wangge1", "/cases/"),
        ("workbench: htmx refresh", "mtc", "/cases/?mine=1&hx=1"),
        ("hotline intake", "mtc", "/cases/intake/"),
        ("intake: caller lookup", "mtc", "/cases/intake/caller/?phone=13900000000"),
        ("intake: address", "mtc", "/cases/intake/address/?q=%E9%94%A6%E7%BB%A3%E6%B1%9F%E5%B1%B13%E6%A0%8B"),
        (
            "intake: suggest+duplicates",
            "mtc",
            "/cases/intake/assist/?text=%E6%A5%BC%E9%A1%B6%E6%BC%8F%E6%B0%B4",
        ),
        ("grid map (mtc)", "mtc", "/dashboard/map/"),
        ("grid map (jiedao)", "jiedao", "/dashboard/map/"),
        ("dashboard (jiedao)", "jiedao", "/dashboard/"),
        ("dashboard (mtc)", "mtc", "/dashboard/"),
    ]
    if mine is not None:
        out.append(("resident: case", "jumin", f"/cases/m/{mine.pk}/"))
    if staff_case is not None:
        out.append(("case page (mtc)", "mtc", f"/cases/{staff_case.pk}/"))
    if grid is not None:
        out.append(("map: grid panel", "mtc", f"/dashboard/map/grid/{grid.pk}/"))
    if box is not None:
        out.append(("receipt lookup", "", f"/cases/receipt/?number={box.number}&code={box.receipt_code}"))
    return out


def measure(label: str, username: str, url: str, runs: int) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongxin.core.models import User

    client = Client()
    if username:
        client.force_login(User.objects.get(username=username))
    headers: dict[str, Any] = {"HX-Request": "true"} if "hx=1" in url else {}
    response = client.get(url, headers=headers)  # warm-up (and the status check)
    times = []
    queries = 0
    for i in range(runs):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
        if i == 0:
            queries = len(ctx.captured_queries)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    return {
        "label": label,
        "status": response.status_code,
        "p50": statistics.median(times),
        "p95": p95,
        "queries": queries,
        "bytes": len(response.content),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-load", action="store_true", help="the database already holds the demo")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if "tongxin_bench" not in url:
        url = DEFAULT_URL  # never measure against a working or test database
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    ensure_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    from tongxin.core.models import User

    if not args.skip_load and not User.objects.filter(username="mtc").exists():
        t0 = time.perf_counter()
        call_command("load_demo", verbosity=0)
        print(f"demo loaded in {time.perf_counter() - t0:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics after the bulk load
    print(f"load average before measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    rows = [measure(label, user, path, args.runs) for label, user, path in pages()]
    width = max(len(r["label"]) for r in rows)
    print(f"{'page':<{width}}  status   p50 ms   p95 ms  queries    bytes")
    worst = 0.0
    for r in rows:
        worst = max(worst, r["p95"])
        flag = "" if r["p95"] <= TARGET_MS else "  > target"
        print(
            f"{r['label']:<{width}}  {r['status']:>6} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['queries']:>8} "
            f"{r['bytes']:>8}{flag}"
        )
    print(f"worst p95: {worst:.1f} ms (target ≤ {TARGET_MS:.0f} ms), runs per page: {args.runs}")
    return 0 if all(r["status"] == 200 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
