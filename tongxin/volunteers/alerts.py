"""Participation of party members per quarter and the yellow / orange / red alerts derived from it.

Set-based: one query for members, one aggregate for hours (with the days they were earned on), one for
activities, one for claims, one for the community's rules. The thresholds depend on the member type (鑫港's
"5+X+1", seed 004): resident and dual-registered members use the community's :class:`TimeBankPolicy`, mobile
members a lower scale of their own, elderly-frail members are visited (上门关怀), not warned; a community changes
any of them with a :class:`MemberAlertRule`. Every alert carries its reason.

Service occasions (服务次数) are the activities attended plus the cases claimed, or the days on which hours were
earned when those are more (a patrol or a duty shift credited by staff is service too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from tongxin.party.choices import MemberType
from tongxin.party.models import PartyMember
from tongxin.volunteers.choices import EARNING_KINDS, AlertLevel, AlertMode, SignUpStatus, Unit
from tongxin.volunteers.ledger import q2, quarter_bounds
from tongxin.volunteers.models import AlertLines, Entry, MemberAlertRule, SignUp, TimeBankPolicy

ZERO = Decimal("0")


@dataclass(frozen=True)
class Thresholds:
    mode: str
    yellow_below: Decimal
    orange_below: Decimal
    red_below: Decimal
    min_activities: int


# Member types without a community rule of their own; None = the community's TimeBankPolicy thresholds.
DEFAULT_RULES: dict[str, Thresholds | None] = {
    MemberType.RESIDENT: None,
    MemberType.DUAL_REGISTERED: None,
    # working away most of the quarter: half the hours, no minimum of occasions, a yellow reminder at most (a
    # community that wants them visited sets its own rule)
    MemberType.MOBILE: Thresholds(AlertMode.WARN, Decimal("2"), ZERO, ZERO, 0),
    MemberType.ELDERLY_FRAIL: Thresholds(AlertMode.CARE, ZERO, ZERO, ZERO, 0),
}
VISIT_LEVELS = frozenset({AlertLevel.ORANGE, AlertLevel.RED, AlertLevel.CARE})


def thresholds(member_type: str, policy: TimeBankPolicy, rule: MemberAlertRule | None) -> Thresholds:
    """The community's rule for the member type, else the type's default, else the community's base lines."""
    default = DEFAULT_RULES.get(member_type)
    if rule is None and default is not None:
        return default
    lines: AlertLines = rule or policy
    mode = rule.mode if rule is not None else AlertMode.WARN
    return Thresholds(mode, lines.yellow_below, lines.orange_below, lines.red_below, lines.min_activities)


@dataclass
class Participation:
    member: PartyMember
    reported_in: bool
    hours: Decimal
    activities: int
    claims: int
    level: str
    reason: str = ""

    @property
    def level_label(self) -> str:
        return str(AlertLevel(self.level).label)

    @property
    def needs_visit(self) -> bool:
        return self.level in VISIT_LEVELS


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


def alert(t: Thresholds, hours: Decimal, occasions: int, reported_in: bool) -> tuple[str, str]:
    """The level and why, for a quarter's hours, service occasions and (dual-registered) report-in."""
    if t.mode == AlertMode.CARE:
        return AlertLevel.CARE, _("年老体弱党员：上门关怀，不作预警")
    for level, line, name in (
        (AlertLevel.RED, t.red_below, _("红色线")),
        (AlertLevel.ORANGE, t.orange_below, _("橙色线")),
        (AlertLevel.YELLOW, t.yellow_below, _("黄色线")),
    ):
        if hours < line:
            return level, _("本季度服务 %(h)s 小时，低于%(name)s %(line)s 小时") % {
                "h": _hours(hours),
                "name": name,
                "line": _hours(line),
            }
    if not reported_in:
        return AlertLevel.YELLOW, _("在职党员未向社区报到")
    if occasions < t.min_activities:
        return AlertLevel.YELLOW, _("本季度服务 %(n)s 次，少于 %(m)s 次") % {
            "n": occasions,
            "m": t.min_activities,
        }
    return AlertLevel.GREEN, ""


def alert_level(policy: TimeBankPolicy, hours: Decimal, activities: int, reported_in: bool) -> str:
    """The level under the community's base thresholds (resident members)."""
    return alert(thresholds(MemberType.RESIDENT, policy, None), hours, activities, reported_in)[0]


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
    hours: dict[int, Decimal] = {}
    days: dict[int, int] = {}
    for resident_id, total, n_days in (
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
        .annotate(s=Sum("amount"), d=Count("value_date", distinct=True))
        .values_list("account__resident_id", "s", "d")
    ):
        hours[resident_id] = total
        days[resident_id] = n_days
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
    communities = {c for m in rows if (c := _community_of(m)) is not None}
    policies = {p.community_id: p for p in TimeBankPolicy.objects.filter(community_id__in=communities)}
    rules = {
        (r.community_id, r.member_type): r
        for r in MemberAlertRule.objects.filter(community_id__in=communities)
    }
    out = []
    for m in rows:
        community = _community_of(m)
        policy = policies.get(community or 0) or TimeBankPolicy()
        t = thresholds(m.member_type, policy, rules.get((community or 0, m.member_type)))
        reported = m.member_type != MemberType.DUAL_REGISTERED or m.reported_in_on is not None
        h = q2(hours.get(m.resident_id))
        a = acts.get(m.resident_id, 0)
        c = claims.get(user_ids.get(m.resident_id) or -1, 0)
        occasions = max(a + c, days.get(m.resident_id, 0))
        level, reason = alert(t, h + 0, occasions, reported)
        out.append(Participation(m, reported, h, a, c, level, reason))
    return out


def _community_of(member: PartyMember) -> int | None:
    """The community whose rules apply: where the member lives, else where he reported in (下沉 cadres)."""
    dwelling = member.resident.dwelling
    if dwelling is not None:
        return dwelling.community_id
    return member.community_id


def level_of(member: PartyMember, day: dt.date) -> str:
    return participation(PartyMember.objects.filter(pk=member.pk), day)[0].level


def appraisal(members: QuerySet[PartyMember], day: dt.date) -> list[Participation]:
    """The quarterly appraisal list: members by hours earned in the quarter, most first."""
    return sorted(participation(members, day), key=lambda p: (-p.hours, -p.activities, p.member.pk))


def active_members(qs: QuerySet[PartyMember]) -> QuerySet[PartyMember]:
    return qs.filter(Q(active=True))
