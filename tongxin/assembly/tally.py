"""Counting a vote with exact rational arithmetic (never floats).

**Owners' votes, 民法典 第二百七十八条.** 第二款: a joint decision needs owners holding **two thirds or more**
(三分之二以上) of the exclusive area **and** two thirds or more of the owners to take part (参与表决). Items
(六)–(八) then need **three quarters or more** (四分之三以上) of the participating area and of the participating
owners to agree; every other item **more than half** (过半数) of both. Per 第一千二百五十九条 "以上" includes the
number itself and "过半数" does not include exactly half, so the tests are ``3·x ≥ 2·total``, ``4·x ≥ 3·total`` and
``2·x > total``, on exact numbers: areas are ``Decimal`` with two places (sums are exact), headcounts are
``Fraction``.

Area and headcount follow 最高人民法院关于审理建筑物区分所有权纠纷案件适用法律若干问题的解释 (2020) 第八条、第九条:
area is the exclusive part's registered area; headcount is the number of exclusive parts, except that one buyer's
several parts count as one owner and the developer's unsold (or undelivered) parts count as one together. An
elector row's ``person`` carries that grouping. An owner takes part when any of his parts has a ballot; if his
parts were voted differently (paper ballots per part), his one head is split equally among his ballots (e.g. 2/3
agree, 1/3 against) — exact, and equal to 1 in the ordinary case.

**Households and representatives** (a building's households, a council's representatives): one unit one vote;
as for a residents' meeting (城市居民委员会组织法: 每户代表过半数参加，出席人过半数通过), more than half of the units
take part and more than half of the participants agree. Area does not count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _

from tongxin.assembly.choices import SUPERMAJORITY_ITEMS, Choice, Electorate, OwnersItem

CHOICES = (Choice.AGREE, Choice.AGAINST, Choice.ABSTAIN)
ZERO = Decimal("0.00")


@dataclass
class Tally:
    electorate: str
    owners_item: str = ""
    total_area: Decimal = ZERO
    total_heads: int = 0
    area: dict[str, Decimal] = field(default_factory=lambda: {c: ZERO for c in CHOICES})
    heads: dict[str, Fraction] = field(default_factory=lambda: {c: Fraction(0) for c in CHOICES})
    participating_area: Decimal = ZERO
    participating_heads: int = 0
    ballots: int = 0
    units: int = 0

    # -------------------------------------------------------------------- the tests of the article
    @property
    def by_area(self) -> bool:
        return self.electorate == Electorate.OWNERS

    @property
    def supermajority(self) -> bool:
        return self.by_area and self.owners_item in SUPERMAJORITY_ITEMS

    @property
    def quorum_area_met(self) -> bool:
        if not self.by_area:
            return True
        return self.total_area > 0 and 3 * self.participating_area >= 2 * self.total_area

    @property
    def quorum_heads_met(self) -> bool:
        if self.total_heads == 0:
            return False
        if self.by_area:
            return 3 * self.participating_heads >= 2 * self.total_heads
        return 2 * self.participating_heads > self.total_heads

    @property
    def quorum_met(self) -> bool:
        return self.quorum_area_met and self.quorum_heads_met

    @property
    def agree_area_met(self) -> bool:
        if not self.by_area:
            return True
        agree, part = self.area[Choice.AGREE], self.participating_area
        if part == 0:
            return False
        return 4 * agree >= 3 * part if self.supermajority else 2 * agree > part

    @property
    def agree_heads_met(self) -> bool:
        agree, part = self.heads[Choice.AGREE], self.participating_heads
        if part == 0:
            return False
        return 4 * agree >= 3 * part if self.supermajority else 2 * agree > part

    @property
    def passed(self) -> bool:
        return self.quorum_met and self.agree_area_met and self.agree_heads_met

    @property
    def not_voted_area(self) -> Decimal:
        return self.total_area - self.participating_area

    @property
    def not_voted_heads(self) -> int:
        return self.total_heads - self.participating_heads

    def rule_text(self) -> str:
        if not self.by_area:
            return _("过半数的表决单位参与表决，且参与表决的过半数同意（一户一票）")
        item = dict(OwnersItem.choices).get(self.owners_item, "")
        if self.supermajority:
            need = _("参与表决专有部分面积四分之三以上的业主且参与表决人数四分之三以上的业主同意")
            para = _("第二款后段（第六项至第八项）")
        else:
            need = _("参与表决专有部分面积过半数的业主且参与表决人数过半数的业主同意")
            para = _("第二款末句（其他事项）")
        return _(
            "民法典第二百七十八条：专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决；"
            "%(item)s 适用%(para)s，应当经%(need)s。"
        ) % {"item": item, "para": para, "need": need}

    def as_dict(self) -> dict[str, Any]:
        """The result sheet as JSON (areas as decimal strings, headcounts as exact fractions "7/3")."""
        return {
            "electorate": self.electorate,
            "owners_item": self.owners_item,
            "units": self.units,
            "ballots": self.ballots,
            "total_area": str(self.total_area),
            "total_heads": self.total_heads,
            "participating_area": str(self.participating_area),
            "participating_heads": self.participating_heads,
            "area": {c: str(v) for c, v in self.area.items()},
            "heads": {c: str(v) for c, v in self.heads.items()},
            "not_voted_area": str(self.not_voted_area),
            "not_voted_heads": self.not_voted_heads,
            "quorum_area_met": self.quorum_area_met,
            "quorum_heads_met": self.quorum_heads_met,
            "quorum_met": self.quorum_met,
            "agree_area_met": self.agree_area_met,
            "agree_heads_met": self.agree_heads_met,
            "supermajority": self.supermajority,
            "passed": self.passed,
            "rule": self.rule_text(),
        }


def count(rows: Iterable[tuple[str, Decimal, str | None]], electorate: str, owners_item: str = "") -> Tally:
    """Tally ``rows`` of ``(person, area, choice or None)``, one row per elector (exclusive part, household or
    representative). One pass over the rows, then one over the persons."""
    t = Tally(electorate=electorate, owners_item=owners_item)
    by_area = electorate == Electorate.OWNERS
    persons: dict[str, list[str]] = defaultdict(list)  # person -> choices of his voted units
    area = t.area
    total_area = ZERO
    part_area = ZERO
    units = ballots = 0
    for person, a, choice in rows:
        units += 1
        lst = persons[person]
        if by_area:
            total_area += a
        if choice:
            ballots += 1
            lst.append(choice)
            if by_area:
                part_area += a
                area[choice] += a
    heads = t.heads
    participating = 0
    for choices in persons.values():
        if not choices:
            continue
        participating += 1
        n = len(choices)
        if n == 1 or all(c == choices[0] for c in choices):
            heads[choices[0]] += 1
        else:
            for c in choices:
                heads[c] += Fraction(1, n)
    t.units, t.ballots = units, ballots
    t.total_area, t.participating_area = total_area, part_area
    t.total_heads, t.participating_heads = len(persons), participating
    return t
