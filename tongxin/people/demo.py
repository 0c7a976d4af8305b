"""People's part of the demo foundation: households and residents in the dwellings regions built, with synthetic
names, id numbers, phones and tags (care, health, welfare, watched persons), and the heads of household.

Needs from ``ctx.data``: ``buildings`` (regions). Leaves: ``tags`` (code -> Tag) and ``person_of`` (resident pk
-> :class:`Person`: the generated age and tags the party and accounts steps choose by).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection

from tongxin.core import demo
from tongxin.core.demo import DemoContext, fast_insert, insert_rows
from tongxin.people.choices import TAGS, IdKind, Relation, ResidenceStatus
from tongxin.people.models import Household, Membership, Resident, Tag
from tongxin.people.pii import set_foreign_document, set_id_number, set_phone
from tongxin.regions import demo_data
from tongxin.regions.demo import BuildingInfo
from tongxin.regions.models import Dwelling

# 境外人员: a few households of foreigners with (fake) passports; names as the registry writes them
FOREIGN_SHARE = 0.002
# (family names, male given names, female given names) per nationality, as the registry transliterates them
FOREIGN_NAMES = (
    (("佐藤", "铃木", "高桥", "田中"), ("健", "翔太", "大辅", "拓也"), ("美咲", "阳子", "由美", "爱")),
    (("金", "朴", "崔", "郑"), ("敏俊", "成民", "俊浩", "在勋"), ("秀妍", "智妍", "惠珍", "恩静")),
    (("阮", "陈", "黎", "范"), ("文雄", "文明", "德胜", "光海"), ("氏梅", "氏兰", "氏花", "氏秋")),
)
# household sizes: weights for 1..6 people
SIZE_WEIGHTS = {
    "local": (12, 22, 31, 20, 11, 4),
    "migrant": (8, 20, 32, 25, 11, 4),
}
# head of household age bands and weights
HEAD_AGES = ((25, 34, 22), (35, 44, 24), (45, 54, 20), (55, 64, 16), (65, 74, 11), (75, 88, 7))


@dataclass
class Person:
    name: str
    female: bool
    age: int
    relation: str
    has_phone: bool
    tags: set[str] = field(default_factory=set)
    resident: Resident | None = None


def foundation(ctx: DemoContext) -> None:
    loader = PeopleLoader(ctx)
    loader._ensure_tags()
    ctx.timed("people", loader._people)
    ctx.summary["residents"] = len(loader.person_of)


class PeopleLoader:
    def __init__(self, ctx: DemoContext) -> None:
        self.rng, self.scale, self.out = ctx.rng, ctx.scale, ctx.out
        self.names, self.ids, self.phones = ctx.names, ctx.ids, ctx.phones
        self.n = ctx.n
        self.buildings: dict[str, list[BuildingInfo]] = ctx.data["buildings"]
        self.tags: dict[str, Tag] = ctx.data.setdefault("tags", {t.code: t for t in Tag.objects.all()})
        self.person_of: dict[int, Person] = ctx.data.setdefault("person_of", {})

    def _ensure_tags(self) -> None:
        for code, name, sensitivity in TAGS:
            if code not in self.tags:
                self.tags[code] = Tag.objects.create(code=code, name=name, sensitivity=sensitivity)

    def _household(self, migrant: bool) -> list[Person]:
        rng = self.rng
        size = rng.choices(range(1, 7), weights=SIZE_WEIGHTS["migrant" if migrant else "local"])[0]
        band = rng.choices(HEAD_AGES, weights=[b[2] for b in HEAD_AGES])[0]
        head_age = rng.randint(band[0], band[1])
        if migrant and head_age > 60 and rng.random() < 0.6:
            head_age = rng.randint(25, 50)  # migrants are younger
        if size == 1 and rng.random() < 0.4:
            head_age = rng.randint(65, 90)
        head_female = rng.random() < 0.32
        family = self.names.surname()
        head = Person(self.names.full(head_female, family), head_female, head_age, Relation.HEAD, True)
        people = [head]
        father_surname = family if not head_female else None
        if size >= 2 and rng.random() < 0.88:
            spouse_female = not head_female
            spouse_surname = self.names.surname()
            if head_female:
                father_surname = spouse_surname
            age = max(20, min(95, head_age + rng.randint(-4, 3) * (1 if spouse_female else -1)))
            people.append(
                Person(
                    self.names.full(spouse_female, spouse_surname), spouse_female, age, Relation.SPOUSE, True
                )
            )
        child_surname = father_surname or family
        while len(people) < size:
            if head_age < 55:
                kids = sum(1 for p in people if p.relation == Relation.CHILD)
                if kids < 2 or rng.random() < 0.2:
                    age = max(0, head_age - rng.randint(22, 34) - 3 * kids)
                    female = rng.random() < 0.48
                    people.append(
                        Person(self.names.full(female, child_surname), female, age, Relation.CHILD, True)
                    )
                else:
                    female = rng.random() < 0.55
                    age = min(95, head_age + rng.randint(24, 32))
                    surname = family if not female else self.names.surname()
                    people.append(
                        Person(self.names.full(female, surname), female, age, Relation.PARENT, True)
                    )
            else:
                kids = sum(1 for p in people if p.relation == Relation.CHILD)
                if kids == 0:
                    female = rng.random() < 0.5
                    age = max(16, head_age - rng.randint(24, 32))
                    people.append(
                        Person(self.names.full(female, child_surname), female, age, Relation.CHILD, True)
                    )
                else:
                    female = rng.random() < 0.48
                    age = rng.randint(0, max(0, min(14, head_age - 48)))
                    people.append(
                        Person(self.names.full(female, child_surname), female, age, Relation.GRANDCHILD, True)
                    )
        for p in people:
            p.has_phone = p.age >= 16 and rng.random() < (0.5 if p.age >= 80 else 0.93)
            if len(people) == 1 and p.age >= 65:
                p.tags.add("elderly_alone")
            if rng.random() < 0.015:
                p.tags.add("disabled")
            if p.age >= 45:
                if rng.random() < 0.18 + (0.1 if p.age >= 65 else 0):
                    p.tags.add("hypertension")
                if rng.random() < 0.07:
                    p.tags.add("diabetes")
            if rng.random() < 0.0004:
                p.tags.add("tuberculosis")
            if not p.female and 28 <= p.age <= 85 and rng.random() < 0.03:
                p.tags.add("veteran")
            if p.age >= 62 and rng.random() < 0.012:
                p.tags.add("senior_talent")
        if rng.random() < 0.012:
            head.tags.add("low_income")
        return people

    def _people(self) -> None:
        rng = self.rng
        households: list[Household] = []
        plans: list[tuple[Household, Dwelling, list[Person], str]] = []
        specs = {e.name: e for c in demo_data.COMMUNITIES for e in c.estates}
        for infos in self.buildings.values():
            for info in infos:
                spec = specs[info.estate.name]
                for d in info.dwellings:
                    if rng.random() >= spec.occupancy:
                        continue
                    draw = rng.random()
                    status: str = (
                        ResidenceStatus.FOREIGN
                        if draw < FOREIGN_SHARE
                        else ResidenceStatus.MIGRANT
                        if draw < spec.migrant_share
                        else ResidenceStatus.REGISTERED
                    )
                    started = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(13 * 365))
                    hh = Household(dwelling=d, started_on=started)
                    households.append(hh)
                    people = self._household(status != ResidenceStatus.REGISTERED)
                    if status == ResidenceStatus.FOREIGN:
                        family, male, female = rng.choice(FOREIGN_NAMES)
                        surname = rng.choice(family)
                        for p in people:
                            p.name = surname + rng.choice(female if p.female else male)
                    plans.append((hh, d, people, status))
        fast_insert(Household, households)
        residents: list[Resident] = []
        owners: list[tuple[Person, BuildingInfo | None]] = []
        building_of = {
            d.pk: info for infos in self.buildings.values() for info in infos for d in info.dwellings
        }
        passports = 0
        for hh, d, people, status in plans:
            for p in people:
                birth = demo.birth_date_for_age(rng, p.age)
                r = Resident(
                    name=p.name,
                    dwelling_id=d.pk,
                    household_id=hh.pk,
                    relation=p.relation,
                    residence_status=status,
                )
                if status == ResidenceStatus.FOREIGN:
                    passports += 1
                    r.id_kind = IdKind.PASSPORT
                    set_foreign_document(r, f"{demo.FAKE_PASSPORT_PREFIX}{passports:07d}")
                    r.gender, r.birth_date = ("F" if p.female else "M"), birth
                else:
                    number, _birth = self.ids.make(birth, p.female)
                    set_id_number(r, number)
                if p.has_phone:
                    set_phone(r, self.phones.make())
                p.resident = r
                residents.append(r)
                owners.append((p, building_of.get(d.pk)))
        fast_insert(Resident, residents)
        memberships = []
        for hh, _d, people, _m in plans:
            for p in people:
                assert p.resident is not None
                moved_in = max(hh.started_on, p.resident.birth_date or hh.started_on)
                memberships.append((hh.pk, p.resident.pk, p.relation, moved_in, None))
        insert_rows(
            Membership,
            ["household_id", "resident_id", "relation", "moved_in_on", "moved_out_on"],
            memberships,
        )
        for p, owner in owners:
            assert p.resident is not None
            self.person_of[p.resident.pk] = p
            if owner is not None:
                owner.residents.append(p.resident)
        self._set_heads(households)
        self._watched()
        through = Resident.tags.through
        links = [
            (p.resident.pk, self.tags[code].pk)
            for p in self.person_of.values()
            if p.resident is not None
            for code in sorted(p.tags)
        ]
        insert_rows(through, ["resident_id", "tag_id"], links)
        self.out.write(f"people: {len(households)} households, {len(residents)} residents, {len(links)} tags")

    def _set_heads(self, households: list[Household]) -> None:
        """One set-based statement instead of 10,000 saves: the head is the member related as head."""
        if not households:
            return
        h, r = Household._meta.db_table, Resident._meta.db_table
        ids = [hh.pk for hh in households]
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {h} SET head_id = (SELECT r.id FROM {r} r WHERE r.household_id = {h}.id "
                f"AND r.relation = %s) WHERE {h}.id BETWEEN %s AND %s",
                [Relation.HEAD.value, min(ids), max(ids)],
            )

    def _watched(self) -> None:
        """A few watched persons (重点人员) per community: adults, never a demo login's resident."""
        for community, count in (("满庭春社区", 8), ("大新社区", 3)):
            pool = [
                r
                for info in self.buildings[community]
                for r in info.residents
                if 20 <= self.person_of[r.pk].age <= 60
            ]
            for r in self.rng.sample(pool, min(len(pool), self.n(count, 1))):
                self.person_of[r.pk].tags.add("watched")
