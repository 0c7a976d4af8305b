"""Benchmark: registry search over the 1,000,000 residents loaded by bench_import.py (target p95 ≤ 100 ms).

Each query is what a user of the resident list page or the list endpoint waits for: ``search_residents`` on
``Resident.objects.visible_to(user)``, then the first page of 50 ordered by id (with the address joined) and the
count shown above the list, capped at ``COUNT_CAP`` (10,000) as ``CappedPaginator`` and the API's ``paginate``
count it (``tongxin.core.pagination.capped_count``). Measured for a
community staff member (a 200,000-resident community) and for the subdistrict admin (all 1,000,000), over
name prefixes (1-2 characters), last 4 digits of id number or phone, and addresses (estate / building / flat).

    .venv/bin/python bench/bench_search.py            # after bench/bench_import.py
    .venv/bin/python bench/bench_search.py --repeat 200
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (ROOT, BENCH):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_bench_import"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=100, help="queries per kind and user")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()
    import gen_residents

    from tongxin.core.models import User
    from tongxin.core.pagination import COUNT_CAP, capped_count
    from tongxin.people.models import Resident
    from tongxin.people.search import ResidentFilters, search_residents
    from tongxin.regions.models import Region, RoleAssignment

    total = Resident.objects.count()
    if total < 1000:
        print("run bench/bench_import.py first")
        return 1
    admin = User.objects.get(username="bench_admin")
    staff, _created = User.objects.get_or_create(username="bench_staff")
    community = Region.objects.get(kind="community", name="基准1社区")
    RoleAssignment.objects.get_or_create(user=staff, role="community_staff", region=community)

    rng = random.Random(7)
    estates = [gen_residents.estate_name(i) for i in range(gen_residents.ESTATES)]
    staff_estates = [e for i, e in enumerate(estates) if i % gen_residents.COMMUNITIES == 0]

    def names() -> str:
        surname = rng.choice(gen_residents.SURNAMES)
        return surname if rng.random() < 0.5 else surname + rng.choice(gen_residents.GIVEN)

    def last4() -> str:
        return f"{rng.randrange(10000):04d}"

    def address(pool: list[str]):
        def make() -> str:
            estate = rng.choice(pool)
            b = rng.randrange(1, gen_residents.BUILDINGS + 1)
            kind = rng.random()
            if kind < 0.2:
                return estate
            if kind < 0.4:
                return f"{estate}{b}栋"
            u = rng.randrange(1, gen_residents.ENTRANCES + 1)
            f = rng.randrange(1, gen_residents.FLOORS + 1)
            return f"{estate}{b}栋{u}单元{f}{rng.randrange(1, gen_residents.FLATS + 1):02d}"

        return make

    print(
        f"{total:,} residents; {args.repeat} queries per line; first page of 50 + count capped at {COUNT_CAP:,}, as the list page and API do"
    )
    results = []
    for label, user, pool in (
        ("community staff (1 of 5 communities)", staff, staff_estates),
        ("subdistrict admin", admin, estates),
    ):
        base = Resident.objects.visible_to(user)
        for kind, make in (("name prefix", names), ("last 4 digits", last4), ("address", address(pool))):
            page_ms, count_ms, total_ms = [], [], []
            for _ in range(args.repeat):
                q = make()
                qs = search_residents(base, ResidentFilters(q=q))
                t0 = time.perf_counter()
                rows = list(
                    qs.select_related(
                        "dwelling__estate", "dwelling__building", "dwelling__entrance"
                    ).order_by("pk")[:50]
                )
                t1 = time.perf_counter()
                n, _capped = capped_count(qs)
                t2 = time.perf_counter()
                assert len(rows) <= 50 and n >= len(rows)
                page_ms.append((t1 - t0) * 1000)
                count_ms.append((t2 - t1) * 1000)
                total_ms.append((t2 - t0) * 1000)
            p95 = statistics.quantiles(total_ms, n=20)[-1]
            results.append(p95)
            print(
                f"{label:38s} {kind:14s} p50 {statistics.median(total_ms):7.1f} ms  p95 {p95:7.1f} ms  "
                f"(page p95 {statistics.quantiles(page_ms, n=20)[-1]:.1f}, count p95 {statistics.quantiles(count_ms, n=20)[-1]:.1f})"
            )
    worst = max(results)
    print(
        f"worst p95 {worst:.1f} ms; target ≤ 100 ms: {'met' if worst <= 100 else f'missed by {worst - 100:.1f} ms'}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
