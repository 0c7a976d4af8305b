"""1,000 concurrent redemptions against a stock of 100: exactly 100 succeed, the stock never goes negative.

Real threads, each with its own PostgreSQL connection, released together by a barrier; every request is a full
:func:`tongxin.points.services.redeem` (exchange-day check, conditional stock UPDATE, ledger posting with row
locks, redemption row, audit record). PostgreSQL's ``max_connections`` (100, shared with the other benchmarks
and test runs on this machine) bounds the number of simultaneous connections, so the 1,000 requests are issued by
``--threads`` threads (default 64) that each take the next request from a shared queue as soon as they finish.

    .venv/bin/python bench/bench_redeem.py [--requests 1000] [--stock 100] [--threads 64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import queue
import threading
import time
from collections import Counter
from decimal import Decimal

from _participation import community, setup


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    setup()
    from django.db import connection

    from tongxin.ledger import services as ledger
    from tongxin.ledger.choices import Unit
    from tongxin.ledger.models import Account
    from tongxin.people.models import Household
    from tongxin.points import services
    from tongxin.points.models import PointsPolicy, Redemption, Reward

    com, dwelling = community()
    PointsPolicy.objects.get_or_create(community=com, defaults={"exchange_day": 6})
    run = int(time.time())
    soap = Reward.objects.create(community=com, name=f"肥皂-{run}", price=Decimal("20"), stock=args.stock)
    households = Household.objects.bulk_create([Household(dwelling=dwelling) for _ in range(args.requests)])
    t = time.perf_counter()
    source = ledger.community_account(com, Unit.POINTS)
    accounts = Account.objects.bulk_create(
        [
            Account(
                unit=Unit.POINTS,
                kind="household",
                household=h,
                community=com,
                dwelling=dwelling,
                name="基准户",
            )
            for h in households
        ]
    )
    for a in accounts:
        ledger.post([(source, Decimal("-50")), (a, Decimal("50"))], kind="award", memo="bench")
    print(f"{args.requests:,} households with 50 points each: {time.perf_counter() - t:.1f} s")
    connection.close()

    work: queue.Queue = queue.Queue()
    for h in households:
        h.dwelling = dwelling
        work.put(h)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(args.threads)
    low_water = [args.stock]

    def worker() -> None:
        from django.db import connection as conn

        barrier.wait()
        try:
            while True:
                try:
                    hh = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    services.redeem(hh, soap, day=dt.date(2026, 12, 6))
                    outcome = "ok"
                except services.PointsError as err:
                    outcome = str(err)
                stock = Reward.objects.values_list("stock", flat=True).get(pk=soap.pk)
                with lock:
                    outcomes[outcome] += 1
                    low_water[0] = min(low_water[0], stock)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    soap.refresh_from_db()
    ok = outcomes.get("ok", 0)
    print(
        f"{args.requests:,} redemptions by {args.threads} threads against stock {args.stock}: {elapsed:.1f} s"
    )
    print(f"succeeded: {ok}; refused: {dict((k, v) for k, v in outcomes.items() if k != 'ok')}")
    print(f"stock after: {soap.stock}; lowest stock seen by any thread: {low_water[0]}")
    print(f"redemption rows: {Redemption.objects.filter(reward=soap).count()}")
    wrong = ledger.check_balances(unit=Unit.POINTS)
    print(f"points accounts whose balance differs from their entries: {len(wrong)}")
    good = ok == args.stock and soap.stock == 0 and low_water[0] >= 0 and not wrong
    print("RESULT:", "exactly the stock was sold, never oversold" if good else "FAILED")
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
