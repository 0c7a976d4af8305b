"""Load the demo community: 干河街道 with 满庭春社区 and 大新社区 (富丰新城), their people, party organisation,
co-building units, departments, the property company, one login per role, then every app's own demo rows.

Deterministic (``--seed``), idempotent (a second run says so and does nothing; ``--reset`` starts over) and
set-based: rows are built in Python and written with one ``executemany`` per big table (``bulk_create`` for the
small ones); personal values are encrypted in Python through ``people.pii``.
See docs/demo.md.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction

from tongxin.core import demo
from tongxin.core.audit import record
from tongxin.core.models import AuditLog, User
from tongxin.party.choices import CoBuildingKind, MemberType, OrganisationKind
from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost
from tongxin.people.choices import TAGS, IdKind, Relation, ResidenceStatus
from tongxin.people.models import Household, Membership, Resident, Tag
from tongxin.people.pii import set_foreign_document, set_id_number, set_phone
from tongxin.regions import demo_data
from tongxin.regions.models import Department, Dwelling, Grid, PropertyCompany, Region, RoleAssignment

BATCH = 2000

SERVICE_POSTS = (
    ("patrol", "治安巡逻", "夜间和节假日巡查小区，发现隐患及时报告网格员"),
    ("traffic", "交通值守", "上下学高峰在小区出入口和路口疏导交通"),
    ("mediation", "矛盾调解", "化解邻里纠纷、停车位等矛盾"),
    ("policy", "政策宣传", "入户宣讲政策，收集居民意见"),
    ("environment", "环境整治", "楼道清理、垃圾分类督导、卫生死角整治"),
    ("civility", "文明创建", "文明城市创建、劝导不文明行为"),
    ("convenience", "便民助民", "代办代购、维修小事等便民服务"),
    ("care", "关爱帮扶", "走访独居老人、残疾人、困难家庭"),
    ("legal", "法律服务", "法律咨询、送法上门"),
    ("culture", "文体活动", "组织文艺、体育和节日活动"),
)
# 包保单位 on 满庭春社区's 大党委 (seed 000), then partners that are not committee members.
CO_BUILDING_UNITS = (
    ("市卫健委", CoBuildingKind.ADOPTING, True, 5),
    ("市教育局", CoBuildingKind.ADOPTING, True, 5),
    ("汉江中级法院", CoBuildingKind.ADOPTING, True, 4),
    ("市住建局", CoBuildingKind.ADOPTING, True, 3),
    ("市城管执法局", CoBuildingKind.ADOPTING, True, 3),
    ("市民政局", CoBuildingKind.ADOPTING, True, 2),
    ("市人社局", CoBuildingKind.ADOPTING, True, 2),
    ("国网仙桃市供电公司", CoBuildingKind.PARTNER, False, 2),
    ("仙桃市第一人民医院", CoBuildingKind.RESIDENT_UNIT, False, 3),
    ("干河街道中心学校", CoBuildingKind.RESIDENT_UNIT, False, 2),
)
OTHER_EMPLOYERS = ("市税务局", "市农业农村局", "市自然资源局", "中国银行仙桃支行", "仙桃职业学院", "市统计局")
DEPARTMENTS = (
    ("城市管理局", "城管"),
    ("住房和城乡建设局", "住建"),
    ("公安派出所", "公安"),
    ("教育局", "教育"),
    ("卫生健康委员会", "卫健"),
    ("民政局", "民政"),
)
PROPERTY_COMPANY = "满庭春第一物业服务公司"
PROPERTY_HOTLINE = "400-000-1715"  # fake number: the 24-hour line of seed 000 and its 1715 rule
FUFENG_PROPERTY = "富丰新城物业服务中心"

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


@dataclass
class BuildingInfo:
    region: Region
    estate: Region
    grid: Grid
    community: Region
    entrances: list[Region] = field(default_factory=list)
    dwellings: list[Dwelling] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)


class Command(BaseCommand):
    help = "载入演示社区（干河街道：满庭春社区、大新社区）及每个角色的演示账号。Load the demo community."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=demo.SEED, help="random seed (default: %(default)s)")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the full size, e.g. 0.02 for tests"
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="unapply and re-apply the project's migrations (drops ALL data), then load",
        )
        parser.add_argument("--foundation-only", action="store_true", help="skip the apps' demo.py loaders")
        parser.add_argument(
            "--strict", action="store_true", help="fail when an app's demo loader fails (default: warn)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 0 < opts["scale"] <= 1:
            raise CommandError("--scale must be in (0, 1]")
        if opts["reset"]:
            self._reset()
        if Region.objects.filter(kind=Region.Kind.SUBDISTRICT, name=demo_data.SUBDISTRICT_NAME).exists():
            self.stdout.write(
                f"演示数据已加载，未做任何改动 (demo already loaded, nothing done; use --reset to reload). "
                f"{Resident.objects.count()} residents."
            )
            return
        started = time.monotonic()
        with transaction.atomic():
            loader = FoundationLoader(opts["seed"], opts["scale"], self.stdout)
            loader.run()
        self.stdout.write(f"foundation loaded in {time.monotonic() - started:.1f} s")
        if not opts["foundation_only"]:
            self._run_apps(opts["seed"], opts["strict"])
        self.stdout.write(
            self.style.SUCCESS(f"演示数据已载入 (demo loaded) in {time.monotonic() - started:.1f} s")
        )

    def _reset(self) -> None:
        self.stdout.write("--reset: unapplying the project's migrations (all data is dropped) ...")
        try:
            call_command("migrate", "core", "zero", interactive=False, verbosity=0)
        except Exception as exc:
            raise CommandError(
                f"could not unapply migrations ({exc}); on SQLite run `make clean && make demo` instead"
            ) from exc
        call_command("migrate", interactive=False, verbosity=0)
        from django.contrib.sessions.models import Session

        Session.objects.all().delete()

    def _run_apps(self, seed: int, strict: bool) -> None:
        for app, load in demo.app_demo_modules():
            started = time.monotonic()
            try:
                with transaction.atomic():
                    load(random.Random(seed), self.stdout)
            except Exception:
                if strict:
                    raise
                self.stderr.write(f"{app}.demo failed (its rows were rolled back):\n{traceback.format_exc()}")
                continue
            self.stdout.write(f"{app}.demo loaded in {time.monotonic() - started:.1f} s")


PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


def insert_rows(model: Any, attnames: list[str], rows: list[tuple[Any, ...]]) -> int:
    """Insert plain rows (values in ``attnames`` order) with ids assigned here; returns the first id.

    ``bulk_create`` spends most of its time compiling SQL in small batches (SQLite's parameter limit) and the
    model instances cost as much again; the demo writes ~130,000 rows, so they go through one prepared
    ``executemany`` per table. The table's sequence is moved past the new ids afterwards (PostgreSQL).
    """
    meta = model._meta
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the per-attribute proxy
    qn = conn.ops.quote_name
    by_attname = {f.attname: f for f in meta.concrete_fields}
    fields = [by_attname[a] for a in attnames]
    prepare = [None if isinstance(f, PLAIN_FIELDS) else f for f in fields]
    with conn.cursor() as cur:
        cur.execute(f"SELECT MAX({qn(meta.pk.column)}) FROM {qn(meta.db_table)}")
        start = (cur.fetchone()[0] or 0) + 1
        if not rows:
            return start
        prepared = [
            [start + i]
            + [v if f is None else f.get_db_prep_save(v, conn) for f, v in zip(prepare, row, strict=True)]
            for i, row in enumerate(rows)
        ]
        columns = ", ".join(qn(c) for c in [meta.pk.column, *(f.column for f in fields)])
        marks = ", ".join(["%s"] * (len(fields) + 1))
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})"
        for i in range(0, len(prepared), 5000):
            cur.executemany(sql, prepared[i : i + 5000])
        for statement in conn.ops.sequence_reset_sql(no_style(), [model]):
            cur.execute(statement)
    return start


def fast_insert(model: Any, objs: list[Any]) -> None:
    """Insert model instances through :func:`insert_rows` and set their pks."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [tuple(f.pre_save(obj, True) for f in fields) for obj in objs]
    start = insert_rows(model, [f.attname for f in fields], rows)
    for i, obj in enumerate(objs):
        obj.pk = start + i
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


class FoundationLoader:
    """Places, people, party organisation, units and users; every random draw comes from one seeded rng."""

    def __init__(self, seed: int, scale: float, out: Any) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.out = out
        self.names = demo.NameMaker(self.rng)
        self.ids = demo.IdNumberMaker()
        self.phones = demo.PhoneMaker()
        self.tags = {t.code: t for t in Tag.objects.all()}
        self.buildings: dict[str, list[BuildingInfo]] = defaultdict(list)  # community name -> buildings
        self.communities: dict[str, Region] = {}
        self.grids: dict[str, list[Grid]] = {}
        self.estates: dict[str, Region] = {}
        self.posts: dict[str, dict[str, ServicePost]] = {}
        self.members: dict[str, list[PartyMember]] = defaultdict(list)
        self.person_of: dict[int, Person] = {}  # resident pk -> generated person

    def n(self, full: int, minimum: int) -> int:
        return max(minimum, round(full * self.scale))

    def run(self) -> None:
        self._ensure_tags()
        for step in (self._places, self._people, self._organisations, self._units, self._users):
            started = time.monotonic()
            step()
            self.out.write(f"  {step.__name__.strip('_')}: {time.monotonic() - started:.1f} s")
        record(
            AuditLog.Action.IMPORT,
            object_type="demo",
            after={"seed": self.seed, "scale": self.scale, "residents": Resident.objects.count()},
        )

    # ----- places -----------------------------------------------------------------------------------------
    def _ensure_tags(self) -> None:
        for code, name, sensitivity in TAGS:
            if code not in self.tags:
                self.tags[code] = Tag.objects.create(code=code, name=name, sensitivity=sensitivity)

    def _places(self) -> None:
        sub = Region.objects.create(
            kind=Region.Kind.SUBDISTRICT,
            name=demo_data.SUBDISTRICT_NAME,
            code=demo_data.SUBDISTRICT_CODE,
            latitude=30.3610,
            longitude=113.4320,
        )
        self.subdistrict = sub
        root = math.sqrt(self.scale)
        for cspec in demo_data.COMMUNITIES:
            lat = sum(e.centre[0] for e in cspec.estates) / len(cspec.estates)
            lon = sum(e.centre[1] for e in cspec.estates) / len(cspec.estates)
            community = Region.objects.create(
                kind=Region.Kind.COMMUNITY,
                name=cspec.name,
                code=cspec.code,
                parent=sub,
                latitude=round(lat, 6),
                longitude=round(lon, 6),
            )
            self.communities[cspec.name] = community
            grids = [
                Grid.objects.create(community=community, name=gname, code=Grid.build_code(community, i + 1))
                for i, gname in enumerate(cspec.grid_names)
            ]
            self.grids[cspec.name] = grids
            grid_points: dict[int, list[tuple[float, float]]] = defaultdict(list)
            for espec in cspec.estates:
                estate = Region.objects.create(
                    kind=Region.Kind.ESTATE,
                    name=espec.name,
                    parent=community,
                    latitude=espec.centre[0],
                    longitude=espec.centre[1],
                )
                self.estates[espec.name] = estate
                count = max(3, round(espec.buildings * root))
                lo, hi = (max(2, round(f * root)) for f in espec.floors)
                positions = demo_data.building_positions(espec, count)
                # split the buildings west to east into the estate's grids
                chunk = math.ceil(count / len(espec.grids))
                for b in range(count):
                    grid = grids[espec.grids[b // chunk] - 1]
                    lat_b, lon_b = positions[b]
                    grid_points[grid.pk].append((lat_b, lon_b))
                    building = Region.objects.create(
                        kind=Region.Kind.BUILDING,
                        name=f"{b + 1}栋",
                        number=str(b + 1),
                        parent=estate,
                        grid=grid,
                        latitude=lat_b,
                        longitude=lon_b,
                    )
                    info = BuildingInfo(building, estate, grid, community)
                    floors = self.rng.randint(lo, hi)
                    areas = [
                        Decimal(f"{self.rng.uniform(60, 140):.2f}") for _ in range(espec.flats_per_floor)
                    ]
                    for e in range(espec.entrances):
                        entrance = Region(
                            kind=Region.Kind.ENTRANCE, name=f"{e + 1}单元", number=str(e + 1), parent=building
                        )
                        entrance.grid_id = grid.pk
                        entrance.save()
                        info.entrances.append(entrance)
                        for floor in range(1, floors + 1):
                            for flat in range(espec.flats_per_floor):
                                d = Dwelling(
                                    number=f"{floor}{flat + 1:02d}", floor=floor, floor_area=areas[flat]
                                )
                                d.place_under(entrance)
                                info.dwellings.append(d)
                    self.buildings[cspec.name].append(info)
            for grid in grids:
                grid.polygon = demo_data.grid_polygon(grid_points[grid.pk])
                grid.save(update_fields=["polygon"])
        all_dwellings = [d for infos in self.buildings.values() for i in infos for d in i.dwellings]
        fast_insert(Dwelling, all_dwellings)
        self.out.write(
            f"places: {sum(len(v) for v in self.buildings.values())} buildings, {len(all_dwellings)} dwellings"
        )

    # ----- people -----------------------------------------------------------------------------------------
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

    # ----- party ------------------------------------------------------------------------------------------
    def _organisations(self) -> None:
        rng = self.rng
        committee = Organisation.objects.create(
            kind=OrganisationKind.SUBDISTRICT_COMMITTEE, name="干河街道党工委", region=self.subdistrict
        )
        for name, community in self.communities.items():
            self.posts[name] = {
                code: ServicePost.objects.create(community=community, code=code, name=pname, description=desc)
                for code, pname, desc in SERVICE_POSTS
            }
        self._mantingchun_party(committee, rng)
        self._daxin_party(committee, rng)

    def _pick(
        self, pool: list[Resident], count: int, taken: set[int], ages: tuple[int, int]
    ) -> list[Resident]:
        eligible = [
            r
            for r in pool
            if r.pk not in taken
            and r.residence_status != ResidenceStatus.FOREIGN
            and ages[0] <= self.person_of[r.pk].age <= ages[1]
            and "watched" not in self.person_of[r.pk].tags
        ]
        chosen = self.rng.sample(eligible, min(count, len(eligible)))
        taken.update(r.pk for r in chosen)
        return chosen

    def _joined(self, age: int) -> dt.date:
        years_ago = self.rng.randint(1, max(1, age - 20))
        return demo.REFERENCE_DATE - dt.timedelta(days=365 * years_ago + self.rng.randrange(365))

    def _mantingchun_party(self, committee: Organisation, rng: random.Random) -> None:
        cname = "满庭春社区"
        community = self.communities[cname]
        big = Organisation.objects.create(
            kind=OrganisationKind.COMMUNITY_COMMITTEE,
            name="满庭春社区大党委",
            parent=committee,
            region=community,
        )
        infos = self.buildings[cname]
        group_of: dict[int, Organisation] = {}
        groups_per_grid = (4, 4, 3)  # 11 building party groups (seed 000)
        branches = []
        for g_index, grid in enumerate(self.grids[cname]):
            branch = Organisation.objects.create(
                kind=OrganisationKind.GRID_BRANCH, name=f"满庭春社区{grid.name}党支部", parent=big, grid=grid
            )
            branches.append(branch)
            in_grid = [i for i in infos if i.grid.pk == grid.pk]
            n_groups = min(groups_per_grid[g_index], len(in_grid))
            for k in range(n_groups):
                part = in_grid[k * len(in_grid) // n_groups : (k + 1) * len(in_grid) // n_groups]
                first, last = part[0], part[-1]
                if first is last:
                    where = f"{first.estate.name}{first.region.name}"
                elif first.estate.pk == last.estate.pk:
                    where = f"{first.estate.name}{first.region.number}—{last.region.number}栋"
                else:
                    where = f"{first.estate.name}{first.region.name}—{last.estate.name}{last.region.name}"
                group = Organisation.objects.create(
                    kind=OrganisationKind.BUILDING_GROUP,
                    name=f"{grid.name}第{k + 1}楼栋党小组（{where}）",
                    parent=branch,
                    region=first.region,
                )
                for info in part:
                    group_of[info.region.pk] = group
        pool = [r for info in infos for r in info.residents]
        building_of = {r.pk: info for info in infos for r in info.residents}
        taken: set[int] = set()
        units = self._co_building_units(community)
        posts = list(self.posts[cname].values())
        members: list[PartyMember] = []

        def member(r: Resident, kind: str, **extra: Any) -> PartyMember:
            m = PartyMember(
                resident=r,
                member_type=kind,
                organisation=group_of[building_of[r.pk].region.pk],
                joined_on=self._joined(self.person_of[r.pk].age),
                **extra,
            )
            members.append(m)
            return m

        # ~400 dual-registered members ("八小时外"): every one holds one of the 10 posts, round robin
        dual = self._pick(pool, self.n(400, 12), taken, (25, 58))
        unit_weights = [u[3] for u in CO_BUILDING_UNITS]
        for i, r in enumerate(dual):
            if rng.random() < 0.78:
                unit = rng.choices(units, weights=unit_weights)[0]
                employer: dict[str, Any] = {"employer": unit, "employer_name": unit.name}
            else:
                employer = {"employer_name": rng.choice(OTHER_EMPLOYERS)}
            reported = dt.date(2018, 3, 1) + dt.timedelta(days=rng.randrange(7 * 365))
            member(
                r,
                MemberType.DUAL_REGISTERED,
                service_post=posts[i % len(posts)],
                reported_in_on=reported,
                **employer,
            )
        for r in self._pick(pool, self.n(150, 6), taken, (28, 82)):
            member(r, MemberType.RESIDENT, service_post=rng.choice(posts) if rng.random() < 0.5 else None)
        for r in self._pick(pool, self.n(25, 2), taken, (78, 95)):
            member(r, MemberType.ELDERLY_FRAIL)
        migrants = [r for r in pool if r.residence_status == ResidenceStatus.MIGRANT]
        for r in self._pick(migrants, self.n(30, 2), taken, (22, 50)):
            member(r, MemberType.MOBILE, service_post=rng.choice(posts) if rng.random() < 0.3 else None)
        PartyMember.objects.bulk_create(members, batch_size=BATCH)
        self.members[cname] = members
        self._senior_talent(members)
        # secretaries: a resident member leads the committee and each branch; a dual-registered member each group
        residents_m = [m for m in members if m.member_type == MemberType.RESIDENT]
        big.secretary = residents_m[0] if residents_m else members[0]
        big.save(update_fields=["secretary"])
        for branch in branches:
            mine = [m for m in residents_m if m.organisation and m.organisation.parent_id == branch.pk]
            if mine:
                branch.secretary = mine[0]
                branch.save(update_fields=["secretary"])
        for group in {g.pk: g for g in group_of.values()}.values():
            mine_all = [m for m in members if m.organisation_id == group.pk]
            leaders = [m for m in mine_all if m.member_type == MemberType.DUAL_REGISTERED] or mine_all
            if not leaders:
                continue
            group.secretary = leaders[0]
            group.save(update_fields=["secretary"])
            # two party household leaders (党员中心户) per group, from its resident members
            for m in [m for m in mine_all if m.member_type == MemberType.RESIDENT][:2]:
                r = m.resident
                Organisation.objects.create(
                    kind=OrganisationKind.HOUSEHOLD_LEADER,
                    name=f"{r.name}党员中心户",
                    parent=group,
                    region=building_of[r.pk].region,
                    secretary=m,
                )

    def _senior_talent(self, members: list[PartyMember]) -> None:
        """Many 五老 are old party members: tag 40% of members over 65 who are not tagged yet."""
        through = Resident.tags.through
        tag = self.tags["senior_talent"]
        links = []
        for m in members:
            p = self.person_of[m.resident.pk]
            if p.age >= 65 and "senior_talent" not in p.tags and self.rng.random() < 0.4:
                p.tags.add("senior_talent")
                links.append(through(resident_id=m.resident.pk, tag_id=tag.pk))
        through.objects.bulk_create(links)

    def _daxin_party(self, committee: Organisation, rng: random.Random) -> None:
        cname = "大新社区"
        community = self.communities[cname]
        branch = Organisation.objects.create(
            kind=OrganisationKind.COMMUNITY_COMMITTEE,
            name="大新社区党支部",
            parent=committee,
            region=community,
        )
        infos = self.buildings[cname]
        posts = list(self.posts[cname].values())
        taken: set[int] = set()
        members: list[PartyMember] = []
        group_of: dict[int, Organisation] = {}
        leaders: dict[int, PartyMember] = {}
        for grid in self.grids[cname]:
            gb = Organisation.objects.create(
                kind=OrganisationKind.GRID_BRANCH, name=f"{grid.name}党支部", parent=branch, grid=grid
            )
            for info in [i for i in infos if i.grid.pk == grid.pk]:
                group_of[info.region.pk] = Organisation.objects.create(
                    kind=OrganisationKind.BUILDING_GROUP,
                    name=f"富丰新城{info.region.name}楼道党小组",
                    parent=gb,
                    region=info.region,
                )
        # 党员楼长: one party member living in each building leads it (seed 001)
        kinds = [MemberType.RESIDENT, MemberType.MOBILE, MemberType.DUAL_REGISTERED]
        for info in infos:
            for r in self._pick(info.residents, 1, taken, (30, 65)):
                m = PartyMember(
                    resident=r,
                    member_type=rng.choice(kinds),
                    organisation=group_of[info.region.pk],
                    joined_on=self._joined(self.person_of[r.pk].age),
                    service_post=rng.choice(posts),
                )
                members.append(m)
                leaders[info.region.pk] = m
        # the rest of the 67 members of the 党员创熟基地: resident, mobile and 机关 (dual-registered) members
        pool = [r for info in infos for r in info.residents]
        building_of = {r.pk: info for info in infos for r in info.residents}
        rest = self.n(67, len(infos) + 3) - len(members)
        for r in self._pick(pool, max(0, rest), taken, (22, 75)):
            kind = rng.choices(kinds, weights=(40, 45, 15))[0]
            members.append(
                PartyMember(
                    resident=r,
                    member_type=kind,
                    organisation=group_of[building_of[r.pk].region.pk],
                    joined_on=self._joined(self.person_of[r.pk].age),
                    employer_name=rng.choice(OTHER_EMPLOYERS) if kind == MemberType.DUAL_REGISTERED else "",
                    service_post=rng.choice(posts) if rng.random() < 0.7 else None,
                )
            )
        PartyMember.objects.bulk_create(members, batch_size=BATCH)
        self.members[cname] = members
        for building_pk, m in leaders.items():
            group = group_of[building_pk]
            group.secretary = m
            group.save(update_fields=["secretary"])
        if members:
            branch.secretary = members[0]
            branch.save(update_fields=["secretary"])

    # ----- units, departments, property ------------------------------------------------------------------
    def _co_building_units(self, community: Region) -> list[CoBuildingUnit]:
        units = []
        for name, kind, on_committee, _weight in CO_BUILDING_UNITS:
            unit = CoBuildingUnit(name=name, kind=kind, committee_member=on_committee)
            unit.liaison_name = self.names.full(self.rng.random() < 0.4)
            set_phone(unit, self.phones.make(), prefix="liaison_phone")
            unit.save()
            unit.communities.add(community)
            units.append(unit)
        return units

    def _units(self) -> None:
        self.departments = {
            short: Department.objects.create(subdistrict=self.subdistrict, name=name, short_name=short)
            for name, short in DEPARTMENTS
        }
        self.property_company = PropertyCompany.objects.create(
            name=PROPERTY_COMPANY, hotline=PROPERTY_HOTLINE, has_party_branch=True
        )
        self.property_company.estates.add(self.estates["满庭春"])
        other = PropertyCompany.objects.create(name=FUFENG_PROPERTY, hotline="400-000-2800")
        other.estates.add(self.estates["富丰新城"])

    # ----- users ------------------------------------------------------------------------------------------
    def _users(self) -> None:
        password = make_password(demo.PASSWORD)  # hashed once (argon2 is slow on purpose)
        mtc_grids = self.grids["满庭春社区"]

        def user(username: str, display: str, staff: bool = True, **extra: Any) -> User:
            return User.objects.create(
                username=username, display_name=display, password=password, is_staff=staff, **extra
            )

        def role(u: User, r: str, **node: Any) -> None:
            RoleAssignment.objects.create(user=u, role=r, **node)

        user("admin", "系统管理员", is_superuser=True)
        role(
            user("jiedao", self.names.full(False) + "（街道）"), "subdistrict_admin", region=self.subdistrict
        )
        role(
            user("mtc", self.names.full(True) + "（满庭春社区）"),
            "community_staff",
            region=self.communities["满庭春社区"],
        )
        role(
            user("daxin", self.names.full(True) + "（大新社区）"),
            "community_staff",
            region=self.communities["大新社区"],
        )
        for i, grid in enumerate(mtc_grids, start=1):
            u = user(f"wangge{i}", self.names.full(i == 2) + f"（{grid.name}）")
            role(u, "grid_worker", grid=grid)
            grid.workers.add(u)
            if i == 1:
                grid.chief = u
                grid.save(update_fields=["chief"])
        fufeng = self.grids["大新社区"][0]
        u = user("fufeng1", self.names.full(True) + "（富丰新城）")
        role(u, "grid_worker", grid=fufeng)
        fufeng.workers.add(u)
        role(
            user("wuye", self.names.full(True) + "（物业）"),
            "property_staff",
            property_company=self.property_company,
        )
        role(
            user("chengguan", self.names.full(False) + "（城管）"),
            "department_liaison",
            department=self.departments["城管"],
        )
        role(
            user("zhujian", self.names.full(False) + "（住建）"),
            "department_liaison",
            department=self.departments["住建"],
        )
        # dangyuan: a dual-registered member of 满庭春社区 on the patrol post, with a phone
        patrol = self.posts["满庭春社区"]["patrol"]
        m = next(
            m
            for m in self.members["满庭春社区"]
            if m.member_type == MemberType.DUAL_REGISTERED
            and m.service_post_id == patrol.pk
            and m.resident.phone_hash
        )
        self._link(user("dangyuan", m.resident.name, staff=False), m.resident, "volunteer")
        # jumin: an ordinary resident of 锦绣江山 with a phone, not a party member, not watched
        party = {m.resident.pk for ms in self.members.values() for m in ms}
        estate = self.estates["锦绣江山"]
        r = next(
            r
            for info in self.buildings["满庭春社区"]
            if info.estate.pk == estate.pk
            for r in info.residents
            if r.phone_hash
            and r.residence_status == ResidenceStatus.REGISTERED
            and r.pk not in party
            and 30 <= self.person_of[r.pk].age <= 55
            and "watched" not in self.person_of[r.pk].tags
        )
        self._link(user("jumin", r.name, staff=False), r, "resident")

    def _link(self, u: User, r: Resident, role_name: str) -> None:
        u.phone_hash, u.phone_masked = r.phone_hash, r.phone_masked
        u.save(update_fields=["phone_hash", "phone_masked"])
        r.user = u
        r.save(update_fields=["user"])
        RoleAssignment.objects.create(user=u, role=role_name)
