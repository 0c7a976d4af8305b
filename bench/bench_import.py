"""Benchmark: import 1,000,000 residents with their households and dwellings from CSV into PostgreSQL,
validation included (target ≤ 60 s), and a raw COPY of the same file into a plain table for comparison
(goal: the import runs at ≥ 0.25 of raw COPY speed).

    .venv/bin/python bench/bench_import.py                # 1,000,000 rows, fresh database tongxin_bench_import
    .venv/bin/python bench/bench_import.py --rows 100000  # smaller
    .venv/bin/python bench/bench_import.py --reimport     # also time importing the same file again (all unchanged)

The database named by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tongxin_bench_import) is
dropped and recreated. bench_search.py reuses it afterwards (``--keep`` is implied).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_import"


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    os.environ.setdefault("HUEY_IMMEDIATE", "1")
    import django

    django.setup()


def raw_copy_seconds(path: Path) -> float:
    """COPY the CSV as it is into a plain table of text columns (no parsing, no indexes)."""
    from django.db import connection
    from gen_residents import HEADER

    cols = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cur.execute(f"CREATE TABLE bench_raw_copy ({cols})")
        started = time.perf_counter()
        with (
            path.open("rb") as fh,
            cur.cursor.copy("COPY bench_raw_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := fh.read(1 << 20):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        cur.execute("SELECT count(*) FROM bench_raw_copy")
        copied = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_raw_copy")
    print(f"raw COPY: {copied} rows in {elapsed:.2f} s")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reimport", action="store_true")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile the import and print its N costliest functions",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    import gen_residents

    csv_path = ROOT / "var" / "bench" / f"residents-{args.rows}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        gen_residents.write_csv(args.rows, csv_path)
        print(f"generated {csv_path} in {time.perf_counter() - started:.1f} s")
    size_mb = csv_path.stat().st_size / 1e6

    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    gen_residents.build_places()

    from tongxin.core.models import ImportJob, User
    from tongxin.people.imports import run_import
    from tongxin.people.models import Household, Resident
    from tongxin.regions.models import Dwelling, Region, RoleAssignment

    user = User.objects.create_user(username="bench_admin", password="bench-not-a-login")
    RoleAssignment.objects.create(
        user=user, role="subdistrict_admin", region=Region.objects.get(kind="subdistrict")
    )

    def one_import(label: str) -> float:
        # the file is handed to run_import directly: the job names no upload (an upload is deleted after its
        # import, and the raw COPY and the re-import below read this file again)
        job = ImportJob.objects.create(kind="residents", original_name=csv_path.name, created_by=user)
        timings: dict[str, float] = {}
        profiler = cProfile.Profile() if args.profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        job = run_import(job, source=csv_path, timings=timings)
        if profiler is not None:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
        if job.status != ImportJob.Status.DONE:
            print(f"{label}: {job.status} {job.errors[:5]}")
            raise SystemExit(1)
        print(
            f"{label}: {job.total_rows} rows in {elapsed:.2f} s "
            f"(read+validate {timings.get('validate', 0):.2f} s, write {timings.get('write', 0):.2f} s); "
            f"created {job.created_count}, updated {job.updated_count}; "
            f"{job.total_rows / elapsed:,.0f} rows/s; Python CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f}"
        )
        steps = {k: v for k, v in timings.items() if k not in ("validate", "write")}
        print(
            "  write steps: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1]))
        )
        return elapsed

    print(
        f"file: {csv_path} ({args.rows} rows, {size_mb:.0f} MB); load average {os.getloadavg()[0]:.1f} before"
    )
    import_s = one_import("import")
    print(
        f"registry: {Resident.objects.count()} residents, {Household.objects.count()} households, "
        f"{Dwelling.objects.count()} dwellings"
    )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    copy_s = raw_copy_seconds(csv_path)
    ratio = copy_s / import_s
    print(
        f"ratio (import speed / raw COPY speed): {ratio:.3f}  (goal ≥ 0.25); import target ≤ 60 s: "
        f"{'met' if import_s <= 60 else f'missed by {import_s - 60:.1f} s'}"
    )
    if args.reimport:
        one_import("re-import (same file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
