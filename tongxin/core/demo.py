"""The demo framework: fixed seed, synthetic names, id numbers and phones, the demo logins, and the hook that
lets every app add its own demo rows.

Everything here is deterministic: the same seed gives the same people. Nothing here is real:

* **Names** are drawn from common surnames and given-name characters.
* **Id numbers** (身份证号) have the region prefix 429004 (仙桃市), a real birth date and a valid GB 11643 checksum,
  but their 3-digit sequence code always starts with ``99`` (``429004YYYYMMDD99gC``). That marks them as demo
  numbers: grep the registry for ``99`` at positions 15–16 to find them.
* **Passports** of foreign residents are ``X99`` + 7 digits.
* **Phones** are ``170xxxxxxxx``, the virtual-operator range, never issued to the numbers generated here.

Each app writes its own demo rows in ``tongxin/<app>/demo.py``; ``manage.py load_demo`` finds these modules by
name (like ``admin.py``), in INSTALLED_APPS order, so this module imports no domain app. A module defines either
or both of:

* ``foundation(ctx: DemoContext) -> None`` — the shared world the other apps build on (places, people, party
  organisation, logins). All foundation steps run in one transaction and draw from **one** seeded rng
  (``ctx.rng``) in INSTALLED_APPS order, so the same seed gives the same world; they hand each other what they
  built through ``ctx.data`` (documented in each step's docstring).
* ``load(rng: random.Random, out) -> None`` — the app's own rows, after the whole foundation, each app in its own
  transaction with its own ``random.Random(seed)``, so one app's draws never shift another's.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models

from tongxin.core.pii import generate_id_number

SEED = 20201104  # the day 仙桃日报 reported on 满庭春社区
PASSWORD = "tongxin2026"
ID_PREFIX = "429004"  # 仙桃市
# Ages are computed against a fixed day so the same seed gives the same birth dates whenever it runs.
REFERENCE_DATE = dt.date(2026, 1, 1)
FAKE_SEQUENCE_PREFIX = 99  # id numbers' sequence code 99x marks them as synthetic
PHONE_PREFIX = "170"
FAKE_PASSPORT_PREFIX = "X99"  # foreign residents' passports: X99 + 7 digits, a format no country issues

AUDIT_TYPE = "demo"  # the audit row written when the foundation is loaded: "already loaded" is its existence

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_CHARS = "伟强军勇杰涛斌明超辉刚平磊鹏飞俊峰建国华志文波宇浩博亮洋兵林东海成龙坤松庆新德昌永锋振"
FEMALE_CHARS = "芳娟敏静丽艳娜霞燕玲婷红梅兰英慧琳颖秀萍雪琴云倩洁佳欣怡瑶丹蓉凤桂珍荣莉月晶璐薇"
NEUTRAL_CHARS = "子思雨晨一可心安嘉逸宁诗梓涵书文新佳若天"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role_zh: str
    role_en: str
    sees: str
    app: str = ""  # the app whose demo.py creates it ("" = the foundation)


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", "系统管理员", "superuser", "全部数据与 Django 后台 /admin/"),
    DemoLogin("jiedao", "街道管理员", "subdistrict admin", "干河街道全部社区、网格、居民、诉求；审计日志"),
    DemoLogin("shiji", "区/市管理员", "district/city admin", "仙桃市看板：各街道三率排名，下钻到街道和社区"),
    DemoLogin("mtc", "社区工作者", "community staff", "满庭春社区（5个小区、3个网格、约3万居民）"),
    DemoLogin("daxin", "社区工作者", "community staff", "大新社区（富丰新城，20栋、约2800户）"),
    DemoLogin(
        "wangge1", "网格员/网格长", "grid worker + chief", "满庭春社区第一网格（满庭春、城西花苑西区）"
    ),
    DemoLogin("wangge2", "网格员", "grid worker", "满庭春社区第二网格（世纪雅园、城西花苑东区）"),
    DemoLogin("wangge3", "网格员", "grid worker", "满庭春社区第三网格（锦绣江山、御景城）"),
    DemoLogin("fufeng1", "网格员", "grid worker", "大新社区富丰新城第一网格（1—10栋）"),
    DemoLogin("wuye", "物业人员", "property staff", "满庭春第一物业服务公司服务的满庭春小区"),
    DemoLogin("chengguan", "部门联络员", "department liaison", "城管（城市管理局）收到的吹哨与转办"),
    DemoLogin("zhujian", "部门联络员", "department liaison", "住建（住房和城乡建设局）收到的吹哨与转办"),
    DemoLogin(
        "dangyuan", "党员/志愿者", "party member, volunteer", "在职党员（双报到），治安巡逻岗；接单、服务时长"
    ),
    DemoLogin("jumin", "居民", "resident", "锦绣江山居民：提诉求、查进度、评价、积分"),
    DemoLogin("loudong", "楼栋长", "building leader", "锦绣江山一栋楼的住户、通知转达与回执", app="notices"),
    DemoLogin(
        "danyuan", "单元长", "entrance leader", "锦绣江山一个单元的住户、通知转达与回执", app="notices"
    ),
    DemoLogin(
        "yezhu", "业主", "owner (resident)", "富丰新城业主：小区议事、附议、本楼表决（手机）", app="assembly"
    ),
)


class NameMaker:
    """Synthetic Chinese names: a weighted common surname and one or two given-name characters."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # The first surnames are the most common: weight them the way a real population is skewed.
        self._surname_weights = [1.0 / (1 + i * 0.15) for i in range(len(SURNAMES))]

    def surname(self) -> str:
        return self.rng.choices(SURNAMES, weights=self._surname_weights)[0]

    def given(self, female: bool) -> str:
        pool = FEMALE_CHARS if female else MALE_CHARS
        if self.rng.random() < 0.25:
            return self.rng.choice(pool)
        first = self.rng.choice(NEUTRAL_CHARS + pool)
        second = self.rng.choice(pool)
        while second == first:  # 国国, 红红: rare in adults' names
            second = self.rng.choice(pool)
        return first + second

    def full(self, female: bool, surname: str | None = None) -> str:
        return (surname or self.surname()) + self.given(female)


class IdNumberMaker:
    """Unique synthetic id numbers: ``429004`` + birth date + ``99`` + gender digit + checksum.

    Only five numbers per (birth date, gender) exist in this scheme; when a day is full the birth date moves
    on by one day, so every number is unique and still valid.
    """

    def __init__(self, prefix: str = ID_PREFIX) -> None:
        self.prefix = prefix
        self._used: dict[tuple[dt.date, bool], int] = {}

    def make(self, birth: dt.date, female: bool) -> tuple[str, dt.date]:
        while True:
            k = self._used.get((birth, female), 0)
            if k < 5 and birth <= REFERENCE_DATE:
                self._used[(birth, female)] = k + 1
                number = generate_id_number(self.prefix, birth, FAKE_SEQUENCE_PREFIX + 100 * k, female)
                return number, birth
            birth = birth + dt.timedelta(days=1) if birth < REFERENCE_DATE else birth - dt.timedelta(days=400)


class PhoneMaker:
    """Unique ``170xxxxxxxx`` numbers: a fixed permutation of a counter (7919 is coprime with 10^8)."""

    def __init__(self) -> None:
        self._n = 0

    def make(self) -> str:
        self._n += 1
        return f"{PHONE_PREFIX}{(self._n * 7919 + 1715) % 10**8:08d}"


def birth_date_for_age(rng: random.Random, age: int) -> dt.date:
    """A birth date giving ``age`` full years on REFERENCE_DATE."""
    start = dt.date(REFERENCE_DATE.year - age - 1, 1, 2)
    return start + dt.timedelta(days=rng.randrange(365))


@dataclass
class DemoContext:
    """What the foundation steps share: the one seeded rng and generators, the scale, the output, and ``data``,
    where each step leaves what later steps need (e.g. regions' ``buildings``; see each ``foundation``)."""

    seed: int
    scale: float
    out: Any
    rng: random.Random = field(init=False)
    names: NameMaker = field(init=False)
    ids: IdNumberMaker = field(init=False)
    phones: PhoneMaker = field(init=False)
    data: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # figures for the audit row and the final message

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.names = NameMaker(self.rng)
        self.ids = IdNumberMaker()
        self.phones = PhoneMaker()

    def n(self, full: int, minimum: int) -> int:
        """``full`` scaled down, but at least ``minimum``."""
        return max(minimum, round(full * self.scale))

    def timed(self, name: str, step: Callable[[], None]) -> None:
        started = time.monotonic()
        step()
        self.out.write(f"  {name}: {time.monotonic() - started:.1f} s")


def _demo_modules() -> Iterator[tuple[str, ModuleType]]:
    for app in settings.INSTALLED_APPS:
        if not app.startswith("tongxin."):
            continue
        try:
            module = importlib.import_module(f"{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name == f"{app}.demo":
                continue
            raise
        yield app, module


def foundation_steps() -> Iterator[tuple[str, Callable[[DemoContext], None]]]:
    """``(app, foundation)`` for every installed tongxin app whose ``demo.py`` defines ``foundation``."""
    for app, module in _demo_modules():
        step = getattr(module, "foundation", None)
        if callable(step):
            yield app, step


def app_demo_modules() -> Iterator[tuple[str, Callable[[random.Random, Any], None]]]:
    """``(app, load)`` for every installed tongxin app whose ``demo.py`` defines ``load``."""
    for app, module in _demo_modules():
        load = getattr(module, "load", None)
        if callable(load):
            yield app, load


# --- fast writes for big demo tables ----------------------------------------------------------------------


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
