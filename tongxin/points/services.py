"""Points on the shared ledger: weigh-ins, awards by rule, redemption in the rewards shop, expiry, leaderboards.

Redemption never oversells: the stock is taken with one conditional UPDATE (``stock = stock - n WHERE
stock >= n``) inside the same database transaction as the ledger posting, so a refused posting (not enough
points) gives the stock back by rolling back, and two buyers of the last bar of soap cannot both get it.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit, policy
from tongxin.core.models import AuditLog
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import AccountKind, TransactionKind, Unit
from tongxin.ledger.models import Account, Entry
from tongxin.points.choices import POINTS_EARNING_KINDS
from tongxin.points.models import PointRule, PointsPolicy, Redemption, Reward, WasteType, WeighIn

ZERO = Decimal("0")
CENT = Decimal("0.01")


class PointsError(Exception):
    """A request the rules refuse; ``str(err)`` is the reason shown to the user."""


def policy_for(community_id: int) -> PointsPolicy:
    return PointsPolicy.objects.filter(community_id=community_id).first() or PointsPolicy(
        community_id=community_id
    )


def household_balance(household: Any) -> Decimal:
    return ledger.household_account(household, Unit.POINTS).balance


@transaction.atomic
def record_weigh_in(
    household: Any,
    waste_type: WasteType,
    kg: Decimal,
    *,
    idempotency_key: str,
    actor: Any = None,
    collection_point: Any = None,
) -> tuple[WeighIn, bool]:
    """Credit waste type × kg × rate points to the household. A retry with the same key credits once.

    Returns ``(weigh_in, created)``.
    """
    kg = Decimal(kg)
    if kg <= 0 or kg > 500:
        raise PointsError(_("重量应在0到500公斤之间"))
    if not idempotency_key:
        raise PointsError(_("缺少幂等键"))
    if waste_type.community_id != household.dwelling.community_id:
        raise PointsError(_("该垃圾类别不属于本社区"))
    key = f"weigh-in:{idempotency_key}"
    existing = WeighIn.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing, False
    points = (kg * waste_type.rate).quantize(CENT, rounding=ROUND_HALF_UP)
    if points <= 0:
        raise PointsError(_("积分为零"))
    account = ledger.household_account(household, Unit.POINTS)
    source = ledger.community_account(household.dwelling.community, Unit.POINTS)
    posted = ledger.post(
        [(source, -points), (account, points)],
        kind=TransactionKind.WEIGH_IN,
        memo=f"{waste_type.name} {kg}kg",
        idempotency_key=key,
        actor=actor,
        community=household.dwelling.community,
    )
    if not posted.created:  # a concurrent retry won the race: it wrote the weigh-in row
        return WeighIn.objects.get(idempotency_key=key), False
    weigh_in = WeighIn.objects.create(
        household=household,
        waste_type=waste_type,
        collection_point=collection_point,
        kg=kg,
        points=points,
        idempotency_key=key,
        transaction=posted.transaction,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(AuditLog.Action.CREATE, weigh_in, actor=actor, after={"kg": str(kg), "points": str(points)})
    return weigh_in, True


@transaction.atomic
def award_points(
    household: Any, points: Decimal, *, memo: str, idempotency_key: str, actor: Any = None
) -> Any:
    points = Decimal(points)
    if points <= 0:
        raise PointsError(_("积分必须大于零"))
    account = ledger.household_account(household, Unit.POINTS)
    source = ledger.community_account(household.dwelling.community, Unit.POINTS)
    posted = ledger.post(
        [(source, -points), (account, points)],
        kind=TransactionKind.AWARD,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
        community=household.dwelling.community,
    )
    if posted.created:
        audit.record(AuditLog.Action.CREATE, posted.transaction, actor=actor, after={"points": str(points)})
    return posted.transaction


def on_service_rewarded(
    sender: Any = None,
    *,
    resident: Any,
    points: Decimal,
    memo: str,
    reference: str,
    actor: Any = None,
    **kwargs: Any,
) -> None:
    """Receiver of :data:`tongxin.ledger.signals.service_rewarded`: points for a verified service (an activity
    that rewards points) go to the resident's household, once per ``reference``."""
    household = getattr(resident, "household", None)
    if household is None or household.dwelling_id is None or Decimal(points) <= 0:
        return
    award_points(household, points, memo=memo, idempotency_key=reference, actor=actor)


def award_by_rule(household: Any, rule: PointRule, *, reference: str, actor: Any = None) -> Any:
    """Points for a good deed by rule; ``reference`` identifies the deed so it is credited once."""
    if rule.community_id != household.dwelling.community_id:
        raise PointsError(_("该积分规则不属于本社区"))
    return award_points(
        household, rule.points, memo=rule.name, idempotency_key=f"rule:{rule.pk}:{reference}", actor=actor
    )


@transaction.atomic
def add_reward(community: Any, *, actor: Any, name: str, price: Decimal, stock: int) -> Reward:
    """Put goods on the shelf of ``community``'s rewards shop."""
    policy.require(actor, "points.add_reward", community)
    reward = Reward.objects.create(community=community, name=name, price=price, stock=stock)
    audit.record(
        AuditLog.Action.CREATE, reward, actor=actor, after={"name": reward.name, "stock": reward.stock}
    )
    return reward


@transaction.atomic
def restock(reward: Reward, quantity: int, *, actor: Any) -> Reward:
    """Add ``quantity`` to the stock (one conditional UPDATE: concurrent redemptions are not lost)."""
    policy.require(actor, "points.restock", reward)
    if quantity < 1:
        raise PointsError(_("补货数量至少为1"))
    Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + quantity)
    reward.refresh_from_db(fields=["stock"])
    audit.record(AuditLog.Action.UPDATE, reward, actor=actor, field="stock", after={"added": quantity})
    return reward


def is_exchange_day(community_id: int, day: dt.date | None = None) -> bool:
    day = day or timezone.localdate()
    return day.day == policy_for(community_id).exchange_day


@transaction.atomic
def redeem(
    household: Any,
    reward: Reward,
    quantity: int = 1,
    *,
    actor: Any = None,
    day: dt.date | None = None,
    idempotency_key: str | None = None,
) -> Redemption:
    """Exchange points for goods on exchange day. Raises :class:`PointsError` with the reason when refused."""
    day = day or timezone.localdate()
    community_id = household.dwelling.community_id
    if quantity < 1:
        raise PointsError(_("数量至少为1"))
    if reward.community_id != community_id or not reward.active:
        raise PointsError(_("该商品不可兑换"))
    policy = policy_for(community_id)
    if day.day != policy.exchange_day:
        raise PointsError(_("今天不是兑换日（每月%(d)s日）") % {"d": policy.exchange_day})
    cost = reward.price * quantity
    account = ledger.household_account(household, Unit.POINTS)
    if idempotency_key:
        earlier = Redemption.objects.filter(transaction__idempotency_key=f"redeem:{idempotency_key}").first()
        if earlier is not None:
            return earlier
    # Early refusal without touching the stock; the ledger checks again under the account lock.
    if account.balance < cost:
        raise PointsError(
            _("积分不足：需要 %(need)s，当前余额 %(have)s")
            % {"need": ledger.fmt(cost), "have": ledger.fmt(account.balance)}
        )
    taken = Reward.objects.filter(pk=reward.pk, stock__gte=quantity).update(stock=F("stock") - quantity)
    if not taken:
        raise PointsError(_("库存不足"))
    sink = ledger.community_account(household.dwelling.community, Unit.POINTS)
    try:
        posted = ledger.post(
            [(account, -cost), (sink, cost)],
            kind=TransactionKind.REDEEM,
            memo=f"{reward.name} ×{quantity}",
            idempotency_key=f"redeem:{idempotency_key}" if idempotency_key else None,
            actor=actor,
            community=household.dwelling.community,
        )
    except ledger.LedgerError as err:
        raise PointsError(str(err)) from err  # the atomic block rolls the stock back
    redemption = Redemption.objects.create(
        household=household,
        reward=reward,
        quantity=quantity,
        points=cost,
        transaction=posted.transaction,
        redeemed_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        AuditLog.Action.CREATE, redemption, actor=actor, after={"reward": reward.pk, "qty": quantity}
    )
    return redemption


@transaction.atomic
def expire_points(community: Any, *, today: dt.date | None = None, actor: Any = None) -> int:
    """Expire points earned before the policy's window that were not spent since (first in, first out).

    For each household: what may remain is what was earned inside the window; anything above it expires.
    Posted with an idempotency key per household and day, so running the task twice expires once.
    """
    policy = policy_for(community.pk)
    if not policy.expiry_months:
        return 0
    today = today or timezone.localdate()
    month = today.month - policy.expiry_months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    cutoff = dt.date(year, month, min(today.day, 28))
    recent = dict(
        Entry.objects.filter(
            account__community=community,
            account__unit=Unit.POINTS,
            account__kind=AccountKind.HOUSEHOLD,
            amount__gt=0,
            value_date__gte=cutoff,
        )
        .exclude(kind=TransactionKind.REVERSAL)
        .order_by()
        .values("account_id")
        .annotate(s=Sum("amount"))
        .values_list("account_id", "s")
    )
    sink = ledger.community_account(community, Unit.POINTS)
    count = 0
    for account in Account.objects.filter(
        community=community, unit=Unit.POINTS, kind=AccountKind.HOUSEHOLD, balance__gt=0
    ).order_by("pk"):
        excess = account.balance - ledger.q2(recent.get(account.pk))
        if excess > 0:
            ledger.post(
                [(account, -excess), (sink, excess)],
                kind=TransactionKind.EXPIRE,
                memo=_("积分过期"),
                idempotency_key=f"expire:{account.pk}:{today.isoformat()}",
                actor=actor,
                community=community,
            )
            count += 1
    return count


def leaderboard(
    community_ids: list[int], by: str, start: dt.date, end: dt.date, limit: int = 20
) -> list[dict]:
    """Points earned per building or estate (``by`` = "building" | "estate") in the period, most first."""
    if by not in {"building", "estate"}:
        raise ValueError(by)
    rows = (
        Entry.objects.filter(
            account__unit=Unit.POINTS,
            account__kind=AccountKind.HOUSEHOLD,
            account__community_id__in=community_ids,
            kind__in=list(POINTS_EARNING_KINDS),
            amount__gt=0,
            value_date__gte=start,
            value_date__lte=end,
        )
        .order_by()
        .values(
            f"account__dwelling__{by}_id", f"account__dwelling__{by}__name", "account__dwelling__estate__name"
        )
        .annotate(points=Sum("amount"))
        .order_by("-points")[:limit]
    )
    return [
        {
            "id": r[f"account__dwelling__{by}_id"],
            "name": r[f"account__dwelling__{by}__name"]
            if by == "estate"
            else f"{r['account__dwelling__estate__name']}{r[f'account__dwelling__{by}__name']}",
            "points": ledger.q2(r["points"]),
        }
        for r in rows
    ]
