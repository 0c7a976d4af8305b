"""Shared setup of the participation benchmarks: their own PostgreSQL database, created and migrated on demand.

The database is ``BENCH_PARTICIPATION_URL`` (default postgres://postgres@127.0.0.1:5432/tongxin_bench_participation);
``DATABASE_URL`` is ignored on purpose so a benchmark never writes into a test or demo database.
"""

from __future__ import annotations

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
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_participation"


def setup() -> str:
    url = os.environ.get("BENCH_PARTICIPATION_URL", DEFAULT_URL)
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ["CONN_MAX_AGE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    return name


def timed(fn: Any, repeat: int) -> tuple[float, float, float]:
    """(median, p95, max) in milliseconds."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], times[-1]


def community() -> Any:
    """A minimal place (subdistrict, community, estate, building, entrance, grid, one dwelling) to hang rows on."""
    from tongxin.regions.models import Dwelling, Grid, Region

    sub, _ = Region.objects.get_or_create(kind="subdistrict", name="基准街道", defaults={"code": "429004900"})
    com, _ = Region.objects.get_or_create(
        kind="community", name="基准社区", parent=sub, defaults={"code": "901"}
    )
    grid, _ = Grid.objects.get_or_create(
        community=com, name="基准网格", defaults={"code": Grid.build_code(com, 1)}
    )
    est, _ = Region.objects.get_or_create(kind="estate", name="基准小区", parent=com)
    bld, _ = Region.objects.get_or_create(
        kind="building", name="1栋", parent=est, defaults={"grid": grid, "number": "1"}
    )
    ent, _ = Region.objects.get_or_create(kind="entrance", name="1单元", parent=bld, defaults={"number": "1"})
    dwelling = Dwelling.objects.filter(entrance=ent).first()
    if dwelling is None:
        dwelling = Dwelling(number="101")
        dwelling.place_under(ent)
        dwelling.save()
    return com, dwelling
