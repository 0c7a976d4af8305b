"""Registry API over a big registry: latency (p50/p95) and SQL queries per request of the list, search and
detail endpoints, for a subdistrict admin and a grid worker, with token auth and the whole middleware stack
(only the API is routed, so other apps' pages play no part).

Builds its own data once in a separate PostgreSQL database (default ``tongxin_bench_api``), then measures:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_api \\
        .venv/bin/python bench/bench_api.py --residents 100000 --runs 30

Requests go through Django's test client in-process (no HTTP server), so the figures are server time only.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_api"
ESTATES, BUILDINGS, ENTRANCES, DWELLINGS_PER_ENTRANCE = 10, 10, 2, 40  # 8,000 dwellings
GRIDS = 4


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def build(residents: int) -> None:
    """The registry: one community, 4 grids, 10 estates, 8,000 dwellings, ``residents`` people, 5% tagged."""
    from tongxin.core import pii
    from tongxin.core.models import User
    from tongxin.people.models import Household, Resident, Tag
    from tongxin.people.pii import set_id_number, set_phone
    from tongxin.regions.models import Dwelling, Grid, Region, RoleAssignment

    sub = Region.objects.create(kind="subdistrict", name="基准街道", code="429004099")
    community = Region.objects.create(kind="community", name="基准社区", parent=sub, code="001")
    grids = [
        Grid.objects.create(
            community=community, name=f"基准网格{i + 1}", code=Grid.build_code(community, i + 1)
        )
        for i in range(GRIDS)
    ]
    entrances = []
    for e in range(ESTATES):
        estate = Region.objects.create(kind="estate", name=f"基准花园{e + 1:02d}", parent=community)
        for b in range(BUILDINGS):
            building = Region.objects.create(
                kind="building",
                name=f"{b + 1}栋",
                number=str(b + 1),
                parent=estate,
                grid=grids[(e * BUILDINGS + b) % GRIDS],
            )
            for n in range(ENTRANCES):
                entrances.append(
                    Region.objects.create(
                        kind="entrance", name=f"{n + 1}单元", number=str(n + 1), parent=building
                    )
                )
    dwellings = []
    for entrance in entrances:
        for k in range(DWELLINGS_PER_ENTRANCE):
            d = Dwelling(number=f"{k // 4 + 1}{k % 4 + 1:02d}", floor=k // 4 + 1, floor_area=90)
            d.place_under(entrance)
            dwellings.append(d)
    Dwelling.objects.bulk_create(dwellings, batch_size=2000)
    dwellings = list(Dwelling.objects.order_by("id"))
    households = Household.objects.bulk_create([Household(dwelling=d) for d in dwellings], batch_size=2000)
    elderly = Tag.objects.get(code="elderly_alone")
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚"
    batch: list[Resident] = []
    for i in range(residents):
        d = dwellings[i % len(dwellings)]
        r = Resident(
            name=surnames[i % 20] + given[(i // 20) % 20] + given[(i // 400) % 20],
            dwelling=d,
            household=households[i % len(dwellings)],
            relation="head" if i < len(dwellings) else "other",
        )
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=i // 1000)
        # generate_id_number varies 500 sequences per gender and birth date: 1,000 people per day of birth
        set_id_number(r, pii.generate_id_number("429004", birth, i % 500, female=bool((i // 500) % 2)))
        set_phone(r, f"139{i:08d}")
        batch.append(r)
        if len(batch) == 5000:
            Resident.objects.bulk_create(batch)
            batch = []
    Resident.objects.bulk_create(batch)
    through = Resident.tags.through
    ids = Resident.objects.order_by("id").values_list("id", flat=True)[::20]
    through.objects.bulk_create([through(resident_id=i, tag_id=elderly.pk) for i in ids], batch_size=5000)
    admin = User.objects.create_user("bench_admin", password="x" * 12)
    worker = User.objects.create_user("bench_grid", password="x" * 12)
    RoleAssignment.objects.create(user=admin, role="subdistrict_admin", region=sub)
    RoleAssignment.objects.create(user=worker, role="grid_worker", grid=grids[0])


class QueryLog:
    """An execute wrapper that notes every SQL statement run."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.sql.append(sql)
        return execute(sql, params, many, context)


def measure(runs: int) -> None:
    from django.db import connection
    from django.test import Client

    from tongxin.core.models import ApiToken, User
    from tongxin.people.models import Resident

    sample = Resident.objects.order_by("id")[12345 % Resident.objects.count()]
    last4 = sample.phone_last4
    clients = {}
    for username in ("bench_admin", "bench_grid"):
        _token, key = ApiToken.issue(User.objects.get(username=username), "bench")
        clients[username] = Client(headers={"authorization": f"Bearer {key}"}, SERVER_NAME="localhost")
    cases = [
        ("bench_admin", "list, page_size=50", "/api/v1/people/residents/?page_size=50"),
        ("bench_admin", "list, page_size=200", "/api/v1/people/residents/?page_size=200"),
        ("bench_admin", "list, page 100 of 50", "/api/v1/people/residents/?page=100&page_size=50"),
        ("bench_admin", "q=name prefix 王伟", "/api/v1/people/residents/?q=王伟"),
        ("bench_admin", f"q=last 4 ({last4})", f"/api/v1/people/residents/?q={last4}"),
        (
            "bench_admin",
            "q=address 基准花园03 5栋1单元201",
            "/api/v1/people/residents/?q=基准花园035栋1单元201",
        ),
        ("bench_admin", "tag=elderly_alone", "/api/v1/people/residents/?tag=elderly_alone&page_size=200"),
        ("bench_grid", "grid worker, list 200", "/api/v1/people/residents/?page_size=200"),
        ("bench_admin", "resident detail", f"/api/v1/people/residents/{sample.pk}"),
        ("bench_admin", "dwellings, page_size=200", "/api/v1/regions/dwellings/?page_size=200"),
        ("bench_admin", "grids", "/api/v1/regions/grids/"),
        ("bench_admin", "resolve address", "/api/v1/regions/resolve?address=基准花园035栋1单元201"),
    ]
    print(f"{'case':38} {'user':12} {'count':>8} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for username, label, url in cases:
        client = clients[username]
        client.get(url)  # warm up (first token use, caches)
        queries = QueryLog()
        with connection.execute_wrapper(queries):
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:200])
        body = response.json()
        count = body.get("count", 1) if isinstance(body, dict) else len(body)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
        print(
            f"{label:38} {username:12} {count:>8} {len(queries.sql):>7} "
            f"{statistics.median(times):>8.1f} {p95:>8.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if "tongxin_bench" not in url:
        print("refusing to run outside a tongxin_bench* database", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,testserver")
    ensure_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__  # only the API: see urlpatterns below
    call_command("migrate", verbosity=0)
    from tongxin.people.models import Resident

    have = Resident.objects.count()
    if have != args.residents:
        if have:
            print(
                f"the database holds {have} residents, not {args.residents}: drop it first", file=sys.stderr
            )
            return 2
        start = time.perf_counter()
        with transaction.atomic():
            build(args.residents)
        print(f"built {args.residents} residents in {time.perf_counter() - start:.1f} s")
    analyze()
    measure(args.runs)
    return 0


def __getattr__(name: str) -> object:
    """``urlpatterns`` for ROOT_URLCONF, built on first use (after django.setup())."""
    if name == "urlpatterns":
        from django.urls import path

        from tongxin.api import api

        return [path("api/v1/", api.urls)]
    raise AttributeError(name)


def analyze() -> None:
    """ANALYZE after a bulk load, so the planner knows the tables' sizes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


if __name__ == "__main__":
    raise SystemExit(main())
