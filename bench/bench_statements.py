"""Quarterly statements for 100,000 members (target ≤ 60 s), PostgreSQL, on the data of bench_ledger.py.

One aggregate pass over the entries (:func:`tongxin.ledger.services.period_statements`) gives every member's
opening balance, credits, debits and closing balance for the quarter; the statements are written to a CSV file
(as the community would print or export them). Run ``bench/bench_ledger.py`` first.

    .venv/bin/python bench/bench_statements.py [--quarter 2026-01-01]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import time
from pathlib import Path

from _participation import ROOT, setup


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quarter", default="2025-10-01", help="any day of the quarter")
    args = parser.parse_args()
    setup()
    from tongxin.ledger import services as ledger
    from tongxin.ledger.models import Account

    start, end = ledger.quarter_bounds(dt.date.fromisoformat(args.quarter))
    members = Account.objects.filter(kind="person", unit="hours").count()
    out = ROOT / "var" / "bench" / f"statements_{start.isoformat()}.csv"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    n = 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "opening", "credits", "debits", "closing"])
        for row in ledger.period_statements(start, end):
            w.writerow(row)
            n += 1
    elapsed = time.perf_counter() - t
    print(
        f"quarter {start} – {end}: {n:,} statements ({members:,} member accounts) in {elapsed:.1f} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
