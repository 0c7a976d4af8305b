"""Registry staff pages with the demo data: server time p50/p95 and SQL queries per page and role.

Loads the demo (``manage.py load_demo``) once into a separate PostgreSQL database (default
``tongxin_bench_registry_ui``), then requests each registry page ``--runs`` times through Django's test client
in-process (no HTTP server, so the figures are server time only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_registry_ui \\
        .venv/bin/python bench/bench_registry_ui.py --runs 20

Targets (issue 2): a list page runs the same small number of queries (≤ 10) whatever the page size; the search
itself is measured over 1,000,000 residents by bench_search.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_registry_ui"


def body_size(response: Any) -> int:
    """Bytes of a response body, streamed (file downloads) or not."""
    return len(b"".join(response.streaming_content) if response.streaming else response.content)


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def pages() -> list[tuple[str, str, str]]:
    """(label, username, url) for the registry pages, with ids picked from the demo data."""
    from tongxin.core.models import User
    from tongxin.party.models import CoBuildingUnit
    from tongxin.people.models import Resident
    from tongxin.regions.models import Grid, Region

    mtc = User.objects.get(username="mtc")
    resident = (
        Resident.objects.visible_to(mtc)
        .filter(household__isnull=False, party_member__isnull=False)
        .order_by("pk")
    ).first()
    grid = Grid.objects.visible_to(mtc).order_by("code").first()
    community = Region.objects.get(kind="community", name="满庭春社区")
    estate = Region.objects.filter(kind="estate", parent=community).order_by("pk").first()
    unit = CoBuildingUnit.objects.order_by("pk").first()
    q = quote
    out = [
        ("region tree (jiedao)", "jiedao", "/regions/"),
        ("community node (mtc)", "mtc", f"/regions/{community.pk}/"),
        ("resident list (jiedao)", "jiedao", "/people/"),
        ("resident list (mtc)", "mtc", "/people/"),
        ("resident list (wangge1)", "wangge1", "/people/"),
        ("resident list (wuye)", "wuye", "/people/"),
        ("search name (mtc)", "mtc", "/people/?q=" + q("王")),
        ("search last 4 (mtc)", "mtc", "/people/?q=0001"),
        ("search address (mtc)", "mtc", "/people/?q=" + q("锦绣江山3栋2单元")),
        ("filter tag+status (mtc)", "mtc", "/people/?tag=elderly_alone&residence_status=registered"),
        ("page 20 (jiedao)", "jiedao", "/people/?page=20"),
        ("party members (mtc)", "mtc", "/party/"),
        ("party members dual (jiedao)", "jiedao", "/party/?member_type=dual_registered"),
        ("party organisation (jiedao)", "jiedao", "/party/organisations/"),
        ("co-building units (mtc)", "mtc", "/party/co-building/"),
    ]
    if estate is not None:
        out.append(("estate node (mtc)", "mtc", f"/regions/{estate.pk}/"))
    if resident is not None:
        out.append(("resident detail (mtc)", "mtc", f"/people/{resident.pk}/"))
        out.append(("household (mtc)", "mtc", f"/people/dwellings/{resident.dwelling_id}/"))
    if grid is not None:
        out.append(("grid roster (mtc)", "mtc", f"/people/grids/{grid.pk}/"))
        out.append(("grid roster .xlsx (mtc)", "mtc", f"/people/roster/export/?grid={grid.pk}"))
    if unit is not None:
        out.append(("co-building unit (jiedao)", "jiedao", f"/party/co-building/{unit.pk}/"))
    return out


def measure(label: str, username: str, url: str, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongxin.core.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.get(url)  # warm-up and status check
    times = []
    queries = 0
    for i in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        if i == 0:
            queries = len(ctx.captured_queries)
    times.sort()
    return {
        "label": label,
        "status": response.status_code,
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "queries": queries,
        "bytes": body_size(response),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
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

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    from tongxin.core.models import User
    from tongxin.people.models import Resident

    if not User.objects.filter(username="mtc").exists():
        t0 = time.perf_counter()
        call_command("load_demo", verbosity=0)
        print(f"demo loaded in {time.perf_counter() - t0:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"residents: {Resident.objects.count()}")
    print(f"load average before measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = [measure(label, user, path, args.runs) for label, user, path in pages()]
    width = max(len(r["label"]) for r in rows)
    print(f"{'page':<{width}}  status   p50 ms   p95 ms  queries    bytes")
    for r in rows:
        print(
            f"{r['label']:<{width}}  {r['status']:>6} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['queries']:>8} "
            f"{r['bytes']:>8}"
        )
    print(f"runs per page: {args.runs}; queries include session, user and role lookups and the session save")
    return 0 if all(r["status"] == 200 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
