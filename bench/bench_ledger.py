"""Any account's balance with 10,000,000 ledger entries (target ≤ 5 ms), PostgreSQL.

Generates (once) 100,000 person accounts of one community and 5,000,000 two-leg transactions = 10,000,000 entries
spread over two years, written with COPY, then sets the cached balances with one UPDATE. Measures, for random
accounts: the cached balance (what every page shows: one primary-key read) and the balance derived from the
entries (the index ``entry_account_date``), and the full ``check_balances()`` over every account.

    .venv/bin/python bench/bench_ledger.py [--entries 10000000] [--accounts 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

from _participation import community, setup, timed


def generate(n_entries: int, n_accounts: int) -> None:
    from django.db import connection

    from tongxin.ledger.choices import Unit
    from tongxin.ledger.models import Account
    from tongxin.ledger.services import community_account

    com, _dwelling = community()
    source = community_account(com, Unit.HOURS)
    existing = Account.objects.filter(unit=Unit.HOURS, kind="person", community=com).count()
    if existing < n_accounts:
        Account.objects.bulk_create(
            [
                Account(unit=Unit.HOURS, kind="person", community=com, name=f"成员{i:06d}")
                for i in range(existing, n_accounts)
            ],
            batch_size=10000,
        )
    ids = list(
        Account.objects.filter(unit=Unit.HOURS, kind="person", community=com).values_list("pk", flat=True)
    )
    n_tx = n_entries // 2
    rng = random.Random(7)
    start_day = dt.date(2025, 1, 1)
    amounts = ["0.50", "1.00", "1.50", "2.00"]
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM volunteers_ledgertransaction")
        first_tx = cur.fetchone()[0] + 1
        pg = cur.connection
        days = [(start_day + dt.timedelta(days=d)).isoformat() for d in range(730)]
        batch = 500_000
        with pg.cursor() as c2:
            with c2.copy(
                "COPY volunteers_ledgertransaction (id, unit, kind, memo, value_date, created_at) FROM STDIN"
            ) as copy:
                for lo in range(0, n_tx, batch):
                    lines = []
                    for i in range(lo, min(n_tx, lo + batch)):
                        d = days[i % 730]
                        lines.append(f"{first_tx + i}\thours\tearn\t服务\t{d}\t{d} 10:00:00+08\n")
                    copy.write("".join(lines))
            print(f"  COPY {n_tx:,} transactions: {time.perf_counter() - t0:.0f} s", flush=True)
            t1 = time.perf_counter()
            with c2.copy(
                "COPY volunteers_entry (transaction_id, account_id, amount, kind, value_date) FROM STDIN"
            ) as copy:
                for lo in range(0, n_tx, batch):
                    lines = []
                    for i in range(lo, min(n_tx, lo + batch)):
                        d = days[i % 730]
                        a = amounts[i & 3]
                        acct = ids[rng.randrange(len(ids))]
                        tx = first_tx + i
                        lines.append(f"{tx}\t{source.pk}\t-{a}\tearn\t{d}\n{tx}\t{acct}\t{a}\tearn\t{d}\n")
                    copy.write("".join(lines))
            print(f"  COPY {2 * n_tx:,} entries: {time.perf_counter() - t1:.0f} s", flush=True)
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('volunteers_ledgertransaction', 'id'), "
            "(SELECT max(id) FROM volunteers_ledgertransaction))"
        )
        t2 = time.perf_counter()
        cur.execute(
            "UPDATE volunteers_account a SET balance = s.total FROM "
            "(SELECT account_id, sum(amount) AS total FROM volunteers_entry GROUP BY account_id) s "
            "WHERE s.account_id = a.id"
        )
        cur.execute("ANALYZE volunteers_entry")
        cur.execute("ANALYZE volunteers_account")
        print(f"  cached balances set in one UPDATE: {time.perf_counter() - t2:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    args = parser.parse_args()
    db = setup()
    from django.db import connection

    from tongxin.ledger import services as ledger
    from tongxin.ledger.models import Account

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM volunteers_entry")
        have = cur.fetchone()[0]
    print(f"database {db}: {have:,} entries")
    if have < args.entries:
        print(f"generating {args.entries - have:,} entries ...", flush=True)
        generate(args.entries - have, args.accounts)
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM volunteers_entry")
            have = cur.fetchone()[0]
        print(f"now {have:,} entries")
    ids = list(Account.objects.filter(kind="person").values_list("pk", flat=True)[: args.accounts])
    rng = random.Random(1)

    def cached() -> None:
        Account.objects.only("balance").get(pk=rng.choice(ids)).balance  # noqa: B018

    def derived() -> None:
        ledger.derived_balance(rng.choice(ids))

    big = Account.objects.filter(kind="community").order_by("pk").first()
    for label, fn, n in (
        ("balance (cached on the account), random person account", cached, 1000),
        ("balance derived from entries, random person account (~100 entries)", derived, 300),
    ):
        med, p95, worst = timed(fn, n)
        print(f"{label}: median {med:.2f} ms, p95 {p95:.2f} ms, max {worst:.2f} ms")
    if big is not None:
        t = time.perf_counter()
        Account.objects.only("balance").get(pk=big.pk)
        print(
            f"community account (issuer of every credit) cached balance: {1000 * (time.perf_counter() - t):.2f} ms"
        )
    t = time.perf_counter()
    wrong = ledger.check_balances()
    print(f"check_balances() over every account: {time.perf_counter() - t:.1f} s, {len(wrong)} mismatches")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
