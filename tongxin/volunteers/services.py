"""Business rules of participation: posts and rosters, activities, the red bank of hours.

Every write is atomic, locks the rows it changes in pk order, checks the transition, saves with
``update_fields``, writes an event row where the aggregate has one, and records an audit entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import audit
from tongxin.core.models import AuditLog
from tongxin.ledger import services as ledger
from tongxin.ledger.choices import TransactionKind, Unit
from tongxin.ledger.models import LedgerTransaction
from tongxin.ledger.signals import service_rewarded
from tongxin.volunteers.choices import (
    ACTIVITY_TRANSITIONS,
    EARNING_KINDS,
    SIGNUP_TRANSITIONS,
    ActivityStatus,
    Eligibility,
    SignUpStatus,
)
from tongxin.volunteers.models import (
    Activity,
    ActivityEvent,
    CaseHourRule,
    DutyShift,
    PostAssignment,
    ServiceOffer,
    SignUp,
    TimeBankPolicy,
    new_code,
)

ZERO = Decimal("0")


class ParticipationError(Exception):
    """A request the rules refuse; ``str(err)`` is the reason shown to the user."""


def policy_for(community: Any) -> TimeBankPolicy:
    community_id = community if isinstance(community, int) else community.pk
    policy = TimeBankPolicy.objects.filter(community_id=community_id).first()
    return policy or TimeBankPolicy(community_id=community_id)  # unsaved: the defaults


# ------------------------------------------------------------------------------------ posts and rosters
@transaction.atomic
def assign_post(post: Any, member: Any, *, actor: Any = None) -> PostAssignment:
    """Give ``member`` the post (定岗定责); a member holds one post at a time, so the previous one ends."""
    today = timezone.localdate()
    if post.community_id != member.serving_community_id:
        raise ParticipationError(_("党员未在该岗位所在社区报到"))
    current = list(
        PostAssignment.objects.select_for_update().filter(member=member, ended_on__isnull=True).order_by("pk")
    )
    for a in current:
        if a.post_id == post.pk:
            return a
        a.ended_on = today
        a.save(update_fields=["ended_on"])
    assignment = PostAssignment.objects.create(post=post, member=member, started_on=today)
    member.service_post = post
    member.save(update_fields=["service_post"])
    audit.record(
        AuditLog.Action.CREATE, assignment, actor=actor, after={"post": post.pk, "member": member.pk}
    )
    return assignment


@transaction.atomic
def end_assignment(assignment: PostAssignment, *, actor: Any = None) -> None:
    a = PostAssignment.objects.select_for_update().get(pk=assignment.pk)
    if a.ended_on is not None:
        raise ParticipationError(_("该岗位分配已结束"))
    a.ended_on = timezone.localdate()
    a.save(update_fields=["ended_on"])
    audit.record(AuditLog.Action.UPDATE, a, actor=actor, field="ended_on", after=str(a.ended_on))


@transaction.atomic
def add_shift(
    post: Any,
    member: Any,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    grid: Any = None,
    actor: Any = None,
) -> DutyShift:
    if ends_at <= starts_at:
        raise ParticipationError(_("结束时间必须晚于开始时间"))
    if not PostAssignment.objects.filter(post=post, member=member, ended_on__isnull=True).exists():
        raise ParticipationError(_("该党员未在此岗位上岗"))
    if grid is not None and grid.community_id != post.community_id:
        raise ParticipationError(_("网格不在该岗位所在社区"))
    overlap = DutyShift.objects.filter(member=member, starts_at__lt=ends_at, ends_at__gt=starts_at).exists()
    if overlap:
        raise ParticipationError(_("该党员在此时段已有值班"))
    shift = DutyShift.objects.create(
        post=post, member=member, grid=grid, starts_at=starts_at, ends_at=ends_at
    )
    audit.record(AuditLog.Action.CREATE, shift, actor=actor, after={"post": post.pk, "member": member.pk})
    return shift


# ------------------------------------------------------------------------------------------- activities
def _event(activity: Activity, type_: str, actor: Any, **payload: Any) -> None:
    ActivityEvent.objects.create(
        activity=activity,
        type=type_,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        payload=payload,
    )


def _unique_code() -> str:
    for _i in range(20):
        code = new_code()
        if not Activity.objects.filter(code=code, status=ActivityStatus.OPEN).exists():
            return code
    raise ParticipationError(_("签到码生成失败，请重试"))


@transaction.atomic
def create_activity(*, actor: Any, community: Any, **fields: Any) -> Activity:
    """Create an activity (by the community or a co-building unit) open for sign-up."""
    if fields.get("ends_at") and fields.get("starts_at") and fields["ends_at"] <= fields["starts_at"]:
        raise ParticipationError(_("结束时间必须晚于开始时间"))
    if fields.get("eligibility") == Eligibility.UNIT and not fields.get("eligible_unit"):
        raise ParticipationError(_("请指定可报名的单位"))
    if int(fields.get("capacity") or 0) < 1:
        raise ParticipationError(_("名额至少为1"))
    activity = Activity.objects.create(
        community=community, created_by=actor, code=_unique_code(), status=ActivityStatus.OPEN, **fields
    )
    _event(activity, "created", actor)
    audit.record(AuditLog.Action.CREATE, activity, actor=actor, after={"title": activity.title})
    return activity


def eligibility_problem(activity: Activity, resident: Any) -> str | None:
    """Why ``resident`` may not join ``activity``, or None."""
    if resident.dwelling_id is None or resident.dwelling.community_id != activity.community_id:
        # Dual-registered members report to the community where they live; others join their own community's.
        return _("仅限本社区居民报名")
    if activity.eligibility == Eligibility.ANYONE:
        return None
    member = getattr(resident, "party_member", None) if hasattr(resident, "party_member") else None
    if member is None or not member.active:
        return _("仅限党员报名")
    if activity.eligibility == Eligibility.UNIT and member.employer_id != activity.eligible_unit_id:
        return _("仅限%(unit)s的党员报名") % {"unit": activity.eligible_unit}
    return None


def _lock_activity(activity: Activity | int) -> Activity:
    pk = activity if isinstance(activity, int) else activity.pk
    return Activity.objects.select_for_update().get(pk=pk)


@transaction.atomic
def sign_up(activity: Activity, resident: Any, *, actor: Any = None) -> SignUp:
    """Join an activity; beyond capacity the sign-up goes to the waiting list (in order of sign-up)."""
    act = _lock_activity(activity)
    if act.status != ActivityStatus.OPEN:
        raise ParticipationError(_("活动不在报名中"))
    if act.starts_at <= timezone.now():
        raise ParticipationError(_("活动已开始，不能报名"))
    problem = eligibility_problem(act, resident)
    if problem:
        raise ParticipationError(problem)
    if SignUp.objects.filter(
        activity=act, resident=resident, status__in=[SignUpStatus.CONFIRMED, SignUpStatus.WAITLISTED]
    ).exists():
        raise ParticipationError(_("您已报名该活动"))
    confirmed = SignUp.objects.filter(activity=act, status=SignUpStatus.CONFIRMED).count()
    status = SignUpStatus.CONFIRMED if confirmed < act.capacity else SignUpStatus.WAITLISTED
    signup = SignUp.objects.create(activity=act, resident=resident, status=status)
    _event(act, "signed_up", actor, resident=resident.pk, status=status)
    audit.record(AuditLog.Action.CREATE, signup, actor=actor, after={"status": status})
    return signup


def _move(signup: SignUp, to: str) -> None:
    if to not in SIGNUP_TRANSITIONS[signup.status]:
        raise ParticipationError(
            _("不能从“%(a)s”变为“%(b)s”")
            % {"a": SignUpStatus(signup.status).label, "b": SignUpStatus(to).label}
        )
    signup.status = to


@transaction.atomic
def cancel_signup(signup: SignUp, *, actor: Any = None) -> SignUp | None:
    """Cancel; if a confirmed place frees up, the first on the waiting list is promoted (and returned)."""
    act = _lock_activity(signup.activity_id)
    su = SignUp.objects.select_for_update().get(pk=signup.pk)
    if act.status != ActivityStatus.OPEN:
        raise ParticipationError(_("活动不在报名中"))
    was_confirmed = su.status == SignUpStatus.CONFIRMED
    _move(su, SignUpStatus.CANCELLED)
    su.save(update_fields=["status"])
    _event(act, "cancelled", actor, signup=su.pk)
    audit.record(AuditLog.Action.TRANSITION, su, actor=actor, field="status", after=su.status)
    if not was_confirmed:
        return None
    nxt = (
        SignUp.objects.select_for_update()
        .filter(activity=act, status=SignUpStatus.WAITLISTED)
        .order_by("signed_up_at", "pk")
        .first()
    )
    if nxt is None:
        return None
    _move(nxt, SignUpStatus.CONFIRMED)
    nxt.save(update_fields=["status"])
    _event(act, "promoted", actor, signup=nxt.pk)
    audit.record(AuditLog.Action.TRANSITION, nxt, actor=actor, field="status", after=nxt.status)
    return nxt


CHECK_IN_EARLY = dt.timedelta(hours=1)


@transaction.atomic
def check_in(resident: Any, code: str, *, actor: Any = None, now: dt.datetime | None = None) -> SignUp:
    """Check in with the activity's code (typed, or read from its QR code). A retry changes nothing."""
    now = now or timezone.now()
    code = (code or "").strip()
    su = (
        SignUp.objects.select_for_update(of=("self",))
        .select_related("activity")
        .filter(
            activity__code=code,
            activity__status=ActivityStatus.OPEN,
            resident=resident,
            status=SignUpStatus.CONFIRMED,
        )
        .order_by("pk")
        .first()
    )
    if su is None:
        raise ParticipationError(_("签到码无效，或您未报名该活动"))
    act = su.activity
    if not (act.starts_at - CHECK_IN_EARLY <= now <= act.ends_at):
        raise ParticipationError(_("不在签到时间内"))
    if su.checked_in_at is None:
        su.checked_in_at = now
        su.save(update_fields=["checked_in_at"])
        _event(act, "checked_in", actor, signup=su.pk)
        audit.record(AuditLog.Action.UPDATE, su, actor=actor, field="checked_in_at", after=now.isoformat())
    return su


@transaction.atomic
def check_out(resident: Any, code: str, *, actor: Any = None, now: dt.datetime | None = None) -> SignUp:
    now = now or timezone.now()
    su = (
        SignUp.objects.select_for_update(of=("self",))
        .select_related("activity")
        .filter(activity__code=(code or "").strip(), resident=resident, status=SignUpStatus.CONFIRMED)
        .exclude(activity__status=ActivityStatus.CANCELLED)
        .order_by("-pk")
        .first()
    )
    if su is None or su.checked_in_at is None:
        raise ParticipationError(_("请先签到"))
    if su.checked_out_at is None:
        su.checked_out_at = now
        su.save(update_fields=["checked_out_at"])
        _event(su.activity, "checked_out", actor, signup=su.pk)
        audit.record(AuditLog.Action.UPDATE, su, actor=actor, field="checked_out_at", after=now.isoformat())
    return su


@transaction.atomic
def verify_attendance(
    activity: Activity, attended_ids: set[int] | None = None, *, actor: Any
) -> list[SignUp]:
    """The organiser confirms who came; their hours (and points, if any) are credited once each.

    ``attended_ids`` defaults to everyone who checked in. Confirmed sign-ups not in it are marked absent.
    """
    act = _lock_activity(activity)
    if ActivityStatus.VERIFIED not in ACTIVITY_TRANSITIONS[act.status]:
        raise ParticipationError(_("该活动不能核验"))
    signups = list(
        SignUp.objects.select_for_update(of=("self",))
        .select_related("resident__dwelling", "resident__household__dwelling")
        .filter(activity=act, status=SignUpStatus.CONFIRMED)
        .order_by("pk")
    )
    if attended_ids is None:
        attended_ids = {s.pk for s in signups if s.checked_in_at is not None}
    now = timezone.now()
    day = timezone.localdate(act.starts_at)
    for su in signups:
        if su.pk in attended_ids:
            _move(su, SignUpStatus.ATTENDED)
            credited = credit_hours(
                su.resident,
                act.hours,
                kind=TransactionKind.EARN,
                idempotency_key=f"activity-signup:{su.pk}",
                memo=act.title,
                actor=actor,
                value_date=day,
            )
            su.hours_credited = credited
            if act.points > 0:
                # The points app (if installed) credits the household; it listens, we do not import it.
                service_rewarded.send(
                    sender=Activity,
                    resident=su.resident,
                    points=act.points,
                    memo=act.title,
                    reference=f"activity-points:{su.pk}",
                    actor=actor,
                )
        else:
            _move(su, SignUpStatus.ABSENT)
        su.verified_at = now
        su.verified_by = actor
        su.save(update_fields=["status", "verified_at", "verified_by", "hours_credited"])
    act.status = ActivityStatus.VERIFIED
    act.save(update_fields=["status"])
    _event(act, "verified", actor, attended=sorted(attended_ids))
    audit.record(AuditLog.Action.TRANSITION, act, actor=actor, field="status", after=act.status)
    return signups


@transaction.atomic
def set_activity_status(activity: Activity, to: str, *, actor: Any) -> Activity:
    act = _lock_activity(activity)
    if to not in ACTIVITY_TRANSITIONS[act.status]:
        raise ParticipationError(_("不能变更为该状态"))
    if to == ActivityStatus.VERIFIED:
        verify_attendance(act, actor=actor)
        act.refresh_from_db()
        return act
    act.status = to
    act.save(update_fields=["status"])
    _event(act, to, actor)
    audit.record(AuditLog.Action.TRANSITION, act, actor=actor, field="status", after=to)
    return act


# ------------------------------------------------------------------------------------------- red bank
@transaction.atomic
def credit_hours(
    resident: Any,
    hours: Decimal,
    *,
    kind: str = TransactionKind.EARN,
    idempotency_key: str,
    memo: str = "",
    actor: Any = None,
    value_date: dt.date | None = None,
) -> Decimal:
    """Credit service hours from the community's account to the member, within the daily and lifetime caps.

    Returns the hours actually credited (0 when a cap is reached, or when the key was already used: in that
    case the hours of the earlier posting are returned, so a retry reports the same result).
    """
    hours = Decimal(hours)
    if hours <= 0:
        return ZERO
    account = ledger.person_account(resident, Unit.HOURS)
    ledger.lock_accounts([account.pk])  # serialise the cap check with other credits to this member
    earlier = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if earlier is not None:
        return sum((e.amount for e in earlier.entries.all() if e.account_id == account.pk), ZERO)
    day = value_date or timezone.localdate()
    policy = policy_for(account.community_id)
    room = policy.daily_cap - ledger.earned_between(account, day, day, EARNING_KINDS)
    if policy.lifetime_cap is not None:
        room = min(room, policy.lifetime_cap - ledger.earned_total(account, EARNING_KINDS))
    amount = min(hours, room)
    if amount <= 0:
        return ZERO
    source = ledger.community_account(account.community, Unit.HOURS)
    ledger.post(
        [(source, -amount), (account, amount)],
        kind=kind,
        memo=memo,
        idempotency_key=idempotency_key,
        actor=actor,
        value_date=day,
        community=account.community,
    )
    audit.record(AuditLog.Action.CREATE, account, actor=actor, field="balance", after={"credit": str(amount)})
    return amount


@transaction.atomic
def transfer_hours(source: Any, target: Any, hours: Decimal, *, actor: Any, memo: str = "") -> Any:
    """A member gives hours to another member (e.g. to a family member in need)."""
    if source.pk == target.pk:
        raise ParticipationError(_("不能转给自己"))
    try:
        posted = ledger.transfer(
            ledger.person_account(source, Unit.HOURS),
            ledger.person_account(target, Unit.HOURS),
            Decimal(hours),
            memo=memo or _("转赠"),
            actor=actor,
        )
    except ledger.LedgerError as err:
        raise ParticipationError(str(err)) from err
    audit.record(AuditLog.Action.CREATE, posted.transaction, actor=actor, after={"hours": str(hours)})
    return posted.transaction


@transaction.atomic
def spend_hours(buyer: Any, offer: ServiceOffer, *, actor: Any, idempotency_key: str | None = None) -> Any:
    """Spend hours on a service another member offers: the hours move from the buyer to the provider."""
    if not offer.active:
        raise ParticipationError(_("该服务已下架"))
    if offer.provider_id == buyer.pk:
        raise ParticipationError(_("不能兑换自己提供的服务"))
    try:
        posted = ledger.transfer(
            ledger.person_account(buyer, Unit.HOURS),
            ledger.person_account(offer.provider, Unit.HOURS),
            offer.hours,
            kind=TransactionKind.SPEND,
            memo=offer.title,
            actor=actor,
            idempotency_key=idempotency_key,
        )
    except ledger.LedgerError as err:
        raise ParticipationError(str(err)) from err
    audit.record(AuditLog.Action.CREATE, posted.transaction, actor=actor, after={"offer": offer.pk})
    return posted.transaction


@transaction.atomic
def reverse_transaction(tx: Any, *, actor: Any, memo: str = "") -> Any:
    try:
        posted = ledger.reverse(tx, actor=actor, memo=memo)
    except ledger.LedgerError as err:
        raise ParticipationError(str(err)) from err
    audit.record(AuditLog.Action.CREATE, posted.transaction, actor=actor, after={"reverses": tx.pk})
    return posted.transaction


def category_code(category: Any) -> str:
    """A case category's code: ``service_code`` (cases.Category, Open311) or ``code``."""
    if category is None:
        return ""
    if isinstance(category, str):
        return category
    return str(getattr(category, "service_code", "") or getattr(category, "code", "") or "")


def hours_for_case(case: Any) -> Decimal:
    community_id = getattr(case, "community_id", None)
    category = getattr(case, "category", None)
    code = category_code(category)
    rules = {
        r.category_code: r.hours
        for r in CaseHourRule.objects.filter(community_id=community_id, category_code__in=[code, ""])
    }
    return rules.get(code, rules.get("", ZERO))


def _case_handler(case: Any, kwargs: dict[str, Any]) -> Any:
    """Who handled the case: its assignee (the member who claimed it or was dispatched), else the actor."""
    for attr in ("assignee", "claimed_by"):
        value = getattr(case, attr, None)
        if value is not None:
            return value
    for key in ("handler", "user", "actor"):
        if kwargs.get(key) is not None:
            return kwargs[key]
    return None


def on_case_resolved(sender: Any = None, **kwargs: Any) -> None:
    """``cases.signals.case_resolved`` receiver: the member who handled the case earns hours by category rule."""
    case = kwargs.get("case") or kwargs.get("instance")
    if case is None:
        return
    handler = _case_handler(case, kwargs)
    resident = getattr(handler, "resident", None) if handler is not None else None
    if resident is None or not hasattr(resident, "party_member"):
        return
    hours = hours_for_case(case)
    if hours > 0:
        credit_hours(
            resident,
            hours,
            kind=TransactionKind.CASE,
            idempotency_key=f"case:{case.pk}",
            memo=_("办结诉求 %(ref)s") % {"ref": getattr(case, "number", case.pk)},
            value_date=timezone.localdate(case.resolved_at) if getattr(case, "resolved_at", None) else None,
        )


def activity_counts(activity_ids: list[int]) -> dict[int, Any]:
    rows = (
        SignUp.objects.filter(activity_id__in=activity_ids)
        .values("activity_id")
        .annotate(
            confirmed=Count("pk", filter=Q(status=SignUpStatus.CONFIRMED)),
            waitlisted=Count("pk", filter=Q(status=SignUpStatus.WAITLISTED)),
            attended=Count("pk", filter=Q(status=SignUpStatus.ATTENDED)),
        )
    )
    return {r["activity_id"]: r for r in rows}
