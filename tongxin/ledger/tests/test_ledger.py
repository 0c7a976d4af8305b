"""Property tests of the one ledger (hours and points): balance, derived balances, idempotency."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.testing import assert_append_only
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import TransactionKind, Unit
from tongxin.ledger.models import Account, Entry, LedgerTransaction

pytestmark = pytest.mark.django_db

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2)
# An operation: (kind, source index, target index, amount, idempotency key index or None)
operation = st.tuples(
    st.sampled_from(["transfer", "reverse", "retry"]),
    st.integers(0, 3),
    st.integers(0, 3),
    amounts,
    st.one_of(st.none(), st.integers(0, 4)),
)


def accounts(world, unit: str) -> list[Account]:
    a = [ledger.community_account(world.community_a, unit)]
    a.append(ledger.household_account(world.residents["a1"].household, unit))
    a.append(ledger.household_account(world.residents["a2"].household, unit))
    a.append(ledger.person_account(world.residents["a1"], unit))
    return a


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit=st.sampled_from([Unit.HOURS, Unit.POINTS]), ops=st.lists(operation, max_size=12))
def test_random_histories_keep_the_invariants(world, unit, ops):
    # given four accounts of one unit, and a random history of transfers, reversals and retried requests
    with transaction.atomic():
        accs = accounts(world, unit)
        keys_used: dict[str, int] = {}
        posted: list[LedgerTransaction] = []
        for op, src, dst, amount, key_index in ops:
            key = f"k{key_index}" if key_index is not None else None
            try:
                if op == "reverse" and posted:
                    ledger.reverse(posted[src % len(posted)])
                    continue
                # when a transfer is posted (twice for "retry": the same request arriving again)
                times = 2 if op == "retry" else 1
                for _ in range(times):
                    result = ledger.transfer(
                        accs[src], accs[dst], amount, kind=TransactionKind.TRANSFER, idempotency_key=key
                    )
                    if result.created:
                        posted.append(result.transaction)
                        if key:
                            keys_used[key] = keys_used.get(key, 0) + 1
            except ledger.LedgerError:
                pass  # refused movements (same account, overdraft, already reversed) write nothing
        # then every transaction balances to zero
        assert ledger.unbalanced_transactions() == []
        # and every cached balance equals the sum of its entries
        assert ledger.check_balances() == []
        for a in accs:
            a.refresh_from_db()
            assert a.balance == ledger.derived_balance(a)
        # and an idempotency key posts at most once, however often the request is retried
        assert all(n == 1 for n in keys_used.values())
        assert LedgerTransaction.objects.exclude(idempotency_key=None).values(
            "idempotency_key"
        ).distinct().count() == (LedgerTransaction.objects.exclude(idempotency_key=None).count())
        # and person and household accounts never go below zero except through reversals
        for a in accs[1:]:
            if not LedgerTransaction.objects.filter(kind="reversal", entries__account=a).exists():
                assert a.balance >= 0
        transaction.set_rollback(True)


def test_entries_and_transactions_cannot_be_edited_or_deleted(world):
    # given a posted transaction
    accs = accounts(world, Unit.POINTS)
    tx = ledger.transfer(accs[0], accs[1], Decimal("5")).transaction
    entry = tx.entries.first()
    # when someone tries to edit or delete it, then the ledger refuses
    entry.amount = Decimal("500")
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        Entry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(PermissionDenied):
        LedgerTransaction.objects.filter(pk=tx.pk).delete()
    with pytest.raises(PermissionDenied):
        tx.delete()
    # and the database itself refuses the same through raw SQL
    assert_append_only(entry)
    assert_append_only(tx)
    # and a correction is a reversal, which itself cannot be reversed, and happens once
    rev = ledger.reverse(tx).transaction
    assert ledger.reverse(tx).transaction.pk == rev.pk
    with pytest.raises(ledger.LedgerError):
        ledger.reverse(rev)
    accs[1].refresh_from_db()
    assert accs[1].balance == 0


def test_unbalanced_mixed_unit_and_overdraft_postings_are_refused(world):
    hours = accounts(world, Unit.HOURS)
    points = accounts(world, Unit.POINTS)
    with pytest.raises(ledger.LedgerError):
        ledger.post([(hours[0], Decimal("-1")), (hours[1], Decimal("2"))], kind="transfer")
    with pytest.raises(ledger.LedgerError):
        ledger.post([(hours[0], Decimal("-1")), (points[1], Decimal("1"))], kind="transfer")
    with pytest.raises(ledger.InsufficientBalance) as err:
        ledger.transfer(hours[1], hours[2], Decimal("1"))
    assert "余额不足" in str(err.value)
    assert LedgerTransaction.objects.count() == 0


def test_check_balances_finds_and_repairs_a_corrupted_cache(world):
    accs = accounts(world, Unit.POINTS)
    ledger.transfer(accs[0], accs[1], Decimal("7.5"))
    Account.objects.filter(pk=accs[1].pk).update(balance=Decimal("99"))  # the cache is not the truth
    assert ledger.check_balances() == [(accs[1].pk, Decimal("99"), Decimal("7.5"))]
    ledger.check_balances(fix=True)
    assert ledger.check_balances() == []


def test_statement_has_opening_movements_and_closing(world):
    import datetime as dt

    accs = accounts(world, Unit.HOURS)
    ledger.transfer(accs[0], accs[3], Decimal("2"), value_date=dt.date(2026, 3, 30))
    ledger.transfer(accs[0], accs[3], Decimal("1.5"), value_date=dt.date(2026, 4, 2))
    ledger.transfer(accs[3], accs[1], Decimal("0.5"), value_date=dt.date(2026, 4, 3))
    s = ledger.statement(accs[3], dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    assert (s.opening, s.credits, s.debits, s.closing) == (
        Decimal("2"),
        Decimal("1.5"),
        Decimal("-0.5"),
        Decimal("3"),
    )
    assert len(s.entries) == 2


def test_period_statements_match_single_statements(world):
    import datetime as dt

    accs = accounts(world, Unit.HOURS)
    ledger.transfer(accs[0], accs[3], Decimal("2"), value_date=dt.date(2026, 3, 30))
    ledger.transfer(accs[0], accs[3], Decimal("1.5"), value_date=dt.date(2026, 4, 2))
    ledger.transfer(accs[3], accs[0], Decimal("0.5"), value_date=dt.date(2026, 4, 3))
    ledger.transfer(accs[0], accs[3], Decimal("9"), value_date=dt.date(2026, 7, 1))  # after the period
    start, end = dt.date(2026, 4, 1), dt.date(2026, 6, 30)
    rows = {r[0]: r[1:] for r in ledger.period_statements(start, end)}
    one = ledger.statement(accs[3], start, end)
    assert rows == {accs[3].pk: (one.opening, one.credits, one.debits, one.closing)}
