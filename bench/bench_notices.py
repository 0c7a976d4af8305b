"""Notices at scale (issue 12), PostgreSQL:

1. fan-out: a notice to every household of a 1,000,000-household subdistrict — receipts and relays written and the
   first messages handed to the notification channels — target ≤ 30 s;
2. receipts recorded at ≥ 2,000/s (``services.record_receipt``, one transaction each, from worker processes;
   and the household's whole ``respond`` path from one process, for comparison);
3. the coverage view of a notice over 10,000 households ≤ 150 ms (the service and the page, p50/p95).

The data set is generated once, set-based (``INSERT … SELECT`` over ``generate_series``): 1 subdistrict,
10 communities × 10 estates × 20 buildings × 4 entrances × 125 flats = 1,000,000 dwellings and households, 50
grids with a grid worker each, 100,000 residents with an account (one in ten households has the phone pages),
an entrance leader on every other entrance.

    .venv/bin/python bench/bench_notices.py [--households 1000000] [--workers 2] [--receipts 20000]

The database is ``BENCH_NOTICES_URL`` (default postgres://postgres@127.0.0.1:5432/tongxin_notices); DATABASE_URL
is ignored so the benchmark never writes into a test or demo database.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tongxin_notices"
SUBDISTRICT = "通知基准街道"
COMMUNITIES, ESTATES, BUILDINGS, ENTRANCES = 10, 10, 20, 4


def setup(migrate: bool = True, fresh: bool = False) -> None:
    url = os.environ.get("BENCH_NOTICES_URL", DEFAULT_URL)
    name = url.rsplit("/", 1)[1]
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ["CONN_MAX_AGE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def sql(cur: Any, text: str, params: Any = None) -> int:
    cur.execute(text, params or [])
    return cur.rowcount


def generate(flats_per_entrance: int) -> None:
    from django.db import connection, transaction

    from tongxin.regions.models import Region

    if Region.objects.filter(name=SUBDISTRICT).exists():
        print("data set present")
        return
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        sub = Region.objects.create(kind="subdistrict", name=SUBDISTRICT, code="429004099")
        sql(cur, """INSERT INTO regions_region (path, depth, kind, name, number, code, parent_id)
            SELECT '', 1, 'community', '基准社区' || i, '', lpad(i::text, 3, '0'), %s FROM generate_series(1, %s) i""",
            [sub.pk, COMMUNITIES])  # fmt: skip
        sql(cur, "UPDATE regions_region SET path = %s || id || '/' WHERE parent_id = %s", [sub.path, sub.pk])
        sql(cur, """INSERT INTO regions_grid (community_id, name, code, polygon)
            SELECT c.id, c.name || '网格' || g, '429004099' || lpad(c.code, 3, '0') || lpad(g::text, 3, '0'), NULL
            FROM regions_region c CROSS JOIN generate_series(1, 5) g WHERE c.parent_id = %s""", [sub.pk])  # fmt: skip
        sql(cur, """INSERT INTO regions_region (path, depth, kind, name, number, code, parent_id)
            SELECT '', 2, 'estate', c.name || '小区' || e, '', '', c.id
            FROM regions_region c CROSS JOIN generate_series(1, %s) e WHERE c.parent_id = %s""", [ESTATES, sub.pk])  # fmt: skip
        sql(cur, """UPDATE regions_region r SET path = p.path || r.id || '/' FROM regions_region p
            WHERE r.parent_id = p.id AND r.kind = 'estate' AND p.parent_id = %s""", [sub.pk])  # fmt: skip
        # buildings: grid = the community's grid (building number mod 5)
        sql(cur, """INSERT INTO regions_region (path, depth, kind, name, number, code, parent_id, grid_id)
            SELECT '', 3, 'building', b || '栋', b::text, '', e.id,
                   (SELECT g.id FROM regions_grid g WHERE g.community_id = e.parent_id ORDER BY g.code
                    OFFSET (b %% 5) LIMIT 1)
            FROM regions_region e CROSS JOIN generate_series(1, %s) b
            WHERE e.kind = 'estate' AND e.path LIKE %s""", [BUILDINGS, sub.path + "%"])  # fmt: skip
        sql(cur, """UPDATE regions_region r SET path = p.path || r.id || '/' FROM regions_region p
            WHERE r.parent_id = p.id AND r.kind = 'building' AND p.path LIKE %s""", [sub.path + "%"])  # fmt: skip
        sql(cur, """INSERT INTO regions_region (path, depth, kind, name, number, code, parent_id, grid_id)
            SELECT '', 4, 'entrance', u || '单元', u::text, '', b.id, b.grid_id
            FROM regions_region b CROSS JOIN generate_series(1, %s) u
            WHERE b.kind = 'building' AND b.path LIKE %s""", [ENTRANCES, sub.path + "%"])  # fmt: skip
        sql(cur, """UPDATE regions_region r SET path = p.path || r.id || '/' FROM regions_region p
            WHERE r.parent_id = p.id AND r.kind = 'entrance' AND p.path LIKE %s""", [sub.path + "%"])  # fmt: skip
        n = sql(cur, """INSERT INTO regions_dwelling (entrance_id, building_id, estate_id, community_id, subdistrict_id,
                grid_id, number, floor, floor_area)
            SELECT u.id, b.id, e.id, e.parent_id, %s, u.grid_id, (f * 100 + k)::text, f, 89.50
            FROM regions_region u JOIN regions_region b ON b.id = u.parent_id JOIN regions_region e ON e.id = b.parent_id
            CROSS JOIN generate_series(1, %s) f CROSS JOIN generate_series(1, 5) k
            WHERE u.kind = 'entrance' AND u.path LIKE %s""",
            [sub.pk, max(flats_per_entrance // 5, 1), sub.path + "%"])  # fmt: skip
        print(f"dwellings {n:,}", flush=True)
        sql(cur, """INSERT INTO people_household (dwelling_id, number, started_on)
            SELECT id, '', CURRENT_DATE FROM regions_dwelling WHERE subdistrict_id = %s""", [sub.pk])  # fmt: skip
        # accounts and residents for one household in ten
        sql(cur, """INSERT INTO core_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                is_active, date_joined, display_name, phone_hash, phone_masked, failed_logins)
            SELECT '!', false, 'nb' || h.id, '', '', '', false, true, now(), '居民' || h.id, '', '', 0
            FROM people_household h JOIN regions_dwelling d ON d.id = h.dwelling_id
            WHERE d.subdistrict_id = %s AND h.id %% 10 = 0""", [sub.pk])  # fmt: skip
        sql(cur, """INSERT INTO people_resident (name, id_kind, id_number_enc, id_number_hash, id_number_masked, id_last4,
                gender, phone_enc, phone_hash, phone_masked, phone_last4, residence_status, status, dwelling_id,
                household_id, relation, skills, user_id, created_at, updated_at)
            SELECT '居民' || h.id, 'id_card', '', '', '', '', '', '', '', '', '', 'registered', 'active', h.dwelling_id,
                   h.id, 'head', '', u.id, now(), now()
            FROM core_user u JOIN people_household h ON u.username = 'nb' || h.id""")  # fmt: skip
        sql(cur, """UPDATE people_household h SET head_id = r.id FROM people_resident r
            WHERE r.household_id = h.id AND r.name LIKE '居民%%'""")  # fmt: skip
        # a grid worker per grid, an admin for the subdistrict
        sql(cur, """INSERT INTO core_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                is_active, date_joined, display_name, phone_hash, phone_masked, failed_logins)
            SELECT '!', false, 'nbgrid' || g.id, '', '', '', true, true, now(), g.name, '', '', 0
            FROM regions_grid g JOIN regions_region c ON c.id = g.community_id WHERE c.parent_id = %s""", [sub.pk])  # fmt: skip
        sql(cur, """INSERT INTO regions_roleassignment (user_id, role, grid_id)
            SELECT u.id, 'grid_worker', g.id FROM regions_grid g JOIN core_user u ON u.username = 'nbgrid' || g.id""")  # fmt: skip
        sql(cur, """INSERT INTO core_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                is_active, date_joined, display_name, phone_hash, phone_masked, failed_logins)
            VALUES ('!', false, 'nbadmin', '', '', '', true, true, now(), '基准街道管理员', '', '', 0)""")  # fmt: skip
        sql(cur, """INSERT INTO regions_roleassignment (user_id, role, region_id)
            SELECT id, 'subdistrict_admin', %s FROM core_user WHERE username = 'nbadmin'""", [sub.pk])  # fmt: skip
        # an entrance leader on every other entrance: the resident with an account living there, if any
        sql(cur, """INSERT INTO notices_leaderassignment (role, resident_id, place_id, cadre, subdistrict_id,
                community_id, estate_id, building_id, entrance_id, grid_id, started_on)
            SELECT DISTINCT ON (d.entrance_id) 'entrance_leader', r.id, d.entrance_id, false, d.subdistrict_id,
                   d.community_id, d.estate_id, d.building_id, d.entrance_id, d.grid_id, CURRENT_DATE
            FROM people_resident r JOIN regions_dwelling d ON d.id = r.dwelling_id
            WHERE d.subdistrict_id = %s AND r.user_id IS NOT NULL AND d.entrance_id %% 2 = 0
            ORDER BY d.entrance_id, r.id""", [sub.pk])  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)


def reset_notices() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE notices_receipt, notices_relay, notices_noticeevent, notices_noticeattachment, "
            "notices_notice_target_tags, notices_notice, core_notification RESTART IDENTITY CASCADE"
        )


def bench_fanout() -> int:
    from django.db import connection

    from tongxin.core.models import Notification, User
    from tongxin.notices import services
    from tongxin.notices.models import Receipt, Relay
    from tongxin.regions.models import Region

    admin = User.objects.get(username="nbadmin")
    sub = Region.objects.get(name=SUBDISTRICT)
    notice = services.create(
        admin, title="安心码使用说明", body="请各户按说明扫码登记安心码。", target=sub, action="confirm"
    )
    print(f"fan-out: load before {load()}", flush=True)
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    started = time.perf_counter()
    services.send(admin, notice)  # atomic: the messages go out when it commits, inside this call
    elapsed = time.perf_counter() - started
    receipts = Receipt.objects.filter(notice=notice).count()
    relays = Relay.objects.filter(notice=notice).count()
    handed = Notification.objects.count()
    queued = HUEY.pending_count()
    print(
        f"fan-out: {receipts:,} receipts, {relays:,} relays, {handed:,} messages to the first level handed to the "
        f"in-app channel, {queued} batches of direct messages queued, in {elapsed:.2f} s (target ≤ 30 s); "
        f"load after {load()}",
        flush=True,
    )
    started = time.perf_counter()
    while (task := HUEY.dequeue()) is not None:
        HUEY.execute(task)
    took = time.perf_counter() - started
    direct = Notification.objects.count() - handed
    print(
        f"direct messages: {direct:,} in-app messages written by the worker in {took:.2f} s; load {load()}",
        flush=True,
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE notices_receipt")
    return notice.pk


def _worker(args: tuple[int, list[int], int]) -> tuple[int, float]:
    notice_id, households, status_rank = args
    setup(migrate=False)
    from tongxin.notices import services
    from tongxin.notices.choices import ReceiptChannel, ReceiptStatus

    status = ReceiptStatus.CONFIRMED if status_rank == 2 else ReceiptStatus.READ
    started = time.perf_counter()
    moved = 0
    for hid in households:
        moved += services.record_receipt(notice_id, hid, status, ReceiptChannel.APP)
    return moved, time.perf_counter() - started


def bench_receipts(notice_id: int, n: int, workers: int) -> None:
    from tongxin.notices.models import Receipt

    ids = list(
        Receipt.objects.filter(notice_id=notice_id, rank=0).values_list("household_id", flat=True)[: n * 3]
    )
    random.Random(12).shuffle(ids)
    chunk = n // workers
    jobs = [(notice_id, ids[i * chunk : (i + 1) * chunk], 1) for i in range(workers)]
    print(f"receipts: load before {load()}", flush=True)
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.map(_worker, jobs)
    wall = time.perf_counter() - started
    moved = sum(r[0] for r in results)
    busy = max(r[1] for r in results)
    print(
        f"receipts: {moved:,} recorded by {workers} processes, {moved / busy:,.0f}/s over the workers' time "
        f"({moved / wall:,.0f}/s wall incl. process start); target ≥ 2,000/s; load after {load()}",
        flush=True,
    )
    # a leader's round / a gateway's report: 200 households per call, one UPDATE each
    from tongxin.core.models import User as U
    from tongxin.notices import services as svc
    from tongxin.notices.choices import ReceiptChannel as RC
    from tongxin.notices.models import Notice as N

    admin = U.objects.get(username="nbadmin")
    target = N.objects.get(pk=notice_id)
    rest = ids[n : n * 3]
    started = time.perf_counter()
    moved = 0
    for i in range(0, len(rest), 200):
        moved += svc.record_for_households(admin, target, rest[i : i + 200], RC.PHONE)
    took = time.perf_counter() - started
    print(
        f"receipts in batches of 200 (record_for_households): {moved:,} in {took:.2f} s, {moved / took:,.0f}/s; load {load()}",
        flush=True,
    )
    # the household's whole path (policy, own household lookup, the UPDATE) from one process
    from tongxin.core.models import User
    from tongxin.notices import services
    from tongxin.notices.choices import ReceiptStatus
    from tongxin.notices.models import Notice

    notice = Notice.objects.get(pk=notice_id)
    users = list(User.objects.filter(username__startswith="nb", resident__isnull=False)[:2000])
    started = time.perf_counter()
    for u in users:
        services.respond(u, notice, ReceiptStatus.CONFIRMED)
    took = time.perf_counter() - started
    print(
        f"respond(): {len(users):,} households confirmed from one process, {len(users) / took:,.0f}/s",
        flush=True,
    )


def bench_coverage(repeat: int) -> None:
    from django.test import Client

    from tongxin.core.models import User
    from tongxin.notices import coverage, services
    from tongxin.notices.models import Receipt, Relay
    from tongxin.regions.models import Region

    admin = User.objects.get(username="nbadmin")
    estate = (
        Region.objects.filter(kind="estate", path__startswith=Region.objects.get(name=SUBDISTRICT).path)
        .order_by("pk")
        .first()
    )
    assert estate is not None
    notice = services.create(
        admin, title="小区停水通知", body="明日9时至17时停水。", target=estate, action="confirm"
    )
    services.send(admin, notice)
    # partial coverage: 40 % of households confirmed, half the entrance relays passed on
    ids = list(Receipt.objects.filter(notice=notice).values_list("pk", flat=True))
    rng = random.Random(3)
    Receipt.objects.filter(pk__in=rng.sample(ids, len(ids) * 2 // 5)).update(
        status="confirmed", rank=2, channel="app"
    )
    relays = list(Relay.objects.filter(notice=notice, level="entrance").values_list("pk", flat=True))
    Relay.objects.filter(pk__in=relays[::2]).update(state="passed_on", passed_on_by=admin)
    households = Receipt.objects.filter(notice=notice).count()
    building = Region.objects.filter(parent=estate).order_by("pk").first()

    def run(fn: Any) -> tuple[float, float]:
        fn()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.95) - 1]

    print(f"coverage: notice over {households:,} households; load before {load()}", flush=True)
    for label, node in (("estate (20 buildings)", estate), ("building (4 entrances)", building)):
        p50, p95 = run(lambda node=node: coverage.coverage(admin, notice, node))
        print(f"coverage service, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
    client = Client()
    client.force_login(admin)
    url = f"/notices/{notice.pk}/coverage/"

    def page() -> None:
        r = client.get(url)
        assert r.status_code == 200, r.status_code

    p50, p95 = run(page)
    print(
        f"coverage page (whole request, estate level): p50 {p50:.1f} ms, p95 {p95:.1f} ms (target ≤ 150 ms); load after {load()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the data set")
    parser.add_argument("--only", choices=["fanout", "receipts", "coverage"], help="run one part")
    args = parser.parse_args()
    setup(fresh=args.fresh)
    entrances = COMMUNITIES * ESTATES * BUILDINGS * ENTRANCES
    generate(max(args.households // entrances, 5))
    reset_notices()
    if args.only in (None, "fanout", "receipts"):
        notice_id = bench_fanout()
        if args.only != "fanout":
            bench_receipts(notice_id, args.receipts, args.workers)
    if args.only in (None, "coverage"):
        bench_coverage(args.repeat)


if __name__ == "__main__":
    main()
