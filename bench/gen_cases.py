"""Deterministic generator of the cases benchmark data set (default 10,000,000 cases) on PostgreSQL.

Creates (once) a place tree — 1 subdistrict, 5 communities × 4 grids, 50 estates × 10 buildings with coordinates —
one user per role and node (community staff, grid workers, property staff, department liaisons) plus 100 handlers,
then streams the cases with ``COPY`` (indexes dropped during the load and rebuilt after, FK triggers off for
the loading session only), and fills the rollup table with one set-based ``INSERT … SELECT … GROUP BY`` so the
three rates agree with the cases. Case states follow age: older cases are closed (or rejected / merged / resolved
awaiting feedback), recent ones are spread over the open states; deadline flags and supervision levels are set as
the sweep would have left them at the generation time ``--now``. No timeline events are generated (the rates read
the rollup table, not events).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_bench_cases \\
        .venv/bin/python bench/gen_cases.py --cases 10000000

Same ``--seed`` and ``--now`` → the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/tongxin_bench_cases"
COMMUNITIES = 5
GRIDS_PER_COMMUNITY = 4
ESTATES_PER_COMMUNITY = 10
BUILDINGS_PER_ESTATE = 10
HANDLERS = 100
SEED = 20261123
DAYS = 1000  # cases spread over the last 1000 days
CHUNK = 250_000
CHANNELS = ["hotline", "suggestion_box", "grid_patrol", "front_desk", "resident_app", "api", "open311"]
CHANNEL_P = [0.35, 0.05, 0.2, 0.1, 0.25, 0.03, 0.02]
OLD_STATES = ["closed", "resolved", "rejected", "merged", "in_progress", "dispatched"]
OLD_P = [0.82, 0.08, 0.05, 0.02, 0.02, 0.01]
NEW_STATES = [
    "submitted",
    "accepted",
    "dispatched",
    "open_for_claiming",
    "in_progress",
    "whistled",
    "resolved",
    "closed",
    "rejected",
]
NEW_P = [0.1, 0.05, 0.2, 0.03, 0.2, 0.02, 0.2, 0.18, 0.02]
OPEN = {
    "submitted",
    "accepted",
    "dispatched",
    "open_for_claiming",
    "in_progress",
    "returned",
    "whistled",
    "reopened",
}
RATINGS = ["satisfied", "basically_satisfied", "dissatisfied"]


def tokens_file() -> Path:
    """API tokens made by gen_cases.py, one file per database."""
    name = os.environ.get("DATABASE_URL", DEFAULT_DB).rsplit("/", 1)[-1]
    return ROOT / "var" / "bench" / f"cases_tokens_{name}.txt"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ensure_database(url: str) -> None:
    from urllib.parse import urlparse

    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def build_world() -> dict[str, Any]:
    """The place tree, users and tokens (idempotent: reused when it exists)."""
    from django.contrib.auth.hashers import make_password

    from tongxin.core.models import ApiToken, User
    from tongxin.regions.models import Department, Grid, PropertyCompany, Region, RoleAssignment

    sub = Region.objects.filter(kind="subdistrict", name="基准街道").first()
    if sub is None:
        sub = Region.objects.create(kind="subdistrict", name="基准街道", code="429004901")
        pw = make_password("tongxin-bench")
        admin = User.objects.create(username="b_admin", password=pw, is_staff=True, display_name="街道管理员")
        RoleAssignment.objects.create(user=admin, role="subdistrict_admin", region=sub)
        depts = [
            Department.objects.create(subdistrict=sub, name=n, short_name=s)
            for n, s in (("城市管理局", "城管"), ("住房和城乡建设局", "住建"), ("公安派出所", "公安"))
        ]
        for d in depts:
            u = User.objects.create(username=f"b_dept{d.pk}", password=pw, is_staff=True)
            RoleAssignment.objects.create(user=u, role="department_liaison", department=d)
        for c in range(COMMUNITIES):
            comm = Region.objects.create(
                kind="community", name=f"基准{c + 1}社区", parent=sub, code=f"{c + 1:03d}"
            )
            u = User.objects.create(username=f"b_staff{c + 1}", password=pw, is_staff=True)
            RoleAssignment.objects.create(user=u, role="community_staff", region=comm)
            grids = []
            for g in range(GRIDS_PER_COMMUNITY):
                grid = Grid.objects.create(
                    community=comm, name=f"第{g + 1}网格", code=Grid.build_code(comm, g + 1)
                )
                w = User.objects.create(username=f"b_grid{c + 1}_{g + 1}", password=pw, is_staff=True)
                RoleAssignment.objects.create(user=w, role="grid_worker", grid=grid)
                grid.workers.add(w)
                grids.append(grid)
            pc = PropertyCompany.objects.create(name=f"基准{c + 1}物业", has_party_branch=True)
            pu = User.objects.create(username=f"b_prop{c + 1}", password=pw, is_staff=True)
            RoleAssignment.objects.create(user=pu, role="property_staff", property_company=pc)
            for e in range(ESTATES_PER_COMMUNITY):
                n = c * ESTATES_PER_COMMUNITY + e
                estate = Region.objects.create(kind="estate", name=f"基准{n + 1:03d}小区", parent=comm)
                pc.estates.add(estate)
                for b in range(BUILDINGS_PER_ESTATE):
                    Region.objects.create(
                        kind="building",
                        name=f"{b + 1}栋",
                        number=str(b + 1),
                        parent=estate,
                        grid=grids[(e * BUILDINGS_PER_ESTATE + b) % GRIDS_PER_COMMUNITY],
                        latitude=30.36 + 0.002 * n + 0.0002 * b,
                        longitude=113.44 + 0.002 * n + 0.0002 * b,
                    )
        User.objects.bulk_create(
            [User(username=f"b_handler{i:03d}", password=pw, is_staff=True) for i in range(HANDLERS)]
        )
        tok_dir = ROOT / "var" / "bench"
        tok_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        for name in ("b_admin", "b_staff1", "b_grid1_1", "b_handler000", "b_prop1"):
            _, key = ApiToken.issue(User.objects.get(username=name), "bench")
            lines.append(f"{name} {key}")
        tokens_file().write_text("\n".join(lines) + "\n")
    # the workbench lets only a role in (the access policy): a handler is a volunteer without a region, so what
    # waits for them is what is assigned to them (idempotent, also for a database generated before)
    for user in User.objects.filter(username__startswith="b_handler", roles__isnull=True):
        RoleAssignment.objects.create(user=user, role="volunteer")
    return world_ids(sub)


def world_ids(sub: Any) -> dict[str, Any]:
    from tongxin.cases.models import Category
    from tongxin.core.models import User
    from tongxin.regions.models import Department, Grid, PropertyCompany, Region

    buildings = list(
        Region.objects.filter(kind="building", path__startswith=sub.path)
        .order_by("pk")
        .values_list("pk", "parent_id", "grid_id", "latitude", "longitude")
    )
    estates = dict(
        Region.objects.filter(kind="estate", path__startswith=sub.path).values_list("pk", "parent_id")
    )
    grids = dict(Grid.objects.filter(community__parent=sub).values_list("pk", "community_id"))
    workers = dict(Grid.objects.filter(community__parent=sub).values_list("pk", "workers__pk"))
    company_of = {
        e: pc
        for pc, e in PropertyCompany.estates.through.objects.values_list("propertycompany_id", "region_id")
    }
    cats = list(
        Category.objects.filter(active=True)
        .order_by("pk")
        .values_list(
            "pk",
            "service_code",
            "handler_kind",
            "policy__respond_within",
            "policy__resolve_within",
            "policy__red_factor",
        )
    )
    return {
        "sub": sub.pk,
        "buildings": buildings,
        "estates": estates,
        "grids": grids,
        "workers": workers,
        "company_of": company_of,
        "departments": list(Department.objects.filter(subdistrict=sub).values_list("pk", flat=True)),
        "handlers": list(
            User.objects.filter(username__startswith="b_handler").order_by("pk").values_list("pk", flat=True)
        ),
        "categories": cats,
    }


COLUMNS = [
    "number", "channel", "category_id", "title", "description", "attributes", "anonymous", "contact_name",
    "contact_phone_enc", "contact_phone_hash", "contact_phone_masked", "contact_phone_last4", "address",
    "latitude", "longitude", "building_id", "estate_id", "community_id", "subdistrict_id", "grid_id", "state",
    "state_reason", "supervision", "due_soon", "overdue", "sweep_level", "deadline_start", "respond_by",
    "resolve_by", "due_soon_at", "red_at", "assignee_id", "team_kind", "property_company_id", "department_id",
    "plan", "result", "rating", "rating_source", "rating_comment", "reopen_count", "receipt_code",
    "idempotency_client", "idempotency_key", "submitted_at", "accepted_at", "first_response_at",
    "dispatched_at", "resolved_at", "closed_at", "rated_at", "updated_at", "step_sweep",
]  # fmt: skip


def ts(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def generate(n: int, world: dict[str, Any], now: dt.datetime, seed: int, out: Any) -> None:
    """Write ``n`` case rows as COPY text to ``out`` (a psycopg Copy) in chunks."""
    from tongxin.cases.routing.corpus import PHRASES

    rng = np.random.default_rng(seed)
    now_s = now.timestamp()
    start_s = now_s - DAYS * 86400
    buildings = world["buildings"]
    cats = world["categories"]
    code_to_idx = {c[1]: i for i, c in enumerate(cats)}
    texts_by_cat = [PHRASES.get(c[1]) or [f"{c[1]} 问题反映"] for c in cats]
    handlers = world["handlers"]
    depts = world["departments"]
    alphabet = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        ids = np.arange(done, done + m)
        # submission times: uniform over the period, sorted so numbers grow with time
        sub_s = np.sort(rng.uniform(start_s, now_s, m))
        b_idx = rng.integers(0, len(buildings), m)
        ch_idx = rng.choice(len(CHANNELS), m, p=CHANNEL_P)
        cat_idx = rng.integers(0, len(cats), m)
        # favour the categories with a corpus so texts look real
        cat_idx = np.where(rng.random(m) < 0.3, rng.integers(0, len(cats), m), cat_idx)
        age_days = (now_s - sub_s) / 86400
        old_state = rng.choice(len(OLD_STATES), m, p=OLD_P)
        new_state = rng.choice(len(NEW_STATES), m, p=NEW_P)
        rating_idx = rng.choice(3, m, p=[0.8, 0.15, 0.05])
        rated = rng.random(m) < 0.7
        resp_delay = rng.exponential(600, m)
        res_frac = rng.uniform(0.1, 1.3, m)
        handler_pick = rng.integers(0, len(handlers), m)
        receipt = rng.integers(0, 32, (m, 10))
        phrase_pick = rng.integers(0, 6, m)
        buf = io.StringIO()
        w = buf.write
        for j in range(m):
            i = int(ids[j])
            bpk, estate, grid, lat, lon = buildings[b_idx[j]]
            community = world["estates"][estate]
            cpk, _code, kind, respond_within, resolve_within, red_factor = cats[cat_idx[j]]
            s = float(sub_s[j])
            state = OLD_STATES[old_state[j]] if age_days[j] > 30 else NEW_STATES[new_state[j]]
            resolve_w = resolve_within.total_seconds()
            respond_w = (respond_within or resolve_within).total_seconds()
            respond_by = s + respond_w
            resolve_by = s + resolve_w
            due_soon_at = s + 0.8 * resolve_w
            red_at = resolve_by + float(red_factor) * resolve_w
            is_open = state in OPEN
            due_soon = is_open and due_soon_at <= now_s
            overdue = is_open and resolve_by <= now_s
            red = is_open and red_at <= now_s
            supervision = "red" if red else "yellow" if overdue else "normal"
            sweep_level = 4 if red else 3 if overdue else 1 if due_soon else 0
            responded = state not in ("submitted",)
            first_resp = s + float(resp_delay[j]) if responded else None
            assignee = company = dept = None
            team = ""
            if state in ("dispatched", "in_progress", "resolved", "closed", "whistled"):
                if kind == "property_company":
                    company = world["company_of"].get(estate)
                    team = "property_company"
                elif kind == "department" and depts:
                    dept = depts[i % len(depts)]
                    team = "department"
                else:
                    assignee = world["workers"].get(grid) if i % 3 else handlers[handler_pick[j]]
                    team = kind
            resolved_at = closed_at = rated_at = None
            rating = ""
            if state in ("resolved", "closed"):
                resolved_at = min(s + float(res_frac[j]) * resolve_w, now_s)
            if state == "closed":
                closed_at = min((resolved_at or s) + 86400, now_s)
                if rated[j]:
                    rating = RATINGS[rating_idx[j]]
                    rated_at = closed_at
            if state in ("rejected", "merged"):
                closed_at = min(s + 3600, now_s)
            texts = texts_by_cat[cat_idx[j]]
            text = texts[phrase_pick[j] % len(texts)]
            number = f"{dt.datetime.fromtimestamp(s, dt.UTC):%Y%m%d}{i:08d}"
            w(
                "\t".join(
                    (
                        number,
                        CHANNELS[ch_idx[j]],
                        str(cpk),
                        text[:30],
                        text,
                        "{}",
                        "f",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        f"{lat:.6f}",
                        f"{lon:.6f}",
                        str(bpk),
                        str(estate),
                        str(community),
                        str(world["sub"]),
                        str(grid),
                        state,
                        "",
                        supervision,
                        "t" if due_soon else "f",
                        "t" if overdue else "f",
                        str(sweep_level),
                        ts(s),
                        ts(respond_by),
                        ts(resolve_by),
                        ts(due_soon_at),
                        ts(red_at),
                        str(assignee) if assignee else r"\N",
                        team,
                        str(company) if company else r"\N",
                        str(dept) if dept else r"\N",
                        "",
                        "已处理" if resolved_at else "",
                        rating,
                        "online" if rating else "",
                        "",
                        "0",
                        "".join(alphabet[receipt[j]]) + "",
                        "",
                        "",
                        ts(s),
                        ts(first_resp) if first_resp else r"\N",
                        ts(first_resp) if first_resp else r"\N",
                        ts(first_resp) if (first_resp and (assignee or company or dept)) else r"\N",
                        ts(resolved_at) if resolved_at else r"\N",
                        ts(closed_at) if closed_at else r"\N",
                        ts(rated_at) if rated_at else r"\N",
                        ts(closed_at or resolved_at or first_resp or s),
                        "0",
                    )
                )
                + "\n"
            )
        out.write(buf.getvalue())
        done += m
        print(f"  {done:,} rows", flush=True)
    del code_to_idx


def _cumulative_case(u: str, names: list[str], probs: list[float]) -> str:
    parts, acc = [], 0.0
    for name, p in zip(names[:-1], probs[:-1], strict=True):
        acc += p
        parts.append(f"WHEN {u} < {acc:.6f} THEN '{name}'")
    return "CASE " + " ".join(parts) + f" ELSE '{names[-1]}' END"


def generate_sql(n: int, world: dict[str, Any], now: dt.datetime, seed: int, cur: Any) -> None:
    """The same distributions as :func:`generate`, computed inside PostgreSQL (INSERT … SELECT from
    generate_series with hashint8extended as a seeded uniform generator). Used for the 10M run: on the shared
    2-core machine, formatting COPY text in Python was CPU-bound at ~4,000 rows/s."""
    from tongxin.cases.routing.corpus import PHRASES

    cur.execute("DROP TABLE IF EXISTS gen_b, gen_c")
    cur.execute(
        "CREATE TEMP TABLE gen_b (idx int, pk bigint, estate bigint, community bigint, grid bigint, "
        "lat float8, lon float8, company bigint, worker bigint)"
    )
    rows = []
    for i, (bpk, estate, grid, lat, lon) in enumerate(world["buildings"]):
        rows.append(
            (i, bpk, estate, world["estates"][estate], grid, lat, lon, world["company_of"].get(estate),
             world["workers"].get(grid))
        )  # fmt: skip
    cur.executemany("INSERT INTO gen_b VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    cur.execute(
        "CREATE TEMP TABLE gen_c (idx int, pk bigint, kind text, respond_s float8, resolve_s float8, "
        "red float8, texts text[])"
    )
    cur.executemany(
        "INSERT INTO gen_c VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [
            (i, pk, kind, (rw or rs).total_seconds(), rs.total_seconds(), float(red),
             PHRASES.get(code) or [f"{code} 问题反映"])
            for i, (pk, code, kind, rw, rs, red) in enumerate(world["categories"])
        ],
    )  # fmt: skip
    cur.execute("CREATE INDEX ON gen_b (idx)")
    cur.execute("CREATE INDEX ON gen_c (idx)")
    cur.execute("ANALYZE gen_b")
    cur.execute("ANALYZE gen_c")
    nb, nc = len(world["buildings"]), len(world["categories"])
    handlers = world["handlers"]
    depts = world["departments"] or [0]
    now_s = now.timestamp()
    start_s = now_s - DAYS * 86400

    def u(k: int) -> str:
        return f"((hashint8extended(g, {seed * 100 + k}) & 2147483647)::float8 / 2147483648.0)"

    channel = _cumulative_case(u(3), CHANNELS, CHANNEL_P)
    old_state = _cumulative_case(u(5), OLD_STATES, OLD_P)
    new_state = _cumulative_case(u(6), NEW_STATES, NEW_P)
    rating = _cumulative_case(u(7), RATINGS, [0.8, 0.15, 0.05])
    open_list = ", ".join(f"'{x}'" for x in sorted(OPEN))
    handler_arr = "ARRAY[" + ",".join(str(h) for h in handlers) + "]::bigint[]"
    dept_arr = "ARRAY[" + ",".join(str(d) for d in depts) + "]::bigint[]"
    chunk = 1_000_000
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk) - 1
        t = time.perf_counter()
        sql = f"""
            WITH r AS MATERIALIZED (
                SELECT g,
                    {start_s} + (g + {u(0)}) * {DAYS * 86400.0 / n} AS s,
                    floor({u(1)} * {nb})::int AS bi,
                    floor({u(2)} * {nc})::int AS ci,
                    {channel} AS channel,
                    {u(8)} AS u_rate, {u(9)} AS u_resp, {u(10)} AS u_res, {u(11)} AS u_h,
                    {old_state} AS old_state, {new_state} AS new_state, {rating} AS rating_pick,
                    upper(substr(md5(g::text || '{seed}'), 1, 10)) AS receipt
                FROM generate_series({lo}, {hi}) g
            ), x AS MATERIALIZED (
                SELECT r.*, b.pk AS building, b.estate, b.community, b.grid, b.lat, b.lon, b.company AS b_company, b.worker AS b_worker,
                    c.pk AS category, c.kind, c.respond_s, c.resolve_s, c.red AS red_factor,
                    c.texts[1 + g % array_length(c.texts, 1)] AS text,
                    CASE WHEN {now_s} - r.s > 30 * 86400 THEN r.old_state ELSE r.new_state END AS state
                FROM r JOIN gen_b b ON b.idx = r.bi JOIN gen_c c ON c.idx = r.ci
            ), y AS MATERIALIZED (
                SELECT x.*,
                    x.state IN ({open_list}) AS is_open,
                    x.state IN ('dispatched', 'in_progress', 'resolved', 'closed', 'whistled') AS handled,
                    x.s + x.respond_s AS respond_by, x.s + x.resolve_s AS resolve_by,
                    x.s + 0.8 * x.resolve_s AS due_soon_at, x.s + x.resolve_s * (1 + x.red_factor) AS red_at,
                    CASE WHEN x.state <> 'submitted' THEN x.s - 600 * ln(1 - x.u_resp * 0.999) END AS first_resp
                FROM x
            ), z AS MATERIALIZED (
                SELECT y.*,
                    y.is_open AND y.due_soon_at <= {now_s} AS due_soon,
                    y.is_open AND y.resolve_by <= {now_s} AS overdue,
                    y.is_open AND y.red_at <= {now_s} AS red,
                    CASE WHEN y.handled AND y.kind NOT IN ('property_company', 'department')
                        THEN CASE WHEN y.g % 3 <> 0 THEN y.b_worker
                             ELSE ({handler_arr})[1 + floor(y.u_h * {len(handlers)})::int] END END AS assignee,
                    CASE WHEN y.handled AND y.kind = 'property_company' THEN y.b_company END AS company,
                    CASE WHEN y.handled AND y.kind = 'department'
                        THEN ({dept_arr})[1 + y.g % {len(depts)}] END AS dept,
                    CASE WHEN y.state IN ('resolved', 'closed')
                        THEN least(y.s + (0.1 + 1.2 * y.u_res) * y.resolve_s, {now_s}) END AS resolved_s
                FROM y
            ), f AS MATERIALIZED (
                SELECT z.*,
                    CASE WHEN z.state = 'closed' THEN least(z.resolved_s + 86400, {now_s})
                         WHEN z.state IN ('rejected', 'merged') THEN least(z.s + 3600, {now_s}) END AS closed_s,
                    CASE WHEN z.state = 'closed' AND z.u_rate < 0.7 THEN z.rating_pick ELSE '' END AS rating
                FROM z
            )
            INSERT INTO cases_case ({", ".join(COLUMNS)})
            SELECT
                to_char(to_timestamp(s) AT TIME ZONE 'UTC', 'YYYYMMDD') || lpad(g::text, 8, '0'),
                channel, category, left(text, 30), text, '{{}}'::jsonb, false, '', '', '', '', '', '',
                lat, lon, building, estate, community, {world["sub"]}, grid, state, '',
                CASE WHEN red THEN 'red' WHEN overdue THEN 'yellow' ELSE 'normal' END,
                due_soon, overdue,
                CASE WHEN red THEN 4 WHEN overdue THEN 3 WHEN due_soon THEN 1 ELSE 0 END,
                to_timestamp(s), to_timestamp(respond_by), to_timestamp(resolve_by), to_timestamp(due_soon_at),
                to_timestamp(red_at), assignee,
                CASE WHEN assignee IS NOT NULL OR company IS NOT NULL OR dept IS NOT NULL THEN kind ELSE '' END,
                company, dept, '', CASE WHEN resolved_s IS NOT NULL THEN '已处理' ELSE '' END,
                rating, CASE WHEN rating <> '' THEN 'online' ELSE '' END, '', 0, receipt, '', '',
                to_timestamp(s), to_timestamp(first_resp), to_timestamp(first_resp),
                CASE WHEN assignee IS NOT NULL OR company IS NOT NULL OR dept IS NOT NULL
                    THEN to_timestamp(first_resp) END,
                to_timestamp(resolved_s), to_timestamp(closed_s),
                CASE WHEN rating <> '' THEN to_timestamp(closed_s) END,
                to_timestamp(coalesce(closed_s, resolved_s, first_resp, s)), 0
            FROM f
            """
        if os.environ.get("GEN_CASES_EXPLAIN"):
            cur.execute("EXPLAIN " + sql)
            print("\n".join(r[0] for r in cur.fetchall()))
            return
        cur.execute(sql)
        cur.connection.commit()
        print(f"  {hi + 1:,} rows ({time.perf_counter() - t:.0f} s)", flush=True)


def load(n: int, seed: int, now: dt.datetime, method: str = "sql") -> None:
    from django.db import connection

    from tongxin.core import partitions

    world = build_world()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_case")
        if cur.fetchone()[0]:
            print("cases_case is not empty: TRUNCATE it first (or use a fresh database)")
            return
    # PostgreSQL partitions cases_case by month of submission (issue 15): one partition per month of the data,
    # so the rows do not all pile into the DEFAULT partition
    made = partitions.ensure(partitions.CASES, since=(now - dt.timedelta(days=DAYS)).date())
    print(f"{len(made)} monthly partitions created", flush=True)
    keyed = partitions.is_partitioned(partitions.CASES)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_case' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'cases_case'::regclass)"
        )
        indexes = cur.fetchall()
        saved = ROOT / "var" / "bench" / "cases_indexes.json"
        if indexes:  # kept on disk so an interrupted load can still rebuild them
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(indexes))
        elif saved.exists():
            indexes = [tuple(x) for x in json.loads(saved.read_text())]
        for name, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'cases_case'::regclass "
            "AND contype = 'u'"
        )
        uniques = cur.fetchall()
        for name, _ in uniques:
            cur.execute(f'ALTER TABLE cases_case DROP CONSTRAINT "{name}"')
        key_uniques: list[tuple[str, str]] = []
        key_indexes: list[str] = []
        if keyed:  # the global unique keys live in cases_casekey, filled after the load (triggers are off)
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'cases_casekey'::regclass AND contype = 'u'"
            )
            key_uniques = cur.fetchall()
            cur.execute(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i "
                "ON i.oid = x.indexrelid WHERE x.indrelid = 'cases_casekey'::regclass AND x.indisunique "
                "AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
            )
            for name, definition in cur.fetchall():
                key_indexes.append(definition)
                cur.execute(f'DROP INDEX "{name}"')
            for name, _ in key_uniques:
                cur.execute(f'ALTER TABLE cases_casekey DROP CONSTRAINT "{name}"')
    # random receipt codes can collide: the unique constraint is re-added after de-duplicating them
    t = time.perf_counter()
    raw = connection.connection
    with raw.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        if method == "copy":
            with cur.copy(f"COPY cases_case ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                generate(n, world, now, seed, copy)
        else:
            generate_sql(n, world, now, seed, cur)
        cur.execute("SET session_replication_role = origin")
    raw.commit()
    print(f"{method} load of {n:,} cases: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET receipt_code = left(receipt_code, 6) || lpad(to_hex(id::int % 65536), 4, '0') "
            "WHERE id IN (SELECT unnest((array_agg(id))[2:]) FROM cases_case GROUP BY receipt_code HAVING count(*) > 1)"
        )
        for name, definition in uniques:
            cur.execute(f'ALTER TABLE cases_case ADD CONSTRAINT "{name}" {definition}')
        if keyed:
            cols = "id, number, receipt_code, channel, idempotency_client, idempotency_key"
            # rows whose receipt code was just de-duplicated already have theirs (the update trigger)
            cur.execute(
                f"INSERT INTO cases_casekey ({cols}) SELECT {cols} FROM cases_case ON CONFLICT (id) DO NOTHING"
            )
            for name, definition in key_uniques:
                cur.execute(f'ALTER TABLE cases_casekey ADD CONSTRAINT "{name}" {definition}')
            for definition in key_indexes:
                cur.execute(definition)
            cur.execute("ANALYZE cases_casekey")
        for _, definition in indexes:
            # a partitioned table's index reads "ON ONLY cases_case": without ONLY it is built on every partition
            cur.execute(definition.replace(" ON ONLY ", " ON "))
        cur.execute("ANALYZE cases_case")
    print(f"indexes rebuilt: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    fill_rollups()
    print(f"rollups: {time.perf_counter() - t:.0f} s", flush=True)


def fill_rollups() -> None:
    """Counters per (day, community, grid, category, handler, department, channel) from the cases, in SQL:
    case-level counters on rows with handler = department = 0, outcome counters on the handler's row."""
    from django.db import connection

    day = "(c.submitted_at AT TIME ZONE 'Asia/Shanghai')::date"
    cols = (
        "received, responded, responded_in_time, suggestion_received, assigned, resolved, resolved_in_time, "
        "reopened, closed, rated, satisfied, basically_satisfied, dissatisfied, suggestion_rectified"
    )
    sums = ", ".join(f"sum({c.strip()})" for c in cols.split(","))
    with connection.cursor() as cur:
        cur.execute("DELETE FROM cases_caserollup")
        # a handler-level row with no handler and no department shares its key with the case-level row
        cur.execute(
            f"""
            INSERT INTO cases_caserollup (day, community_id, grid_id, category_id, handler_id, department_id,
                channel, {cols})
            SELECT d, co, g, ca, h, de, ch, {sums} FROM (
                SELECT {day} d, coalesce(c.community_id, 0) co, coalesce(c.grid_id, 0) g, c.category_id ca,
                    0 h, 0 de, c.channel ch,
                    count(*) FILTER (WHERE c.state <> 'merged') received,
                    count(*) FILTER (WHERE c.state <> 'merged' AND c.first_response_at IS NOT NULL) responded,
                    count(*) FILTER (WHERE c.state <> 'merged' AND c.first_response_at <= c.respond_by)
                        responded_in_time,
                    count(*) FILTER (WHERE c.state <> 'merged' AND c.channel = 'suggestion_box')
                        suggestion_received,
                    0 assigned, 0 resolved, 0 resolved_in_time, 0 reopened, 0 closed, 0 rated, 0 satisfied,
                    0 basically_satisfied, 0 dissatisfied, 0 suggestion_rectified
                FROM cases_case c GROUP BY 1, 2, 3, 4, 7
                UNION ALL
                SELECT {day}, coalesce(c.community_id, 0), coalesce(c.grid_id, 0), c.category_id,
                    coalesce(c.assignee_id, 0), coalesce(c.department_id, 0), c.channel, 0, 0, 0, 0,
                    count(*) FILTER (WHERE c.assignee_id IS NOT NULL),
                    count(*) FILTER (WHERE c.resolved_at IS NOT NULL),
                    count(*) FILTER (WHERE c.resolved_at <= c.resolve_by),
                    0,
                    count(*) FILTER (WHERE c.state = 'closed'),
                    count(*) FILTER (WHERE c.rating <> ''),
                    count(*) FILTER (WHERE c.rating = 'satisfied'),
                    count(*) FILTER (WHERE c.rating = 'basically_satisfied'),
                    count(*) FILTER (WHERE c.rating = 'dissatisfied'),
                    count(*) FILTER (WHERE c.channel = 'suggestion_box' AND c.resolved_at IS NOT NULL)
                FROM cases_case c
                WHERE c.assignee_id IS NOT NULL OR c.department_id IS NOT NULL OR c.resolved_at IS NOT NULL
                GROUP BY 1, 2, 3, 4, 5, 6, 7
            ) x GROUP BY d, co, g, ca, h, de, ch
            """
        )
        cur.execute("ANALYZE cases_caserollup")
        # the coarser rollups (tongxin.cases.rates picks the coarsest that answers) and no pending deltas
        cur.execute("DELETE FROM cases_caserollupdelta")
        cur.execute("DELETE FROM cases_caserollupmonth")
        cur.execute(
            f"""
            INSERT INTO cases_caserollupmonth (month, community_id, grid_id, category_id, channel, {cols})
            SELECT date_trunc('month', day)::date, community_id, grid_id, category_id, channel,
                {", ".join(f"sum({c.strip()})" for c in cols.split(","))}
            FROM cases_caserollup GROUP BY 1, 2, 3, 4, 5
            """
        )
        cur.execute("ANALYZE cases_caserollupmonth")
        for table, t, dims in (
            ("cases_caserollupdaycommunity", "day", "day"),
            ("cases_caserollupmonthcommunity", "month", "date_trunc('month', day)::date"),
        ):
            cur.execute(f"DELETE FROM {table}")
            cur.execute(
                f"""
                INSERT INTO {table} ({t}, community_id, category_id, {cols})
                SELECT {dims}, community_id, category_id,
                    {", ".join(f"sum({c.strip()})" for c in cols.split(","))}
                FROM cases_caserollup GROUP BY 1, 2, 3
                """
            )
            cur.execute(f"ANALYZE {table}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10_000_000)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--now", default="2026-11-23T08:00:00+08:00", help="generation time (ISO)")
    p.add_argument(
        "--method",
        choices=["sql", "copy"],
        default="sql",
        help="sql: rows computed in PostgreSQL (fast); copy: rows formatted in Python and streamed with COPY",
    )
    args = p.parse_args()
    setup_django(os.environ.get("DATABASE_URL", DEFAULT_DB))
    t = time.perf_counter()
    load(args.cases, args.seed, dt.datetime.fromisoformat(args.now), args.method)
    print(f"total {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
