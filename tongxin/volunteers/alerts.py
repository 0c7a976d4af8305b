"""Participation of party members per quarter and the yellow / orange / red alerts derived from it.

Set-based: one query for members, one aggregate for hours, one for activities, one for claims (if the cases app
has a ``claimed_by`` field). The thresholds are the community's :class:`TimeBankPolicy`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, Q, QuerySet, Sum

from tongxin.party.choices import MemberType
from tongxin.party.models import PartyMember
from tongxin.volunteers.choices import ALERT_ORDER, EARNING_KINDS, AlertLevel, SignUpStatus, Unit
from tongxin.volunteers.ledger import q2, quarter_bounds
from tongxin.volunteers.models import Entry, SignUp, TimeBankPolicy

ZERO = Decimal("0")


@dataclass
class Participation:
    member: PartyMember
    reported_in: bool
    hours: Decimal
    activities: int
    claims: int
    level: str

    @property
    def level_label(self) -> str:
        return str(AlertLevel(self.level).label)

    @property
    def needs_visit(self) -> bool:
        return ALERT_ORDER.index(AlertLevel(self.level)) >= ALERT_ORDER.index(AlertLevel.ORANGE)


def alert_level(policy: TimeBankPolicy, hours: Decimal, activities: int, reported_in: bool) -> str:
    if hours < policy.red_below:
        return AlertLevel.RED
    if hours < policy.orange_below:
        return AlertLevel.ORANGE
    if hours < policy.yellow_below or activities < policy.min_activities or not reported_in:
        return AlertLevel.YELLOW
    return AlertLevel.GREEN


def _claims(user_ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """Cases each user claimed (党员接单) in the period, read-only from the cases app's event log."""
    try:
        event_model = apps.get_model("cases", "CaseEvent")
    except LookupError:
        return {}
    if not user_ids:
        return {}
    return dict(
        event_model.objects.filter(
            type="claimed", actor_id__in=user_ids, at__date__gte=start, at__date__lte=end
        )
        .order_by()
        .values("actor_id")
        .annotate(n=Count("pk"))
        .values_list("actor_id", "n")
    )


def participation(members: QuerySet[PartyMember], day: dt.date) -> list[Participation]:
    """Each member's quarter (the quarter containing ``day``) and alert level."""
    start, end = quarter_bounds(day)
    rows = list(members.select_related("resident__dwelling", "service_post").order_by("pk"))
    resident_ids = [m.resident_id for m in rows]
    hours = dict(
        Entry.objects.filter(
            account__unit=Unit.HOURS,
            account__kind="person",
            account__resident_id__in=resident_ids,
            kind__in=list(EARNING_KINDS),
            value_date__gte=start,
            value_date__lte=end,
        )
        .order_by()
        .values("account__resident_id")
        .annotate(s=Sum("amount"))
        .values_list("account__resident_id", "s")
    )
    acts = dict(
        SignUp.objects.filter(
            resident_id__in=resident_ids,
            status=SignUpStatus.ATTENDED,
            activity__starts_at__date__gte=start,
            activity__starts_at__date__lte=end,
        )
        .order_by()
        .values("resident_id")
        .annotate(n=Count("pk"))
        .values_list("resident_id", "n")
    )
    user_ids = {m.resident_id: m.resident.user_id for m in rows if m.resident.user_id}
    claims = _claims(list(user_ids.values()), start, end)
    communities = {m.resident.dwelling.community_id for m in rows if m.resident.dwelling is not None}
    policies = {p.community_id: p for p in TimeBankPolicy.objects.filter(community_id__in=communities)}
    out = []
    for m in rows:
        dwelling = m.resident.dwelling
        policy = (policies.get(dwelling.community_id) if dwelling is not None else None) or TimeBankPolicy()
        reported = m.member_type != MemberType.DUAL_REGISTERED or m.reported_in_on is not None
        h = q2(hours.get(m.resident_id))
        a = acts.get(m.resident_id, 0)
        c = claims.get(user_ids.get(m.resident_id) or -1, 0)
        out.append(Participation(m, reported, h, a, c, alert_level(policy, h + 0, a + c, reported)))
    return out


def level_of(member: PartyMember, day: dt.date) -> str:
    return participation(PartyMember.objects.filter(pk=member.pk), day)[0].level


def appraisal(members: QuerySet[PartyMember], day: dt.date) -> list[Participation]:
    """The quarterly appraisal list: members by hours earned in the quarter, most first."""
    return sorted(participation(members, day), key=lambda p: (-p.hours, -p.activities, p.member.pk))


def active_members(qs: QuerySet[PartyMember]) -> QuerySet[PartyMember]:
    return qs.filter(Q(active=True))
