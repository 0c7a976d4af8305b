"""Yearly service hours per party member and per co-building unit (双报到 appraisal): what each member earned in
the time bank in the year, grouped by the unit that employs him, exportable for the unit's appraisal."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from tongxin.core.exports import csv_row
from tongxin.ledger.choices import AccountKind
from tongxin.ledger.models import Entry
from tongxin.party.models import PartyMember
from tongxin.regions.policy import community_ids
from tongxin.volunteers.choices import EARNING_KINDS

ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass
class MemberHours:
    member: PartyMember
    hours: Decimal


@dataclass
class UnitHours:
    name: str
    unit_id: int | None
    members: list[MemberHours] = field(default_factory=list)

    @property
    def hours(self) -> Decimal:
        return sum((m.hours for m in self.members), ZERO)


def yearly_hours(user: Any, year: int) -> list[UnitHours]:
    """Members serving the communities the user works in, with the hours they earned in ``year``, grouped by
    employer (members without a co-building unit under their employer's name, or "—"). Two queries."""
    ids = community_ids(user)
    members = list(
        PartyMember.objects.filter(active=True)
        .filter(Q(community_id__in=ids) | Q(community__isnull=True, resident__dwelling__community_id__in=ids))
        .exclude(employer__isnull=True, employer_name="")
        .select_related("resident", "employer")
        .order_by("employer__name", "employer_name", "pk")
    )
    earned = dict(
        Entry.objects.filter(
            account__kind=AccountKind.PERSON,
            account__resident_id__in=[m.resident_id for m in members],
            kind__in=sorted(EARNING_KINDS),
            value_date__year=year,
            amount__gt=0,
        )
        .values("account__resident_id")
        .annotate(total=Sum("amount"))
        .values_list("account__resident_id", "total")
    )
    units: dict[tuple[int | None, str], UnitHours] = {}
    for m in members:
        key = (m.employer_id, m.employer.name if m.employer else m.employer_name)
        unit = units.setdefault(key, UnitHours(name=key[1] or "—", unit_id=m.employer_id))
        unit.members.append(MemberHours(m, Decimal(earned.get(m.resident_id) or ZERO).quantize(CENT)))
    return sorted(units.values(), key=lambda u: (-u.hours, u.name))


def hours_csv(units: list[UnitHours], year: int) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 with a BOM
    writer = csv.writer(out)
    writer.writerow(
        ["年度", "单位", "姓名", "单位职务", "下沉干部", "报到日期", "服务时长（小时）", "单位合计"]
    )
    for unit in units:
        for row in unit.members:
            m = row.member
            writer.writerow(
                csv_row(
                    [
                        year,
                        unit.name,
                        m.resident.name,
                        m.post_title,
                        "是" if m.sinking_cadre else "否",
                        m.reported_in_on or "",
                        row.hours,
                        unit.hours,
                    ]
                )
            )
    return out.getvalue()
