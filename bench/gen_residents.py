"""Deterministic generator for the import and search benchmarks: a place tree and a residents CSV.

The CSV has the columns of the residents import (tongxin.people.imports.KINDS["residents"]), so one file
creates residents together with their households and dwellings. Households of 1-5 people live in flats of
``ESTATES`` estates x ``BUILDINGS`` buildings x ``ENTRANCES`` entrances x ``FLOORS`` floors x ``FLATS`` flats.

    .venv/bin/python bench/gen_residents.py --rows 1000000 --out var/bench/residents-1000000.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMMUNITIES = 5
ESTATES = 50  # 10 per community
BUILDINGS = 20
ENTRANCES = 4
FLOORS = 21
FLATS = 4  # per floor and entrance → 336,000 flats in all
GRIDS_PER_COMMUNITY = 4
SEED = 20261123

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰春梅海燕志强文辉小红德明淑珍"
TAGS = ["独居老人", "残疾人", "慢病:高血压", "慢病:糖尿病", "退役军人", "五老人员", "低保户"]
HEADER = ["姓名", "身份证号", "联系电话", "人口类型", "标签", "小区", "楼栋", "单元", "房号", "与户主关系", "户主身份证号",
          "户号", "楼层", "建筑面积", "特长"]  # fmt: skip
MEMBER_RELATIONS = ["配偶", "子女", "子女", "父母", "孙子女", "其他"]


def estate_name(i: int) -> str:
    return f"基准{i + 1:03d}小区"


def check_char(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def id_number(i: int) -> str:
    """Unique for i < 30,000,000: 1,000 sequence numbers per birth date, dates spread over 82 years."""
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(i // 1000) * 29 % 30000)
    first17 = f"429004{birth:%Y%m%d}{i % 1000:03d}"
    return first17 + check_char(first17)


def flats() -> Any:
    """Every flat as (estate, building, entrance, number, floor), estates interleaved so any prefix spreads out."""
    for b in range(BUILDINGS):
        for u in range(ENTRANCES):
            for f in range(1, FLOORS + 1):
                for k in range(1, FLATS + 1):
                    for e in range(ESTATES):
                        yield estate_name(e), f"{b + 1}栋", f"{u + 1}单元", f"{f}{k:02d}", f


def rows(n: int) -> Any:
    rng = random.Random(SEED)
    i = 0
    for household, (estate, building, entrance, number, floor) in enumerate(flats()):
        if i >= n:
            return
        size = min(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5)), n - i)
        area = f"{rng.randrange(4500, 14000) / 100:.2f}"
        migrant = rng.random() < 0.3
        for m in range(size):
            tags = "、".join(rng.sample(TAGS, 1)) if rng.random() < 0.08 else ""
            yield [
                rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
                id_number(i),
                f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if rng.random() < 0.85 else "",
                "流动" if migrant else "户籍",
                tags,
                estate,
                building,
                entrance,
                number,
                "户主" if m == 0 else rng.choice(MEMBER_RELATIONS),
                "",
                f"H{household:07d}" if m == 0 else "",
                str(floor),
                area if m == 0 else "",
                "",
            ]
            i += 1
    if i < n:
        raise SystemExit(f"only {i} residents fit in the generated flats; raise the place constants")


def write_csv(n: int, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows(n))
    tmp.replace(out)
    return out


def build_places() -> dict[str, Any]:
    """Create the subdistrict, communities, grids, estates, buildings and entrances (Django must be set up)."""
    from django.db import transaction

    from tongxin.regions.models import Grid, Region

    with transaction.atomic():
        sub = Region.objects.create(kind="subdistrict", name="基准街道", code="429004099")
        communities = []
        for c in range(COMMUNITIES):
            community = Region.objects.create(
                kind="community", name=f"基准{c + 1}社区", parent=sub, code=f"{c + 1:03d}"
            )
            grids = [
                Grid.objects.create(
                    community=community,
                    name=f"基准{c + 1}社区第{g + 1}网格",
                    code=Grid.build_code(community, g + 1),
                )
                for g in range(GRIDS_PER_COMMUNITY)
            ]
            communities.append((community, grids))
        for e in range(ESTATES):
            community, grids = communities[e % COMMUNITIES]
            estate = Region.objects.create(kind="estate", name=estate_name(e), parent=community)
            for b in range(BUILDINGS):
                building = Region.objects.create(
                    kind="building",
                    name=f"{b + 1}栋",
                    number=str(b + 1),
                    parent=estate,
                    grid=grids[b % len(grids)],
                )
                for u in range(ENTRANCES):
                    Region.objects.create(
                        kind="entrance", name=f"{u + 1}单元", number=str(u + 1), parent=building
                    )
    return {"subdistrict": sub, "communities": [c for c, _g in communities]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or ROOT / "var" / "bench" / f"residents-{args.rows}.csv"
    write_csv(args.rows, out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
