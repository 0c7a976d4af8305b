"""Posting to the one double-entry ledger, used by the red bank (unit ``hours``, tongxin.volunteers) and the
rewards shop (unit ``points``, tongxin.points). Neither app imports the other: both build on this module.

* :func:`post` writes a transaction of balanced entries (amounts sum to zero), locks the accounts it touches in
  pk order, refuses to overdraw person and household accounts, and updates the cached balances in the same
  database transaction. An idempotency key makes a retried request (a check-in, a scale's weigh-in) post once.
* :func:`reverse` corrects a transaction with its mirror image; nothing is ever edited or deleted.
* :func:`check_balances` recomputes every cached balance from the entries (set-based, one query).
* :func:`statement` gives opening balance, movements and closing balance of an account for a period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.ledger.choices import NO_OVERDRAFT_KINDS, AccountKind, TransactionKind, Unit
from tongxin.ledger.models import Account, Entry, LedgerTransaction
from tongxin.party.models import PartyMember

ZERO = Decimal("0")


class LedgerError(Exception):
    """A movement the ledger refuses; ``str(err)`` is the reason shown to the user."""


class InsufficientBalance(LedgerError):
    pass


CENT = Decimal("0.01")


def q2(value: Any) -> Decimal:
    """An aggregate as an exact amount: SQLite sums decimals as floats (PostgreSQL's numeric is exact)."""
    return Decimal(str(value or 0)).quantize(CENT)


def fmt(amount: Decimal) -> str:
    """2.00 -> "2", 1.50 -> "1.5": how amounts read in messages."""
    return f"{Decimal(amount).normalize():f}"


@dataclass(frozen=True)
class Posted:
    transaction: LedgerTransaction
    created: bool  # False when the idempotency key had already been used: nothing was posted again


# ------------------------------------------------------------------------------------------- accounts
def person_account(resident: Any, unit: str = Unit.HOURS) -> Account:
    dwelling = resident.dwelling
    community_id = dwelling.community_id if dwelling is not None else None
    if community_id is None:  # a 下沉 cadre living elsewhere: the community he reported in to
        member = PartyMember.objects.filter(resident=resident).only("community_id").first()
        community_id = member.community_id if member is not None else None
    if community_id is None:
        raise LedgerError(_("该居民没有现住房屋，无法开户"))
    account, _created = Account.objects.get_or_create(
        unit=unit,
        kind=AccountKind.PERSON,
        resident=resident,
        defaults={"community_id": community_id, "dwelling": dwelling, "name": resident.name},
    )
    return account


def household_account(household: Any, unit: str = Unit.POINTS) -> Account:
    dwelling = household.dwelling
    account, _created = Account.objects.get_or_create(
        unit=unit,
        kind=AccountKind.HOUSEHOLD,
        household=household,
        defaults={
            "community_id": dwelling.community_id,
            "dwelling": dwelling,
            "name": dwelling.address,
        },
    )
    return account


def community_account(community: Any, unit: str) -> Account:
    account, _created = Account.objects.get_or_create(
        unit=unit, kind=AccountKind.COMMUNITY, community=community, defaults={"name": community.name}
    )
    return account


def unit_account(co_building_unit: Any, community: Any, unit: str = Unit.HOURS) -> Account:
    account, _created = Account.objects.get_or_create(
        unit=unit,
        kind=AccountKind.CO_BUILDING_UNIT,
        co_building_unit=co_building_unit,
        community=community,
        defaults={"name": co_building_unit.name},
    )
    return account


# ------------------------------------------------------------------------------------------- posting
def lock_accounts(ids: Iterable[int]) -> dict[int, Account]:
    """Lock accounts in pk order (so two transactions never wait on each other in opposite orders)."""
    return {
        a.pk: a for a in Account.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk")
    }


@transaction.atomic
def post(
    legs: Sequence[tuple[Account, Decimal]],
    *,
    kind: str,
    memo: str = "",
    idempotency_key: str | None = None,
    actor: Any = None,
    value_date: dt.date | None = None,
    community: Any = None,
    allow_overdraft: bool = False,
    reverses: LedgerTransaction | None = None,
) -> Posted:
    """Post one balanced transaction. Raises :class:`LedgerError` (nothing written) when it cannot."""
    amounts: dict[int, Decimal] = {}
    for account, amount in legs:
        amount = Decimal(amount)
        amounts[account.pk] = amounts.get(account.pk, ZERO) + amount
    amounts = {pk: amt for pk, amt in amounts.items() if amt != ZERO}
    if len(amounts) < 2:
        raise LedgerError(_("一笔交易至少涉及两个账户"))
    if sum(amounts.values(), ZERO) != ZERO:
        raise LedgerError(_("借贷不平衡"))
    if any(amt.as_tuple().exponent < -2 for amt in amounts.values()):  # type: ignore[operator]
        raise LedgerError(_("金额最多两位小数"))
    locked = lock_accounts(amounts)
    if len(locked) != len(amounts):
        raise LedgerError(_("账户不存在"))
    units = {a.unit for a in locked.values()}
    if len(units) != 1:
        raise LedgerError(_("不同单位的账户不能记在同一笔交易中"))
    if idempotency_key:
        # Checked after taking the locks: a concurrent retry of the same request waits here, then sees ours.
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return Posted(existing, False)
    if not allow_overdraft:
        for pk, amt in amounts.items():
            account = locked[pk]
            if amt < ZERO and account.kind in NO_OVERDRAFT_KINDS and account.balance + amt < ZERO:
                raise InsufficientBalance(
                    _("余额不足：需要 %(need)s，当前余额 %(have)s") % {"need": -amt, "have": account.balance}
                )
    value_date = value_date or timezone.localdate()
    try:
        with transaction.atomic():
            tx = LedgerTransaction.objects.create(
                unit=units.pop(),
                kind=kind,
                idempotency_key=idempotency_key or None,
                memo=memo[:200],
                value_date=value_date,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                community=community,
                reverses=reverses,
            )
    except IntegrityError:
        existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            if reverses is not None:
                raise LedgerError(_("该交易已被冲正")) from None
            raise
        return Posted(existing, False)
    Entry.objects.bulk_create(
        [
            Entry(transaction=tx, account_id=pk, amount=amt, kind=kind, value_date=value_date)
            for pk, amt in sorted(amounts.items())
        ]
    )
    for pk, amt in amounts.items():
        Account.objects.filter(pk=pk).update(balance=F("balance") + amt)
    return Posted(tx, True)


def transfer(
    source: Account, target: Account, amount: Decimal, *, kind: str = TransactionKind.TRANSFER, **kwargs: Any
) -> Posted:
    if Decimal(amount) <= ZERO:
        raise LedgerError(_("金额必须大于零"))
    return post([(source, -Decimal(amount)), (target, Decimal(amount))], kind=kind, **kwargs)


@transaction.atomic
def reverse(tx: LedgerTransaction, *, actor: Any = None, memo: str = "") -> Posted:
    """Post the mirror image of ``tx``. A transaction is reversed at most once; a reversal is not reversed."""
    if tx.kind == TransactionKind.REVERSAL:
        raise LedgerError(_("冲正交易不能再冲正"))
    legs = [(e.account, -e.amount) for e in tx.entries.select_related("account")]
    return post(
        legs,
        kind=TransactionKind.REVERSAL,
        memo=memo or _("冲正 #%(id)s") % {"id": tx.pk},
        idempotency_key=f"reversal:{tx.pk}",
        actor=actor,
        community=tx.community,
        allow_overdraft=True,
        reverses=tx,
    )


# ------------------------------------------------------------------------------------------- reading
def derived_balance(account: Account | int, as_of: dt.date | None = None) -> Decimal:
    """The balance as the sum of entries (``as_of`` inclusive), not the cache."""
    account_id = account if isinstance(account, int) else account.pk
    qs = Entry.objects.filter(account_id=account_id)
    if as_of is not None:
        qs = qs.filter(value_date__lte=as_of)
    return q2(qs.aggregate(s=Sum("amount"))["s"])


def check_balances(*, fix: bool = False, unit: str | None = None) -> list[tuple[int, Decimal, Decimal]]:
    """Accounts whose cached balance differs from the sum of their entries: ``(id, cached, derived)``.

    With ``fix=True`` the caches are rewritten from the entries (a repair, never needed in normal operation).
    """
    sums = (
        Entry.objects.filter(account_id=OuterRef("pk"))
        .order_by()
        .values("account_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    qs = Account.objects.annotate(derived=Subquery(sums)).order_by("pk")
    if unit:
        qs = qs.filter(unit=unit)
    wrong = []
    for pk, cached, derived in qs.values_list("pk", "balance", "derived").iterator(chunk_size=5000):
        if q2(cached) != q2(derived):
            wrong.append((pk, q2(cached), q2(derived)))
    if fix:
        for pk, _cached, derived in wrong:
            Account.objects.filter(pk=pk).update(balance=derived)
    return wrong


def unbalanced_transactions() -> list[int]:
    """Transactions whose entries do not sum to zero (there should be none)."""
    rows = Entry.objects.order_by().values("transaction_id").annotate(s=Sum("amount"))
    return [r["transaction_id"] for r in rows.iterator(chunk_size=5000) if q2(r["s"]) != ZERO]


@dataclass
class Statement:
    account: Account
    start: dt.date
    end: dt.date
    opening: Decimal
    credits: Decimal
    debits: Decimal
    closing: Decimal
    entries: list[Entry]


def statement(account: Account, start: dt.date, end: dt.date) -> Statement:
    """Opening balance, the movements between ``start`` and ``end`` (inclusive) and the closing balance."""
    before = q2(Entry.objects.filter(account=account, value_date__lt=start).aggregate(s=Sum("amount"))["s"])
    rows = list(
        Entry.objects.filter(account=account, value_date__gte=start, value_date__lte=end)
        .select_related("transaction")
        .order_by("value_date", "id")
    )
    credits = sum((e.amount for e in rows if e.amount > 0), ZERO)
    debits = sum((e.amount for e in rows if e.amount < 0), ZERO)
    return Statement(account, start, end, before, credits, debits, before + credits + debits, rows)


def earned_between(account: Account, start: dt.date, end: dt.date, kinds: Iterable[str]) -> Decimal:
    return q2(
        Entry.objects.filter(
            account=account, value_date__gte=start, value_date__lte=end, kind__in=list(kinds), amount__gt=0
        ).aggregate(s=Sum("amount"))["s"]
    )


def earned_total(account: Account, kinds: Iterable[str]) -> Decimal:
    return q2(
        Entry.objects.filter(Q(account=account) & Q(kind__in=list(kinds)) & Q(amount__gt=0)).aggregate(
            s=Sum("amount")
        )["s"]
    )


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    q0 = (day.month - 1) // 3 * 3 + 1
    start = dt.date(day.year, q0, 1)
    end = dt.date(day.year + 1, 1, 1) if q0 == 10 else dt.date(day.year, q0 + 3, 1)
    return start, end - dt.timedelta(days=1)


def period_statements(
    start: dt.date, end: dt.date, *, unit: str = Unit.HOURS, kind: str | None = "person"
) -> Any:
    """Statements of every account of ``unit`` (and ``kind``) for a period, in one aggregate query.

    Yields ``(account_id, opening, credits, debits, closing)``: the set-based form of :func:`statement`, used for
    the quarterly statements of all members (one pass over the entries, no per-member queries).
    """
    qs = Entry.objects.filter(account__unit=unit, value_date__lte=end)
    if kind:
        qs = qs.filter(account__kind=kind)
    rows = (
        qs.order_by()
        .values("account_id")
        .annotate(
            opening=Sum("amount", filter=Q(value_date__lt=start)),
            credits=Sum("amount", filter=Q(value_date__gte=start, amount__gt=0)),
            debits=Sum("amount", filter=Q(value_date__gte=start, amount__lt=0)),
        )
        .values_list("account_id", "opening", "credits", "debits")
    )
    for account_id, opening, credits, debits in rows.iterator(chunk_size=10000):
        o, c, d = q2(opening), q2(credits), q2(debits)
        yield account_id, o, c, d, o + c + d
