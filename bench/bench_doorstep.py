"""Doorstep's capacity targets under real concurrency (PostgreSQL, one connection per thread).

1. Piecework: ``--claims`` (500) residents claim pieces of one order of ``--pieces`` (1,000) in chunks of 1–5 at
   the same moment; the total claimed never exceeds the order (each claim is a full
   :func:`tongxin.doorstep.services.claim`: policy check with the resident's tag, one conditional UPDATE, claim
   row, audit record). Every thread reads the order after its claim and the highest total seen is reported.
2. Appointments: ``--bookings`` (200) residents book ``--slots`` (20) slots of capacity 3 at once (each a full
   :func:`tongxin.doorstep.services.book`: window and slot row locks, duplicate check, queue number); exactly
   slots × 3 succeed and no slot is over its capacity; queue numbers are unique per window and day.

PostgreSQL's ``max_connections`` (100, shared with other runs on this machine) bounds the simultaneous
connections, so requests are issued by ``--threads`` (default 48) threads taking the next request from a queue,
released together by a barrier.

    cd bench && ../.venv/bin/python bench_doorstep.py [--claims 500] [--pieces 1000] [--bookings 200] [--slots 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import queue
import random
import statistics
import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from _participation import community, setup


def _people(com: Any, dwelling: Any, n: int, run: int, tag: Any = None) -> list[Any]:
    """``n`` residents of ``dwelling`` with phone accounts (role resident), optionally tagged."""
    from tongxin.core.models import User
    from tongxin.people.models import Resident
    from tongxin.regions.models import RoleAssignment

    users = User.objects.bulk_create(
        [User(username=f"bench-{run}-{i}", display_name=f"基准{i}", password="!") for i in range(n)]
    )
    RoleAssignment.objects.bulk_create([RoleAssignment(user=u, role="resident") for u in users])
    residents = Resident.objects.bulk_create(
        [Resident(name=f"基准居民{i}", dwelling=dwelling, user=u) for i, u in enumerate(users)]
    )
    if tag is not None:
        through = Resident.tags.through
        through.objects.bulk_create([through(resident_id=r.pk, tag_id=tag.pk) for r in residents])
    return users


def _race(
    users: list[Any], threads: int, attempt: Any, observe: Any
) -> tuple[Counter[str], list[float], int, float]:
    """Run ``attempt(user)`` for every user from ``threads`` threads; returns outcomes, latencies (ms), the highest
    value ``observe()`` returned after any attempt, and the elapsed seconds."""
    work: queue.Queue = queue.Queue()
    for u in users:
        work.put(u)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    high = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        from django.db import connection as conn

        barrier.wait()
        try:
            while True:
                try:
                    user = work.get_nowait()
                except queue.Empty:
                    return
                t = time.perf_counter()
                outcome = attempt(user)
                ms = 1000 * (time.perf_counter() - t)
                seen = observe()
                with lock:
                    outcomes[outcome] += 1
                    latencies.append(ms)
                    high[0] = max(high[0], seen)
        finally:
            conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    t = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return outcomes, latencies, high[0], time.perf_counter() - t


def _pct(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--pieces", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--slots", type=int, default=20)
    parser.add_argument("--threads", type=int, default=48)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.utils import timezone

    from tongxin.doorstep import services
    from tongxin.doorstep.models import (
        Appointment,
        PieceworkClaim,
        PieceworkOrder,
        ServiceFunction,
        ServiceWindow,
        Slot,
    )
    from tongxin.doorstep.services import DoorstepError

    com, dwelling = community()
    run = int(time.time())
    rng = random.Random(run)
    tag = services.piecework_tag()
    ok = True

    # 1. piecework ------------------------------------------------------------------------------------------
    order = PieceworkOrder.objects.create(
        community=com,
        factory=f"基准工厂-{run}",
        item="耳机线包装",
        quantity=args.pieces,
        unit_price=Decimal("0.35"),
        deadline=timezone.localdate() + dt.timedelta(days=10),
    )
    t = time.perf_counter()
    users = _people(com, dwelling, args.claims, run, tag)
    print(f"{args.claims:,} tagged residents with accounts: {time.perf_counter() - t:.1f} s")
    chunks = {u.pk: rng.randint(1, 5) for u in users}
    connection.close()

    def claim(user: Any) -> str:
        try:
            services.claim(user, order, chunks[user.pk])
            return "ok"
        except DoorstepError:
            return "refused: not enough left"
        except Exception as exc:  # the policy refuses a full order before the UPDATE
            return f"refused: {type(exc).__name__}"

    def claimed() -> int:
        return PieceworkOrder.objects.values_list("claimed", flat=True).get(pk=order.pk)

    outcomes, lat, high, elapsed = _race(users, args.threads, claim, claimed)
    order.refresh_from_db()
    rows = sum(PieceworkClaim.objects.filter(order=order).values_list("quantity", flat=True))
    asked = sum(chunks.values())
    print(
        f"piecework: {args.claims:,} claims of 1–5 pieces ({asked:,} asked) on an order of {args.pieces:,} by "
        f"{args.threads} threads: {elapsed:.1f} s; {_pct(lat)}"
    )
    print(f"  outcomes: {dict(outcomes)}")
    print(f"  claimed on the order: {order.claimed}; sum of claim rows: {rows}; highest total seen: {high}")
    good = order.claimed == rows <= args.pieces and high <= args.pieces
    if asked >= args.pieces:
        good = good and order.claimed >= args.pieces - 4  # only a chunk larger than what is left is refused
    print("  RESULT:", "never over-claimed" if good else "FAILED")
    ok &= good

    # 2. appointments ---------------------------------------------------------------------------------------
    window = ServiceWindow.objects.create(community=com, number=run % 30000, name="基准窗口")
    function = ServiceFunction.objects.create(community=com, window=window, name="基准事项", category="社保")
    day = timezone.localdate() + dt.timedelta(days=1)
    tz = timezone.get_current_timezone()
    slots = Slot.objects.bulk_create(
        [
            Slot(
                community=com,
                function=function,
                starts_at=dt.datetime.combine(day, dt.time(8), tzinfo=tz) + dt.timedelta(minutes=15 * i),
                ends_at=dt.datetime.combine(day, dt.time(8), tzinfo=tz) + dt.timedelta(minutes=15 * (i + 1)),
                capacity=3,
            )
            for i in range(args.slots)
        ]
    )
    bookers = _people(com, dwelling, args.bookings, run + 1)
    target = {u.pk: slots[i % len(slots)] for i, u in enumerate(bookers)}
    connection.close()

    def book(user: Any) -> str:
        try:
            services.book(user, target[user.pk])
            return "ok"
        except DoorstepError:
            return "refused: full"
        except Exception as exc:
            return f"refused: {type(exc).__name__}"

    def fullest() -> int:
        return max(Slot.objects.filter(function=function).values_list("booked", flat=True))

    outcomes, lat, high, elapsed = _race(bookers, args.threads, book, fullest)
    booked = Appointment.objects.filter(function=function).count()
    numbers = Appointment.objects.filter(function=function).values_list("queue_number", flat=True)
    print(
        f"appointments: {args.bookings:,} bookings of {args.slots} slots × 3 by {args.threads} threads: "
        f"{elapsed:.1f} s; {_pct(lat)}"
    )
    print(f"  outcomes: {dict(outcomes)}; appointments: {booked}; fullest slot seen: {high}/3")
    good = booked == min(args.bookings, args.slots * 3) == outcomes["ok"] and high <= 3
    good = good and len(set(numbers)) == booked
    print("  RESULT:", "exactly the capacity was booked, numbers unique" if good else "FAILED")
    ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
