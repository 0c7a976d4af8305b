"""Reads at scale (run after ``bench/gen_cases.py`` loaded 10,000,000 cases): a handler's queue and the filtered
case list through the API (in-process Django test client, bearer token: the full request path minus the socket),
the three rates for regions and month ranges (cases-core's :mod:`tongxin.cases.rates`), and the deadline sweep
(:func:`tongxin.cases.tasks.sweep_deadlines`, run twice: the second run shows it is idempotent).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_cases .venv/bin/python bench/bench_cases_read.py

``--generic-plans`` runs the same reads with server-side binding and ``plan_cache_mode = force_generic_plan``
(an experiment on the planning cost of the partitioned table; the application does not use them).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tongxin_bench_cases"
REPEAT = 30


def tokens_file() -> Path:
    """API tokens made by gen_cases.py, one file per database."""
    name = os.environ.get("DATABASE_URL", DEFAULT_DB).rsplit("/", 1)[-1]
    return ROOT / "var" / "bench" / f"cases_tokens_{name}.txt"


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()


def timed(fn: Any, repeat: int = REPEAT) -> tuple[float, float, Any]:
    out = fn()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], out


def tokens() -> dict[str, str]:
    lines = tokens_file().read_text().splitlines()
    return dict(line.split() for line in lines)


def main() -> int:
    setup()
    from django.db import connection

    if "--generic-plans" in sys.argv:
        # experiment (not the application's settings): server-side binding, so psycopg prepares a statement after
        # its 5th execution on the connection, and PostgreSQL then always uses the generic plan (no planning)
        connection.settings_dict["OPTIONS"] = {
            "server_side_binding": True,
            "options": "-c plan_cache_mode=force_generic_plan",
        }
        print("server-side binding, plan_cache_mode = force_generic_plan")
    from django.test import Client

    from tongxin.cases import rates
    from tongxin.cases.models import Case
    from tongxin.cases.tasks import sweep_deadlines
    from tongxin.core.models import User
    from tongxin.regions.models import Grid, Region

    total = Case.objects.count() if "--count" in sys.argv else None
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'cases_case'")
        approx = cur.fetchone()[0]
    print(f"cases: ~{approx:,}" + (f" (exact {total:,})" if total else ""))
    keys = tokens()
    client = Client()

    def api(user: str, path: str, **params: Any) -> Any:
        r = client.get(path, params, headers={"Authorization": f"Bearer {keys[user]}"})
        assert r.status_code == 200, (path, r.status_code, r.content[:300])
        return r.json()

    worker = User.objects.get(username="b_grid1_1")
    open_queue = Case.objects.queue_for(worker).count()
    print(f"b_grid1_1 open queue: {open_queue:,} cases")
    grid = Grid.objects.filter(workers=worker).first()
    assert grid is not None
    checks = [
        ("queue b_grid1_1 (page 1, 50)", "b_grid1_1", "/api/v1/cases/queue", {}),
        ("queue b_handler000 (page 1, 50)", "b_handler000", "/api/v1/cases/queue", {}),
        ("list community staff, newest", "b_staff1", "/api/v1/cases/", {}),
        ("list community staff, state=open", "b_staff1", "/api/v1/cases/", {"state": "open"}),
        ("list community staff, overdue", "b_staff1", "/api/v1/cases/", {"overdue": "true"}),
        (
            "list staff, category + page 5",
            "b_staff1",
            "/api/v1/cases/",
            {"category": "environment", "page": 5},
        ),
        ("list staff, grid + state", "b_staff1", "/api/v1/cases/", {"grid": grid.pk, "state": "in_progress"}),
        ("list staff, supervision=red", "b_staff1", "/api/v1/cases/", {"supervision": "red"}),
        ("list staff, channel=suggestion_box", "b_staff1", "/api/v1/cases/", {"channel": "suggestion_box"}),
        ("list grid worker, newest", "b_grid1_1", "/api/v1/cases/", {}),
        ("list subdistrict admin, overdue", "b_admin", "/api/v1/cases/", {"overdue": "true"}),
        ("list property staff, newest", "b_prop1", "/api/v1/cases/", {}),
    ]
    print("\nAPI reads (ms, median / p95 of 30):")
    for label, user, path, params in checks:
        med, p95, out = timed(lambda u=user, p=path, q=params: api(u, p, **q))
        print(f"  {label:40s} {med:7.1f} / {p95:7.1f}   ({len(out['items'])} rows)")

    sub = Region.objects.get(kind="subdistrict", name="基准街道")
    community = Region.objects.filter(kind="community", parent=sub).order_by("pk").first()
    assert community is not None
    end = dt.date(2026, 11, 22)
    print("\nthe three rates (ms, median / p95 of 30):")
    for region, label in ((community, "community"), (sub, "subdistrict")):
        for months in (1, 3, 12, 33):
            start = end - dt.timedelta(days=30 * months)
            f = rates.Filters.for_region(region, start=start, end=end)
            med, p95, out = timed(lambda f=f: rates.rates(f))
            r = out["rates"]
            print(
                f"  {label:11s} {months:2d} months  {med:7.1f} / {p95:7.1f}   response {r['response']}, "
                f"resolution {r['resolution']}, satisfaction {r['satisfaction']}"
            )
    f = rates.Filters(
        community_ids=(community.pk,), grid_id=grid.pk, start=end - dt.timedelta(days=365), end=end
    )
    med, p95, _ = timed(lambda: rates.rates(f))
    print(f"  grid        12 months  {med:7.1f} / {p95:7.1f}")
    # handler and department questions read the daily table (the monthly one has no such dimension)
    handler_id = User.objects.get(username="b_handler000").pk
    for months in (1, 12, 33):
        f = rates.Filters(handler_id=handler_id, start=end - dt.timedelta(days=30 * months), end=end)
        med, p95, out = timed(lambda f=f: rates.rates(f))
        print(
            f"  handler     {months:2d} months  {med:7.1f} / {p95:7.1f}   resolution {out['rates']['resolution']}"
        )
    f = rates.Filters.for_region(sub, start=end - dt.timedelta(days=365), end=end)
    med, p95, _ = timed(lambda: rates.rates_by("category_id", f))
    print(f"  subdistrict 12 months by category  {med:7.1f} / {p95:7.1f}")

    now = dt.datetime.fromisoformat(os.environ.get("SWEEP_NOW", "2026-11-23T08:02:00+08:00"))
    print("\ndeadline sweep (one run each):")
    for i in range(2):
        t = time.perf_counter()
        out = sweep_deadlines(now=now)
        print(f"  run {i + 1} at {now.isoformat()}: {time.perf_counter() - t:.2f} s  {out}")
    later = now + dt.timedelta(hours=1)
    t = time.perf_counter()
    out = sweep_deadlines(now=later)
    print(f"  run 3 at {later.isoformat()}: {time.perf_counter() - t:.2f} s  {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
