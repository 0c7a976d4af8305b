"""Registry import and export (一表): dwellings, households, residents and party members from .xlsx/.csv.

How an import runs (:func:`run_import`):

1. **Read** the first sheet of an .xlsx (openpyxl read-only) or a .csv (UTF-8 with or without BOM, else GB18030,
   the superset of GBK that Chinese Excel writes). Row 1 holds the Chinese column headers; row numbers in error
   reports are the ones the user sees in Excel.
2. **Validate every row** in Python against preloaded lookups (places, tags, choices): id number checksum, birth
   date and region (:func:`tongxin.core.pii.parse_id_number`), phone, dates, unknown estate/building/entrance,
   places outside the importer's scope, duplicates inside the file; then, with a few set-based queries, against
   the registry (a person already registered outside the importer's scope, a household that cannot be found).
3. **Any error** → nothing is written; the job fails with ``errors = [{row, column, message}]`` for every bad row.
4. Otherwise **plan** the changes (re-importing matches residents by id-number hash, dwellings by entrance+number,
   households by dwelling+head; rows that change nothing are counted as unchanged) and **write** them in one
   transaction, set-based: ``bulk_create``/``bulk_update`` in batches on SQLite; on PostgreSQL new rows are
   written with ``COPY`` straight into their tables (a unique violation — someone registered the same row
   meanwhile — rolls everything back) and changes are staged with ``COPY`` into a temporary table and applied
   with ``UPDATE ... FROM``. Primary keys of new dwellings, residents and households are reserved up front (they refer
   to each other), so each table is written once. One ``import`` audit record per job carries the counts.

Places: estates, buildings and entrances must already exist (an unknown one is a row error). A building must
belong to exactly one grid, which a spreadsheet row cannot decide, and letting "3幢" create a building next to
"3栋" would silently split a building and its grid; an entrance is cheap to add in the admin and the same typo
argument applies. Dwellings (房屋) are created by any kind of import, under a known entrance.

Blank optional cells keep what the registry holds (a phone list without tags does not wipe tags).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.core import audit, pii, policy
from tongxin.core.exports import append, csv_row
from tongxin.core.models import AuditLog, ImportJob
from tongxin.people.choices import IdKind, Relation, ResidenceStatus, ResidentStatus
from tongxin.people.models import Household, Membership, Resident, Tag
from tongxin.regions.choices import RegionKind
from tongxin.regions.models import Dwelling, Region
from tongxin.regions.scoping import Scope, scope_for

log = logging.getLogger(__name__)

PROGRESS_EVERY = 5000
LOOKUP_CHUNK = 5000


# --------------------------------------------------------------------------------------------- columns and kinds
@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    example: str = ""


PLACE_COLUMNS = [
    Column("小区", "estate", True, "锦绣江山"),
    Column("楼栋", "building", True, "3栋"),
    Column("单元", "entrance", True, "2单元"),
    Column("房号", "number", True, "501"),
]
DWELLING_EXTRA = [Column("楼层", "floor", False, "5"), Column("建筑面积", "floor_area", False, "89.5")]


@dataclass(frozen=True)
class KindSpec:
    code: str
    label: Any
    columns: list[Column]


KINDS: dict[str, KindSpec] = {
    "dwellings": KindSpec("dwellings", gettext_lazy("房屋"), [*PLACE_COLUMNS, *DWELLING_EXTRA]),
    "households": KindSpec(
        "households",
        gettext_lazy("家庭"),
        [
            *PLACE_COLUMNS,
            Column("户主身份证号", "head_id", True, "429004198001010015"),
            Column("户号", "household_number", False, "H0001"),
            Column("入住日期", "started_on", False, "2020-05-01"),
            *DWELLING_EXTRA,
        ],
    ),
    "residents": KindSpec(
        "residents",
        gettext_lazy("居民"),
        [
            Column("姓名", "name", True, "张三"),
            Column("身份证号", "id_number", True, "429004198001010015"),
            Column("联系电话", "phone", False, "13900000001"),
            Column("人口类型", "residence_status", True, "户籍"),
            Column("标签", "tags", False, "独居老人、残疾人"),
            *PLACE_COLUMNS,
            Column("与户主关系", "relation", True, "户主"),
            Column("户主身份证号", "head_id", False, ""),
            Column("户号", "household_number", False, ""),
            *DWELLING_EXTRA,
            Column("特长", "skills", False, ""),
        ],
    ),
    "party_members": KindSpec(
        "party_members",
        gettext_lazy("党员"),
        [
            Column("身份证号", "id_number", True, "429004198001010015"),
            Column("党员类型", "member_type", True, "在职党员"),
            Column("所在组织", "organisation", False, ""),
            Column("工作单位", "employer", False, "仙桃市住房和城乡建设局"),
            Column("服务岗位", "service_post", False, "治安巡逻"),
            Column("入党日期", "joined_on", False, "2001-07-01"),
            Column("报到日期", "reported_in_on", False, "2023-03-15"),
        ],
    ),
}


# Import kinds other apps add (notices: the leaders on places), so people never imports them:
# ``IMPORTERS[code](ctx, table, index)`` returns the writer like the functions below.
IMPORTERS: dict[str, Callable[..., Callable[[Writer], None]]] = {}


@dataclass(frozen=True)
class RosterColumns:
    """Extra roster columns another app adds: ``values(dwellings)`` → ``{dwelling_id: [value per header]}``."""

    headers: list[str]
    values: Callable[[list[Dwelling]], dict[int, list[Any]]]


ROSTER_EXTRA: list[RosterColumns] = []


def kind_choices() -> list[tuple[str, Any]]:
    return [(k.code, k.label) for k in KINDS.values()]


def may_import(user: Any) -> bool:
    return policy.can(user, "people.import")


# --------------------------------------------------------------------------------------------------- errors
class ImportFailed(Exception):
    """The file cannot be read at all (wrong format, missing columns): reported like row errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "")
        self.errors = errors


class RegistryChanged(Exception):
    """Someone else wrote the same rows between validation and writing; the whole import is rolled back."""


class Errors:
    """Row errors in the order the user reads them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.rows: set[int] = set()

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})
        self.rows.add(row)

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda e: e["row"])


# ------------------------------------------------------------------------------------------------- reading
def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) first; otherwise GB18030, which reads everything GBK/GB2312 Excel writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFailed(
            [{"row": 0, "column": "", "message": _("无法识别文件编码，请另存为UTF-8或GBK编码的CSV")}]
        ) from None


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    total: int


def read_table(source: bytes | str | Path, filename: str) -> Table:
    """The first sheet as (Excel row number, cell texts); blank rows are skipped but keep their numbers."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(source)
    if suffix == ".csv":
        data = Path(source).read_bytes() if isinstance(source, str | Path) else source
        text = decode_csv(data)
        lines = list(csv.reader(io.StringIO(text)))
        if not lines:
            raise ImportFailed([{"row": 1, "column": "", "message": _("文件是空的")}])
        body = lines[1:]
        return Table([_cell(h) for h in lines[0]], _numbered((_strip_all(r) for r in body), 2), len(body))
    raise ImportFailed([{"row": 0, "column": "", "message": _("只支持 .xlsx 和 .csv 文件")}])


def _strip_all(r: list[str]) -> list[str]:
    return [c.strip() for c in r]


def _numbered(rows: Any, start: int) -> Iterator[tuple[int, list[str]]]:
    for n, r in enumerate(rows, start):
        if any(r):
            yield n, r


def _read_xlsx(source: bytes | str | Path) -> Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True, data_only=True
        )
    except Exception:
        raise ImportFailed(
            [{"row": 0, "column": "", "message": _("无法读取Excel文件，请确认是 .xlsx 格式")}]
        ) from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [_cell(v) for v in next(it)]
    except StopIteration:
        raise ImportFailed([{"row": 1, "column": "", "message": _("文件是空的")}]) from None
    total = max((ws.max_row or 1) - 1, 0)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from _numbered(([_cell(v) for v in r] for r in it), 2)
        finally:
            wb.close()

    return Table(header, rows(), total)


HEADER_NOISE = re.compile(r"[\s*＊]|[（(]必填[)）]")


def map_header(spec: KindSpec, header: list[str]) -> dict[str, int]:
    """Column key → index; a missing required column is an error on row 1."""
    wanted = {c.header: c for c in spec.columns}
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        col = wanted.get(HEADER_NOISE.sub("", h))
        if col is not None and col.key not in index:
            index[col.key] = i
    missing = [c.header for c in spec.columns if c.required and c.key not in index]
    if missing:
        raise ImportFailed(
            [{"row": 1, "column": m, "message": _("缺少必填列“%(c)s”") % {"c": m}} for m in missing]
        )
    return index


# ------------------------------------------------------------------------------------------- value parsing
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?$")
SPLIT_RE = re.compile(r"[,，、;；\s]+")


def parse_date(text: str) -> dt.date:
    m = DATE_RE.match(text)
    if m is None and len(text) == 8 and text.isdigit():
        m = re.match(r"(\d{4})(\d{2})(\d{2})", text)
    if m is None:
        raise ValueError(_("日期%(d)s格式不正确，应为 2024-01-31") % {"d": text})
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError(_("日期%(d)s不存在") % {"d": text}) from None


def _label_map(choices: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Chinese labels, English labels and codes → code."""
    out: dict[str, str] = {}
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            for value, label in choices.choices:
                out[str(label).strip().lower()] = value
    for value in choices.values:
        out[value] = value
    out.update(extra or {})
    return out


# ----------------------------------------------------------------------------------------------- places
Place = tuple[int, int, int, int, int, int]  # subdistrict, community, estate, building, entrance, grid
BUILDING_SUFFIX = re.compile(r"(栋|幢|号楼|号|楼|座)$")
ENTRANCE_SUFFIX = re.compile(r"(单元|门|号)$")


class Places:
    """Estates, buildings and entrances by the names people type, with the importer's scope."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.estates: dict[str, list[int]] = {}
        for pk, name in Region.objects.filter(kind=RegionKind.ESTATE).values_list("pk", "name"):
            self.estates.setdefault(name, []).append(pk)
            self.estates.setdefault(name.removesuffix("小区"), []).append(pk)
        self.allowed = set(
            Region.objects.filter(kind=RegionKind.ESTATE)
            .filter(scope.region_q())
            .values_list("pk", flat=True)
        )
        self.buildings: dict[tuple[int, str], int] = {}
        for pk, parent, name, number in Region.objects.filter(
            kind=RegionKind.BUILDING, parent_id__in=self.allowed
        ).values_list("pk", "parent_id", "name", "number"):
            for key in (name, number, BUILDING_SUFFIX.sub("", name)):
                if key:
                    self.buildings.setdefault((parent, key), pk)
        self.entrances: dict[tuple[int, str], Place] = {}
        for pk, parent, name, number, path, grid in Region.objects.filter(
            kind=RegionKind.ENTRANCE, parent_id__in=set(self.buildings.values())
        ).values_list("pk", "parent_id", "name", "number", "path", "grid_id"):
            ids = [int(p) for p in path.strip("/").split("/")]  # whatever lies above the subdistrict
            place: Place = (ids[-5], ids[-4], ids[-3], ids[-2], pk, grid)
            for key in (name, number, ENTRANCE_SUFFIX.sub("", name)):
                if key:
                    self.entrances.setdefault((parent, key), place)
        self._cache: dict[tuple[str, str, str], Place | tuple[str, str]] = {}

    def resolve(self, estate: str, building: str, entrance: str) -> Place | tuple[str, str]:
        """The place, or ``(column, message)`` saying what is wrong."""
        key = (estate, building, entrance)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._resolve(estate, building, entrance)
        return hit

    def _resolve(self, estate: str, building: str, entrance: str) -> Place | tuple[str, str]:
        candidates = self.estates.get(estate) or self.estates.get(estate.removesuffix("小区")) or []
        if not candidates:
            return "小区", _("小区“%(e)s”不存在") % {"e": estate}
        mine = [e for e in candidates if e in self.allowed]
        if not mine:
            return "小区", _("小区“%(e)s”不在您的管辖范围内") % {"e": estate}
        if len(set(mine)) > 1:
            return "小区", _("有多个名为“%(e)s”的小区，请联系管理员") % {"e": estate}
        estate_id = mine[0]
        building_id = self.buildings.get((estate_id, building)) or self.buildings.get(
            (estate_id, BUILDING_SUFFIX.sub("", building))
        )
        if building_id is None:
            return "楼栋", _("%(e)s没有楼栋“%(b)s”") % {"e": estate, "b": building}
        place = self.entrances.get((building_id, entrance)) or self.entrances.get(
            (building_id, ENTRANCE_SUFFIX.sub("", entrance))
        )
        if place is None:
            return "单元", _("%(e)s%(b)s没有单元“%(u)s”") % {"e": estate, "b": building, "u": entrance}
        return place


# ------------------------------------------------------------------------------------------------- writer
class Writer:
    """Set-based writes: bulk_create/bulk_update in batches on SQLite; COPY + INSERT/UPDATE from a temp table
    on PostgreSQL. Must be used inside ``transaction.atomic``."""

    BATCH = 2000

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.qn = connection.ops.quote_name
        self.timings: dict[str, float] = {}  # seconds per table and operation, for the benchmarks
        # PostgreSQL: may this role turn off the per-row foreign-key triggers for the COPYs (None: not asked yet)?
        self._set_based_keys: bool | None = None
        self._copied: dict[
            str, tuple[type[models.Model], int]
        ] = {}  # table → (model, largest id before COPY)

    def _took(self, what: str, started: float) -> None:
        self.timings[what] = self.timings.get(what, 0.0) + time.perf_counter() - started

    def allocate(self, model: type[models.Model], n: int) -> list[int]:
        """Reserve ``n`` primary keys so rows that refer to each other can be written in one pass."""
        if n == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cur:
            if self.pg:
                cur.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
                )
                return [r[0] for r in cur.fetchall()]
            # SQLite: the write lock is held (BEGIN IMMEDIATE), so nobody else can take these numbers.
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.qn(table)}")
            top = cur.fetchone()[0]
            cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cur.fetchone()
            start = max(top, row[0] if row else 0) + 1
            return list(range(start, start + n))

    def insert(self, model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> None:
        """Write new rows (a list, or an iterator the COPY consumes as it streams)."""
        if isinstance(rows, list) and not rows:
            return
        started = time.perf_counter()
        try:
            self._insert(model, columns, rows)
        finally:
            self._took(f"insert {model._meta.db_table}", started)

    def _insert(self, model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> None:
        if not self.pg:
            objs = [model(**dict(zip(columns, r, strict=True))) for r in rows]
            model._default_manager.bulk_create(objs, batch_size=self.BATCH)
            return
        # Straight into the table with COPY: the rows are new (keys reserved by ``allocate`` or checked against
        # the registry during validation). Should someone have registered the same person, flat or membership
        # meanwhile, the unique index refuses the COPY and the whole import rolls back (was: a staging table and
        # INSERT … ON CONFLICT DO NOTHING, one more pass over every row; docs/bench/import.md).
        import psycopg

        table = model._meta.db_table
        cols = ", ".join(self.qn(c) for c in columns)
        with connection.cursor() as cur:
            set_based = self._keys_set_based(cur)
            if set_based and table not in self._copied:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.qn(table)}")
                self._copied[table] = (model, cur.fetchone()[0])
            try:
                with cur.cursor.copy(f"COPY {self.qn(table)} ({cols}) FROM STDIN") as copy:
                    write = copy.write_row
                    for r in rows:
                        write(r)
            except psycopg.errors.UniqueViolation as e:
                raise RegistryChanged(
                    table
                ) from e  # the transaction is aborted: the rollback resets the role
            if set_based:
                cur.execute("SET LOCAL session_replication_role = origin")

    def _keys_set_based(self, cur: Any) -> bool:
        """Turn off the per-row foreign-key triggers for the next COPY, if this database role may.

        Every foreign key of a COPYed row is otherwise checked by its own trigger at commit: 6.7 M single-row
        ``SELECT … FOR KEY SHARE`` for 1 M residents, half the import (docs/bench/import.md). With
        ``session_replication_role = replica`` (superuser, or ``GRANT SET ON PARAMETER session_replication_role``)
        the COPY queues no trigger events and :meth:`check_foreign_keys` checks the same keys with one anti-join
        per key before the commit. Updates keep their triggers: the role is set back right after each COPY."""
        if self._set_based_keys is None:
            try:
                with transaction.atomic():  # a savepoint: a refused SET must not abort the import
                    cur.execute("SET LOCAL session_replication_role = replica")
                self._set_based_keys = True
            except DatabaseError:
                self._set_based_keys = False
            return self._set_based_keys
        if self._set_based_keys:
            cur.execute("SET LOCAL session_replication_role = replica")
        return self._set_based_keys

    def check_foreign_keys(self) -> None:
        """The foreign keys of the rows COPYed without triggers, checked set-based: one anti-join per key finds
        a reference to a missing row, then the referenced rows that existed before the import are locked
        ``FOR KEY SHARE`` exactly as the triggers would have, so nobody can delete them before the commit.
        A missing row means someone deleted a place or person meanwhile: :class:`RegistryChanged`."""
        if not self._copied:
            return
        started = time.perf_counter()
        qn = self.qn
        with connection.cursor() as cur:
            for table, (model, lower) in self._copied.items():
                for field in model._meta.concrete_fields:
                    if not isinstance(field, models.ForeignKey) or not getattr(field, "db_constraint", True):
                        continue
                    target = field.target_field
                    ref = target.model._meta.db_table
                    col, ref_col = qn(str(field.column)), qn(str(target.column))
                    cur.execute(
                        f"SELECT t.id FROM {qn(table)} t LEFT JOIN {qn(ref)} r ON r.{ref_col} = t.{col} "
                        f"WHERE t.id > %s AND t.{col} IS NOT NULL AND r.{ref_col} IS NULL LIMIT 1",
                        [lower],
                    )
                    if cur.fetchone() is not None:
                        raise RegistryChanged(f"{table}.{field.column}")
                    # rows this import wrote itself are invisible to everyone else until the commit
                    fresh = f" AND r.{ref_col} <= %s" if ref in self._copied else ""
                    params = [lower] + ([self._copied[ref][1]] if ref in self._copied else [])
                    cur.execute(
                        f"SELECT count(*) FROM (SELECT 1 FROM {qn(ref)} r WHERE r.{ref_col} IN "
                        f"(SELECT t.{col} FROM {qn(table)} t WHERE t.id > %s){fresh} FOR KEY SHARE OF r) AS k",
                        params,
                    )
        self._took("check foreign keys", started)

    def update(self, model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
        """``rows`` are ``(pk, *values)`` in the order of ``columns``."""
        if not rows:
            return
        started = time.perf_counter()
        try:
            self._update(model, columns, rows)
        finally:
            self._took(f"update {model._meta.db_table}", started)

    def _update(self, model: type[models.Model], columns: list[str], rows: list[tuple]) -> None:
        if not self.pg:
            objs = []
            for r in rows:
                obj = model(pk=r[0])
                for c, v in zip(columns, r[1:], strict=True):
                    setattr(obj, c, v)
                objs.append(obj)
            model._default_manager.bulk_update(objs, columns, batch_size=500)
            return
        table = model._meta.db_table
        sets = ", ".join(f"{self.qn(c)} = s.{self.qn(c)}" for c in columns)
        with connection.cursor() as cur:
            tmp = self._stage(cur, table, ["id", *columns], rows)
            cur.execute(f"UPDATE {self.qn(table)} AS t SET {sets} FROM {tmp} AS s WHERE t.id = s.id")
            cur.execute(f"DROP TABLE {tmp}")

    def delete_where_in(self, model: type[models.Model], column: str, values: list[int]) -> None:
        for i in range(0, len(values), LOOKUP_CHUNK):
            model._default_manager.filter(**{f"{column}__in": values[i : i + LOOKUP_CHUNK]})._raw_delete(
                connection.alias
            )

    def _stage(self, cur: Any, table: str, columns: list[str], rows: list[tuple]) -> str:
        tmp = self.qn(f"_import_{table}")
        cols = ", ".join(self.qn(c) for c in columns)
        cur.execute(
            f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {cols} FROM {self.qn(table)} WITH NO DATA"
        )
        with cur.cursor.copy(f"COPY {tmp} ({cols}) FROM STDIN") as copy:
            write = copy.write_row
            for r in rows:
                write(r)
        return tmp


def _where_in(qs: models.QuerySet, field: str, values: list[Any]) -> Iterator[Any]:
    """``qs.filter(field__in=values)`` in chunks. On PostgreSQL one array parameter (``= ANY(%s)``) per 100,000
    values: a 5,000-placeholder IN list costs more to build and parse than the lookup itself."""
    if connection.vendor != "postgresql":
        for chunk in _chunks(values):
            yield from qs.filter(**{f"{field}__in": chunk})
        return
    column = qs.model._meta.get_field(field).column
    where = (
        f"{connection.ops.quote_name(qs.model._meta.db_table)}.{connection.ops.quote_name(column)} = ANY(%s)"
    )
    for chunk in _chunks(values, 100_000):
        yield from qs.extra(where=[where], params=[chunk])


def _chunks(values: list[Any], size: int = LOOKUP_CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


# ------------------------------------------------------------------------------------------------ context
class Context:
    """What one import needs besides the rows: the importer, their scope, places, progress."""

    def __init__(self, job: ImportJob, total: int) -> None:
        self.job = job
        self.user = job.created_by
        self.scope = scope_for(self.user)
        self.places = Places(self.scope)
        self.errors = Errors()
        self.total = total
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.counts: dict[str, int] = {}

    def progress(self, n: int) -> None:
        if n % PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=self.job.pk).update(processed_rows=n, total_rows=max(self.total, n))

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("“%(v)s”不是数字") % {"v": text}) from None
    if not (Decimal(0) < value < Decimal(100000)):
        raise ValueError(_("建筑面积%(v)s不合理") % {"v": text})
    return value.quantize(Decimal("0.01"))


class DwellingSpec:
    """A dwelling as the file describes it; ``floor``/``area`` None means 'not given'."""

    __slots__ = ("area", "floor", "number", "place", "row")

    def __init__(self, place: Place, number: str, floor: int | None, area: Decimal | None, row: int) -> None:
        self.place, self.number, self.floor, self.area, self.row = place, number, floor, area, row


def _read_dwelling(
    ctx: Context, n: int, get: Callable[[str], str], seen: dict[tuple[int, str], DwellingSpec]
):
    """Validate the place columns of one row; returns the dwelling spec (shared by rows of one flat) or None."""
    estate, building, entrance, number = get("estate"), get("building"), get("entrance"), get("number")
    ok = True
    for _key, header, value in (
        ("estate", "小区", estate),
        ("building", "楼栋", building),
        ("entrance", "单元", entrance),
        ("number", "房号", number),
    ):
        if not value:
            ctx.errors.add(n, header, _("%(c)s不能为空") % {"c": header})
            ok = False
    if len(number) > 20:
        ctx.errors.add(n, "房号", _("房号太长"))
        ok = False
    floor = area = None
    text = get("floor")
    if text:
        try:
            floor = int(text)
            if not -10 <= floor <= 200:
                raise ValueError
        except ValueError:
            ctx.errors.add(n, "楼层", _("楼层“%(v)s”应为整数") % {"v": text})
            ok = False
    text = get("floor_area")
    if text:
        try:
            area = _decimal(text)
        except ValueError as e:
            ctx.errors.add(n, "建筑面积", str(e))
            ok = False
    if not ok:
        return None
    place = ctx.places.resolve(estate, building, entrance)
    if len(place) == 2:
        ctx.errors.add(n, place[0], place[1])  # type: ignore[misc]
        return None
    key = (place[4], number)  # type: ignore[misc]
    spec = seen.get(key)
    if spec is None:
        spec = seen[key] = DwellingSpec(place, number, floor, area, n)  # type: ignore[arg-type]
        return spec
    if floor is not None:
        if spec.floor is not None and spec.floor != floor:
            ctx.errors.add(n, "楼层", _("与第%(r)d行同一房屋的楼层不一致") % {"r": spec.row})
            return None
        spec.floor = floor
    if area is not None:
        if spec.area is not None and spec.area != area:
            ctx.errors.add(n, "建筑面积", _("与第%(r)d行同一房屋的建筑面积不一致") % {"r": spec.row})
            return None
        spec.area = area
    return spec


class DwellingPlan:
    """Existing dwellings for the entrances in the file; new ones get reserved ids."""

    def __init__(self, specs: dict[tuple[int, str], DwellingSpec]) -> None:
        self.specs = specs
        self.ids: dict[tuple[int, str], int] = {}
        self.existing: dict[tuple[int, str], tuple[int, int | None, Decimal | None]] = {}
        entrances = sorted({k[0] for k in specs})
        qs = Dwelling.objects.values_list("pk", "entrance_id", "number", "floor", "floor_area")
        for pk, ent, number, floor, area in _where_in(qs, "entrance_id", entrances):
            if (ent, number) in specs:
                self.existing[(ent, number)] = (pk, floor, area)
                self.ids[(ent, number)] = pk
        self.changed: set[tuple[int, str]] = set()

    def write(self, ctx: Context, writer: Writer) -> None:
        new = [k for k in self.specs if k not in self.existing]
        ids = writer.allocate(Dwelling, len(new))
        rows = []
        for key, pk in zip(new, ids, strict=True):
            s = self.specs[key]
            self.ids[key] = pk
            sub, com, est, bld, ent, grid = s.place
            rows.append((pk, ent, bld, est, com, sub, grid, s.number, s.floor, s.area))
        writer.insert(
            Dwelling,
            [
                "id",
                "entrance_id",
                "building_id",
                "estate_id",
                "community_id",
                "subdistrict_id",
                "grid_id",
                "number",
                "floor",
                "floor_area",
            ],
            rows,
        )
        updates = []
        for key, (pk, floor, area) in self.existing.items():
            s = self.specs[key]
            new_floor = s.floor if s.floor is not None else floor
            new_area = s.area if s.area is not None else area
            if (new_floor, new_area) != (floor, area):
                updates.append((pk, new_floor, new_area))
                self.changed.add(key)
        writer.update(Dwelling, ["floor", "floor_area"], updates)
        ctx.count("dwellings_created", len(rows))
        ctx.count("dwellings_updated", len(updates))


# ---------------------------------------------------------------------------------------------- dwellings
def import_dwellings(ctx: Context, table: Table, index: dict[str, int]) -> Callable[[Writer], None]:
    specs: dict[tuple[int, str], DwellingSpec] = {}
    row_keys: list[tuple[int, str]] = []
    first_row: dict[tuple[int, str], int] = {}
    n = 0
    for n, (row, get) in enumerate(_rows(table, index), 1):
        ctx.progress(n)
        before = len(specs)
        spec = _read_dwelling(ctx, row, get, specs)
        if spec is None:
            continue
        key = (spec.place[4], spec.number)
        if len(specs) == before:  # the same flat twice in a dwellings file is a mistake, not an update
            ctx.errors.add(row, "房号", _("与第%(r)d行重复") % {"r": first_row[key]})
            continue
        first_row[key] = row
        row_keys.append(key)
    ctx.total = n
    if ctx.errors:
        return lambda w: None
    plan = DwellingPlan(specs)

    def write(writer: Writer) -> None:
        plan.write(ctx, writer)
        ctx.count("created", ctx.counts.get("dwellings_created", 0))
        ctx.count("updated", ctx.counts.get("dwellings_updated", 0))

    return write


def _rows(table: Table, index: dict[str, int]) -> Iterator[tuple[int, Callable[[str], str]]]:
    for row, values in table.rows:
        yield row, _getter(values, index)


def _getter(values: list[str], index: dict[str, int]) -> Callable[[str], str]:
    size = len(values)

    def get(key: str) -> str:
        i = index.get(key)
        return values[i] if i is not None and i < size else ""

    return get


# ----------------------------------------------------------------------------------------------- residents
_ID_CARD, _REGISTERED, _HEAD = IdKind.ID_CARD.value, ResidenceStatus.REGISTERED.value, Relation.HEAD.value


class PersonRow:
    """One resident row (or one household row: an existing person placed as head, ``personal=False``)."""

    __slots__ = (
        "birth",
        "dwelling",
        "gender",
        "head_hash",
        "household_number",
        "id_hash",
        "id_kind",
        "name",
        "number",
        "personal",
        "phone",
        "phone_hash",
        "relation",
        "residence_status",
        "row",
        "skills",
        "started_on",
        "tags",
    )

    def __init__(self, row: int) -> None:
        self.row = row
        self.personal = True
        self.name = self.number = self.id_hash = self.gender = self.phone = self.phone_hash = ""
        self.id_kind = _ID_CARD
        self.birth: dt.date | None = None
        self.residence_status = _REGISTERED
        self.tags: tuple[int, ...] | None = None
        self.dwelling: DwellingSpec | None = None
        self.relation = _HEAD
        self.head_hash = ""
        self.household_number = ""
        self.skills = ""
        self.started_on: dt.date | None = None


RESIDENCE_EXTRA = {"户籍": "registered", "流动": "migrant", "境外": "foreign", "外籍": "foreign"}
RELATION_EXTRA = {"本人": "head", "妻": "spouse", "夫": "spouse", "妻子": "spouse", "丈夫": "spouse", "子": "child",
                  "女": "child", "儿子": "child", "女儿": "child", "父亲": "parent", "母亲": "parent"}  # fmt: skip


def _flat(p: PersonRow) -> tuple[int, str]:
    assert p.dwelling is not None
    return p.dwelling.place[4], p.dwelling.number


class Existing:
    """Registry rows for the people in the file, fetched in chunks by id-number hash."""

    FIELDS = (
        "pk",
        "id_number_hash",
        "name",
        "id_kind",
        "phone_enc",
        "phone_hash",
        "phone_masked",
        "phone_last4",
        "residence_status",
        "status",
        "dwelling_id",
        "dwelling__estate_id",
        "household_id",
        "relation",
        "skills",
    )

    def __init__(self, hashes: list[str]) -> None:
        self.by_hash: dict[str, tuple] = {}
        for r in _where_in(Resident.objects.values_list(*self.FIELDS), "id_number_hash", hashes):
            self.by_hash[r[1]] = r
        self.tags: dict[int, set[int]] = {}
        # resident → (membership id, household, relation)
        self.membership: dict[int, tuple[int, int, str]] = {}
        ids = sorted(r[0] for r in self.by_hash.values())
        through = Resident.tags.through
        for rid, tid in _where_in(through.objects.values_list("resident_id", "tag_id"), "resident_id", ids):
            self.tags.setdefault(rid, set()).add(tid)
        current = Membership.objects.filter(moved_out_on__isnull=True)
        for mid, rid, hid, rel in _where_in(
            current.values_list("pk", "resident_id", "household_id", "relation"), "resident_id", ids
        ):
            self.membership[rid] = (mid, hid, rel)


# The id number's checksum and keyed hash and the phone's are pure functions of the row and most of the
# validation's CPU. On a large file a forked child computes them for the last half of the rows while this process
# validates the first half (the database is idle meanwhile, so the machine's second core is free). A larger share
# made this process wait for the child at the split (docs/bench/import.md).
PRECHECK_SHARE = 0.5


def _prechecked(
    items: list[tuple[int, list[str]]], index: dict[str, int], personal: bool, today: dt.date
) -> list[tuple[Any, Any]]:
    """For each row: (id number, birth ordinal, gender, id hash) or the error message, or None when the main loop
    decides (no id, a passport); (phone, phone hash) or the error message, or None (no phone)."""
    out: list[tuple[Any, Any]] = []
    key = "id_number" if personal else "head_id"
    for _row, values in items:
        get = _getter(values, index)
        raw_id = get(key)
        checked: Any = None
        if raw_id[:1].isdigit():
            try:
                info = pii.parse_id_number(raw_id, today)
            except pii.PIIError as e:
                checked = str(e)
            else:
                checked = (
                    info.number,
                    info.birth_date.toordinal(),
                    info.gender,
                    pii.lookup_hash(info.number),
                )
        phone: Any = None
        text = get("phone") if personal else ""
        if text:
            try:
                number = pii.normalise_phone(text)
            except pii.PIIError as e:
                phone = str(e)
            else:
                phone = (number, pii.lookup_hash(number))
        out.append((checked, phone))
    return out


def _precheck_child(send: Any, *args: Any) -> None:
    try:
        send.send(_prechecked(*args))
    finally:
        send.close()


class _Precheck:
    """The pre-check of rows ``start:`` running in a forked child (it inherits the rows; only its results are
    pickled back). :meth:`results` is None if the child failed: the main loop then checks those rows itself."""

    def __init__(
        self,
        items: list[tuple[int, list[str]]],
        start: int,
        index: dict[str, int],
        personal: bool,
        today: Any,
    ) -> None:
        import multiprocessing

        mp = multiprocessing.get_context("fork")
        self._recv, send = mp.Pipe(duplex=False)
        self._proc = mp.Process(
            target=_precheck_child, args=(send, items[start:], index, personal, today), daemon=True
        )
        self._proc.start()
        send.close()

    def results(self) -> list[tuple[Any, Any]] | None:
        try:
            out: list[tuple[Any, Any]] | None = self._recv.recv()
        except (EOFError, OSError):
            log.warning("import pre-check child failed; checking its rows in the main process")
            out = None
        self._recv.close()
        self._proc.join()
        return out


def _precheck_start(n: int) -> int | None:
    """Where the forked pre-check starts, or None to check every row here (small files, or switched off)."""
    threshold = int(getattr(settings, "IMPORT_PARALLEL_MIN_ROWS", 100_000) or 0)
    if threshold <= 0 or n < threshold or os.name != "posix":
        return None
    return n - int(n * PRECHECK_SHARE)


def _validate_people_rows(
    ctx: Context, table: Table, index: dict[str, int], personal: bool
) -> tuple[list[PersonRow], dict[tuple[int, str], DwellingSpec], set[tuple[int, str]]]:
    tag_by_name: dict[str, int] = {}
    for pk, code, name in Tag.objects.values_list("pk", "code", "name"):
        tag_by_name[name] = tag_by_name[code] = pk
        tag_by_name[name.split(":")[-1]] = pk  # "高血压" for "慢病:高血压"
    statuses = _label_map(ResidenceStatus, RESIDENCE_EXTRA)
    relations = _label_map(Relation, RELATION_EXTRA)
    tag_cache: dict[str, tuple[int, ...] | str] = {}
    specs: dict[tuple[int, str], DwellingSpec] = {}
    seen: dict[str, int] = {}
    out: list[PersonRow] = []
    bad_flats: set[tuple[int, str]] = set()  # flats with a rejected row: their household checks would mislead
    err = ctx.errors.add
    today = ctx.today
    # plain strings: a Django enum member's attribute lookup in the loop cost ~1 µs a row
    foreign, head_relation, passport = (
        ResidenceStatus.FOREIGN.value,
        Relation.HEAD.value,
        IdKind.PASSPORT.value,
    )
    items = list(table.rows)
    start = _precheck_start(len(items))
    precheck = _Precheck(items, start, index, personal, today) if start is not None else None
    pre: list[tuple[Any, Any]] | None = None
    n = 0
    for n, (row, values) in enumerate(items, 1):
        if n % PROGRESS_EVERY == 0:
            ctx.progress(n)
        get = _getter(values, index)
        if precheck is not None and n - 1 == start:
            pre, precheck = precheck.results(), None
        checked, phone_checked = pre[n - 1 - start] if pre is not None and start is not None else (None, None)
        p = PersonRow(row)
        bad = False
        # id number first: everything else is keyed on it
        id_col = "身份证号" if personal else "户主身份证号"
        raw_id = get("id_number") if personal else get("head_id")
        if personal:
            p.name = get("name")
            if not p.name:
                err(row, "姓名", _("姓名不能为空"))
                bad = True
            elif len(p.name) > 50:
                err(row, "姓名", _("姓名太长"))
                bad = True
            text = get("residence_status")
            status = statuses.get(text.lower()) if text else None
            if status is None:
                err(row, "人口类型", _("人口类型“%(v)s”无效，应为 户籍、流动 或 境外") % {"v": text})
                bad = True
            else:
                p.residence_status = status
        if not raw_id:
            err(row, id_col, _("%(c)s不能为空") % {"c": id_col})
            bad = True
        elif personal and p.residence_status == foreign and not raw_id[:1].isdigit():
            number = raw_id.strip().upper()
            if not re.fullmatch(r"[A-Z0-9]{5,30}", number):
                err(row, id_col, _("证件号码“%(v)s”格式不正确") % {"v": pii.mask(number)})
                bad = True
            p.number, p.id_kind = number, passport
        elif checked is not None:  # checked by the forked child
            if isinstance(checked, str):
                err(row, id_col, checked)
                bad = True
            else:
                p.number, birth, p.gender, p.id_hash = checked
                p.birth = dt.date.fromordinal(birth)
        else:
            try:
                info = pii.parse_id_number(raw_id, today)
                p.number, p.birth, p.gender = info.number, info.birth_date, info.gender
            except pii.PIIError as e:
                err(row, id_col, str(e))
                bad = True
        if p.number:
            if not p.id_hash:
                p.id_hash = pii.lookup_hash(p.number)
            first = seen.get(p.id_hash)
            if first is not None:
                err(row, id_col, _("与第%(r)d行的身份证号重复") % {"r": first})
                bad = True
            else:
                seen[p.id_hash] = row
        if personal:
            text = get("phone")
            if isinstance(phone_checked, str):
                err(row, "联系电话", phone_checked)
                bad = True
            elif phone_checked is not None:
                p.phone, p.phone_hash = phone_checked
            elif text:
                try:
                    p.phone = pii.normalise_phone(text)
                    p.phone_hash = pii.lookup_hash(p.phone)
                except pii.PIIError as e:
                    err(row, "联系电话", str(e))
                    bad = True
            text = get("tags")
            if text:
                tags = tag_cache.get(text)
                if tags is None:
                    names = [t for t in SPLIT_RE.split(text) if t]
                    unknown = [t for t in names if t not in tag_by_name]
                    tags = tag_cache[text] = (
                        "、".join(unknown) if unknown else tuple(sorted({tag_by_name[t] for t in names}))
                    )
                if isinstance(tags, str):
                    err(row, "标签", _("未知标签：%(t)s") % {"t": tags})
                    bad = True
                else:
                    p.tags = tags
            text = get("relation")
            rel = relations.get(text.lower()) if text else None
            if rel is None:
                err(row, "与户主关系", _("与户主关系“%(v)s”无效") % {"v": text})
                bad = True
            else:
                p.relation = rel
            head = get("head_id")
            if head:
                try:
                    head_hash = pii.lookup_hash(pii.parse_id_number(head, today).number)
                except pii.PIIError as e:
                    err(row, "户主身份证号", str(e))
                    bad = True
                else:
                    if rel == head_relation and head_hash != p.id_hash:
                        err(row, "户主身份证号", _("本人是户主时，户主身份证号应为本人或留空"))
                        bad = True
                    p.head_hash = head_hash
            p.skills = get("skills")[:200]
        else:
            text = get("started_on")
            if text:
                try:
                    p.started_on = parse_date(text)
                except ValueError as e:
                    err(row, "入住日期", str(e))
                    bad = True
        p.household_number = get("household_number")[:30]
        if p.relation == head_relation:
            p.head_hash = p.id_hash
        spec = _read_dwelling(ctx, row, get, specs)
        if spec is not None and bad:
            bad_flats.add((spec.place[4], spec.number))
        if spec is None or bad:
            continue
        p.dwelling = spec
        out.append(p)
    ctx.total = n
    return out, specs, bad_flats


def import_people(
    ctx: Context, table: Table, index: dict[str, int], personal: bool = True
) -> Callable[[Writer], None]:
    """Residents (``personal=True``) or households (existing people placed as heads of their dwellings)."""
    # Registry checks run even when some rows are already bad, so one report lists every bad row.
    rows, specs, bad_flats = _validate_people_rows(ctx, table, index, personal)
    existing = Existing([p.id_hash for p in rows])
    allowed = ctx.places.allowed
    id_col = "身份证号" if personal else "户主身份证号"
    for p in rows:
        e = existing.by_hash.get(p.id_hash)
        if e is None:
            if not personal:
                ctx.errors.add(p.row, id_col, _("户主未登记，请先导入居民"))
        elif e[11] is not None and e[11] not in allowed:
            ctx.errors.add(p.row, id_col, _("此人已登记在您管辖范围以外的地址，不能通过导入修改"))
    dwellings = DwellingPlan(specs)

    # households: existing current households in the flats of the file, by head hash
    reg_heads: dict[int, dict[str, tuple[int, int | None, str]]] = {}
    existing_dwelling_ids = sorted(dwellings.ids.values())
    current = Household.objects.filter(ended_on__isnull=True).values_list(
        "pk", "dwelling_id", "head_id", "head__id_number_hash", "number"
    )
    for hid, did, head_id, head_hash, number in _where_in(current, "dwelling_id", existing_dwelling_ids):
        reg_heads.setdefault(did, {})[head_hash or f"#{hid}"] = (hid, head_id, number)
    file_heads: dict[tuple[int, str], list[str]] = {}
    for p in rows:
        if p.relation == _HEAD:
            file_heads.setdefault(_flat(p), []).append(p.id_hash)
    for p in rows:
        key = _flat(p)
        if p.relation == _HEAD or key in bad_flats:
            continue
        flat_id = dwellings.ids.get(key, 0)
        heads = set(file_heads.get(key, ())) | {
            h for h in reg_heads.get(flat_id, {}) if not h.startswith("#")
        }
        if p.head_hash:
            if p.head_hash not in heads:
                ctx.errors.add(p.row, "户主身份证号", _("该户主不住在这套房屋，请先导入户主或检查房号"))
        elif len(heads) == 1:
            p.head_hash = next(iter(heads))
        elif not heads:
            ctx.errors.add(
                p.row, "与户主关系", _("这套房屋没有户主：请在文件中加入户主行，或填写户主身份证号")
            )
        else:
            ctx.errors.add(p.row, "户主身份证号", _("这套房屋住有多户，请填写户主身份证号"))
    if ctx.errors:
        return lambda w: None

    def write(writer: Writer) -> None:
        _write_people(ctx, writer, rows, existing, dwellings, reg_heads, personal)

    return write


RESIDENT_INSERT = [
    "id",
    "name",
    "id_kind",
    "id_number_enc",
    "id_number_hash",
    "id_number_masked",
    "id_last4",
    "gender",
    "birth_date",
    "phone_enc",
    "phone_hash",
    "phone_masked",
    "phone_last4",
    "residence_status",
    "status",
    "dwelling_id",
    "household_id",
    "relation",
    "skills",
    "created_at",
    "updated_at",
]
RESIDENT_UPDATE = [
    "name",
    "id_kind",
    "phone_enc",
    "phone_hash",
    "phone_masked",
    "phone_last4",
    "residence_status",
    "status",
    "dwelling_id",
    "household_id",
    "relation",
    "skills",
    "updated_at",
]


def _write_people(
    ctx: Context,
    writer: Writer,
    rows: list[PersonRow],
    existing: Existing,
    dwellings: DwellingPlan,
    reg_heads: dict[int, dict[str, tuple[int, int | None, str]]],
    personal: bool,
) -> None:
    dwellings.write(ctx, writer)
    # Reserve ids in id-hash order: the primary key, the unique id-hash index and the table then all grow at
    # their right-hand end, page after page, instead of touching random pages of a large index.
    new_people = sorted((p for p in rows if p.id_hash not in existing.by_hash), key=lambda p: p.id_hash)
    resident_id: dict[str, int] = {h: e[0] for h, e in existing.by_hash.items()}
    for p, pk in zip(new_people, writer.allocate(Resident, len(new_people)), strict=True):
        resident_id[p.id_hash] = pk

    # households: (dwelling id, head hash) → household id; new ones for heads without a current household there
    household_of: dict[tuple[int, str], int] = {}
    for did, heads in reg_heads.items():
        for head_hash, (hid, _head, _number) in heads.items():
            household_of[(did, head_hash)] = hid
    new_households: list[tuple] = []
    household_updates: list[tuple] = []
    changed_households: set[int] = set()
    head_rows = [p for p in rows if p.relation == _HEAD]
    missing = [p for p in head_rows if (dwellings.ids[_flat(p)], p.id_hash) not in household_of]
    for p, hid in zip(missing, writer.allocate(Household, len(missing)), strict=True):
        did = dwellings.ids[_flat(p)]  # type: ignore[union-attr]
        household_of[(did, p.id_hash)] = hid
        new_households.append(
            (hid, did, resident_id[p.id_hash], p.household_number, p.started_on or ctx.today)
        )
    for p in head_rows:
        if not p.household_number:
            continue
        did = dwellings.ids[_flat(p)]  # type: ignore[union-attr]
        reg = reg_heads.get(did, {}).get(p.id_hash)
        if reg is not None and reg[2] != p.household_number:
            household_updates.append((reg[0], p.household_number))
            changed_households.add(reg[0])

    created_households = {h[0] for h in new_households}
    now = ctx.now
    updates: list[tuple] = []
    tag_rows: list[tuple[int, int]] = []
    retag: list[int] = []
    memberships: list[tuple] = []
    close_memberships: list[tuple] = []
    relation_updates: list[tuple] = []
    enc, mask, lookup = pii.encrypt, pii.mask, pii.lookup_hash
    active = ResidentStatus.ACTIVE.value
    created = updated = 0
    for p in rows:
        e = existing.by_hash.get(p.id_hash)
        if e is None:
            created += 1  # its row, tags and membership are made while the COPY streams, below
            continue
        spec = p.dwelling
        assert spec is not None
        did = dwellings.ids[(spec.place[4], spec.number)]
        hid = household_of[(did, p.head_hash)]
        rid = resident_id[p.id_hash]
        (_pk, _h, name, id_kind, phone_enc, phone_hash, phone_masked, phone_last4, status, _rstatus) = e[:10]
        skills = e[14]
        if personal:
            name, id_kind, status = p.name, p.id_kind, p.residence_status
            if p.phone and p.phone_hash != phone_hash:
                phone_enc, phone_hash, phone_masked, phone_last4 = (
                    enc(p.phone),
                    lookup(p.phone),
                    mask(p.phone),
                    p.phone[-4:],
                )
            skills = p.skills or skills
        new = (
            name,
            id_kind,
            phone_enc,
            phone_hash,
            phone_masked,
            phone_last4,
            status,
            active,
            did,
            hid,
            p.relation,
            skills,
        )
        old = (*e[2:11], e[12], e[13], e[14])
        changed = new != old
        if changed:
            updates.append((rid, *new, now))
        if p.tags is not None and set(p.tags) != existing.tags.get(rid, set()):
            retag.append(rid)
            tag_rows.extend((rid, t) for t in p.tags)
            changed = True
        current = existing.membership.get(rid)
        if current is None or current[1] != hid:
            if current is not None:
                close_memberships.append((current[0], ctx.today))
            memberships.append((hid, rid, p.relation, p.started_on or ctx.today))
        elif current[2] != p.relation:
            relation_updates.append((current[0], p.relation))
        if not personal and hid in created_households:
            created += 1  # a households file counts households, not people
        elif changed or (spec.place[4], spec.number) in dwellings.changed or hid in changed_households:
            updated += 1

    def inserts() -> Iterator[tuple]:
        """The new residents' rows, made while the COPY streams them: the encryption of the id numbers and phones
        and the residents' memberships and tags (~14 s of Python per 1 M rows) are made while PostgreSQL writes
        the rows already sent and maintains the indexes, instead of before it with the database idle.
        ``new_people`` is in id-hash order, the order the ids were reserved in, so the rows go in key order."""
        today = ctx.today
        for p in new_people:
            spec = p.dwelling
            assert spec is not None
            did = dwellings.ids[(spec.place[4], spec.number)]
            hid = household_of[(did, p.head_hash)]
            rid = resident_id[p.id_hash]
            if p.tags:
                tag_rows.extend((rid, t) for t in p.tags)
            memberships.append((hid, rid, p.relation, p.started_on or today))
            phone = p.phone
            yield (
                rid,
                p.name,
                p.id_kind,
                enc(p.number),
                p.id_hash,
                mask(p.number),
                p.number[-4:],
                p.gender,
                p.birth,
                enc(phone),
                p.phone_hash,
                mask(phone),
                phone[-4:],
                p.residence_status,
                active,
                did,
                hid,
                p.relation,
                p.skills,
                now,
                now,
            )

    if new_people:
        writer.insert(Resident, RESIDENT_INSERT, inserts())
    # In key order (ids were reserved in id-hash order) the primary key, the unique id-hash index and the
    # membership/tag indexes on resident_id are filled page by page instead of all over the place. (The new
    # residents' rows came in that order already: sorting what is sorted is one pass.)
    tag_rows.sort()
    memberships.sort(key=lambda m: m[1])
    writer.update(Resident, RESIDENT_UPDATE, updates)
    writer.insert(Household, ["id", "dwelling_id", "head_id", "number", "started_on"], new_households)
    writer.update(Household, ["number"], household_updates)
    through = Resident.tags.through
    writer.delete_where_in(through, "resident_id", retag)
    writer.insert(through, ["resident_id", "tag_id"], tag_rows)
    # close before opening: at most one current membership per resident
    writer.update(Membership, ["moved_out_on"], close_memberships)
    writer.update(Membership, ["relation"], relation_updates)
    writer.insert(Membership, ["household_id", "resident_id", "relation", "moved_in_on"], memberships)
    ctx.count("created", created)
    ctx.count("updated", updated)
    ctx.count("residents_created", len(new_people))
    ctx.count("residents_updated", len(updates))
    ctx.count("households_created", len(new_households))
    ctx.count("memberships_created", len(memberships))
    ctx.count("memberships_closed", len(close_memberships))


# ------------------------------------------------------------------------------------------- party members
MEMBER_TYPE_EXTRA = {"在职党员": "dual_registered", "双报到": "dual_registered", "下沉党员": "dual_registered",
                     "居民": "resident", "流动": "mobile", "年老体弱": "elderly_frail"}  # fmt: skip


def import_party_members(ctx: Context, table: Table, index: dict[str, int]) -> Callable[[Writer], None]:
    from tongxin.party.choices import MemberType
    from tongxin.party.models import CoBuildingUnit, Organisation, PartyMember, ServicePost

    types = _label_map(MemberType, MEMBER_TYPE_EXTRA)
    orgs: dict[str, list[int]] = {}
    for pk, name in Organisation.objects.values_list("pk", "name"):
        orgs.setdefault(name, []).append(pk)
    units = dict(CoBuildingUnit.objects.values_list("name", "pk"))
    posts: dict[tuple[int, str], int] = {}
    for pk, community, name, code in ServicePost.objects.values_list("pk", "community_id", "name", "code"):
        posts[(community, name)] = posts[(community, code)] = pk
    parsed: list[
        tuple[int, str, tuple]
    ] = []  # row, hash, (type, org, employer, employer_name, post text, dates)
    seen: dict[str, int] = {}
    err = ctx.errors.add
    n = 0
    for n, (row, get) in enumerate(_rows(table, index), 1):
        ctx.progress(n)
        bad = False
        id_hash = ""
        try:
            id_hash = pii.lookup_hash(pii.parse_id_number(get("id_number")).number)
        except pii.PIIError as e:
            err(row, "身份证号", str(e))
            bad = True
        if id_hash:
            if id_hash in seen:
                err(row, "身份证号", _("与第%(r)d行的身份证号重复") % {"r": seen[id_hash]})
                bad = True
            seen.setdefault(id_hash, row)
        text = get("member_type")
        member_type = types.get(text.lower()) if text else None
        if member_type is None:
            err(
                row,
                "党员类型",
                _("党员类型“%(v)s”无效，应为 居民党员、在职党员、流动党员 或 年老体弱党员") % {"v": text},
            )
            bad = True
        org_id = None
        text = get("organisation")
        if text:
            found = orgs.get(text, [])
            if len(found) != 1:
                err(
                    row,
                    "所在组织",
                    (_("党组织“%(v)s”不存在") if not found else _("有多个名为“%(v)s”的党组织")) % {"v": text},
                )
                bad = True
            else:
                org_id = found[0]
        employer_name = get("employer")[:100]
        dates: list[dt.date | None] = []
        for key, header in (("joined_on", "入党日期"), ("reported_in_on", "报到日期")):
            text = get(key)
            value = None
            if text:
                try:
                    value = parse_date(text)
                    if value > ctx.today:
                        raise ValueError(_("日期%(d)s晚于今天") % {"d": text})
                except ValueError as e:
                    err(row, header, str(e))
                    bad = True
            dates.append(value)
        if not bad:
            values = (
                member_type,
                org_id,
                units.get(employer_name),
                employer_name,
                get("service_post"),
                *dates,
            )
            parsed.append((row, id_hash, values))
    ctx.total = n
    people: dict[str, tuple[int, int | None, int | None]] = {}
    people_qs = Resident.objects.values_list(
        "pk", "id_number_hash", "dwelling__estate_id", "dwelling__community_id"
    )
    for pk, h, estate, community in _where_in(people_qs, "id_number_hash", [h for _r, h, _v in parsed]):
        people[h] = (pk, estate, community)
    members = {
        r[0]: r
        for r in _where_in(
            PartyMember.objects.values_list(
                "resident_id",
                "pk",
                "member_type",
                "organisation_id",
                "employer_id",
                "employer_name",
                "service_post_id",
                "joined_on",
                "reported_in_on",
                "active",
            ),
            "resident_id",
            [p[0] for p in people.values()],
        )
    }
    inserts: list[tuple] = []
    updates: list[tuple] = []
    for row, h, (member_type, org_id, employer_id, employer_name, post_text, joined, reported) in parsed:
        person = people.get(h)
        if person is None:
            err(row, "身份证号", _("此人未在居民登记中，请先导入居民"))
            continue
        member_rid, home_estate, home_community = person
        if home_estate not in ctx.places.allowed:
            err(row, "身份证号", _("此人不住在您的管辖范围内"))
            continue
        post_id = None
        if post_text:
            post_id = posts.get((home_community or 0, post_text))
            if post_id is None:
                err(row, "服务岗位", _("本社区没有服务岗位“%(v)s”") % {"v": post_text})
                continue
        current = members.get(member_rid)
        if current is None:
            inserts.append(
                (
                    member_rid,
                    member_type,
                    org_id,
                    employer_id,
                    employer_name,
                    post_id,
                    joined,
                    reported,
                    True,
                    ctx.now,
                )
            )
            continue
        old = current[2:]
        new = (
            member_type,
            org_id if org_id is not None else current[3],
            employer_id if employer_name else current[4],
            employer_name or current[5],
            post_id if post_id is not None else current[6],
            joined or current[7],
            reported or current[8],
            True,
        )
        if new != old:
            updates.append((current[1], *new))
    if ctx.errors:
        return lambda w: None

    def write(writer: Writer) -> None:
        cols = [
            "member_type",
            "organisation_id",
            "employer_id",
            "employer_name",
            "service_post_id",
            "joined_on",
            "reported_in_on",
            "active",
        ]
        writer.insert(PartyMember, ["resident_id", *cols, "created_at"], inserts)
        writer.update(PartyMember, cols, updates)
        ctx.count("created", len(inserts))
        ctx.count("updated", len(updates))

    return write


# ---------------------------------------------------------------------------------------------------- runner
def _dispatch(ctx: Context, kind: str, table: Table, index: dict[str, int]) -> Callable[[Writer], None]:
    if kind in IMPORTERS:
        return IMPORTERS[kind](ctx, table, index)
    if kind == "dwellings":
        return import_dwellings(ctx, table, index)
    if kind == "households":
        return import_people(ctx, table, index, personal=False)
    if kind == "residents":
        return import_people(ctx, table, index, personal=True)
    return import_party_members(ctx, table, index)


def run_import(
    job: ImportJob, source: bytes | str | Path | None = None, timings: dict[str, float] | None = None
) -> ImportJob:
    """Validate and apply one import job. ``source`` defaults to the job's uploaded file.

    Never raises for bad input: the job ends ``failed`` (row errors) or ``error`` (a system problem).
    ``timings`` (benchmarks) receives the seconds spent reading+validating and writing.
    """
    timings = timings if timings is not None else {}
    started = time.perf_counter()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job.status = ImportJob.Status.RUNNING
    try:
        if not may_import(job.created_by):
            raise ImportFailed([{"row": 0, "column": "", "message": _("您没有导入权限")}])
        spec = KINDS.get(job.kind)
        if spec is None:
            raise ImportFailed([{"row": 0, "column": "", "message": _("未知的导入类型")}])
        if source is None:
            with job.file.open("rb") as fh:
                source = fh.read()
        with translation.override("zh-hans"):
            table = read_table(source, job.original_name)
            index = map_header(spec, table.header)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=table.total)
            ctx = Context(job, table.total)
            write = _dispatch(ctx, job.kind, table, index)
            timings["validate"] = time.perf_counter() - started
            if not ctx.errors:
                started = time.perf_counter()
                writer = Writer()
                with transaction.atomic():
                    if writer.pg:
                        # Durability of this one commit is not worth a WAL flush wait: if the server crashed in
                        # the next few hundred ms the job would simply be re-run (an import is idempotent).
                        with connection.cursor() as cur:
                            cur.execute("SET LOCAL synchronous_commit = off")
                    write(writer)
                    writer.check_foreign_keys()
                    job.created_count = ctx.counts.get("created", 0)
                    job.updated_count = ctx.counts.get("updated", 0)
                    audit.record(
                        AuditLog.Action.IMPORT,
                        job,
                        actor=job.created_by,
                        after={"kind": job.kind, "rows": ctx.total, **ctx.counts},
                    )
                    committing = time.perf_counter()
                timings["commit"] = time.perf_counter() - committing
                timings["write"] = time.perf_counter() - started
                timings.update(writer.timings)
        job.total_rows = job.processed_rows = ctx.total
        if ctx.errors:
            job.status, job.errors = ImportJob.Status.FAILED, ctx.errors.sorted()
        else:
            job.status, job.errors = ImportJob.Status.DONE, []
    except ImportFailed as e:
        job.status, job.errors = ImportJob.Status.FAILED, e.errors
    except RegistryChanged:
        job.status = ImportJob.Status.ERROR
        job.errors = [{"row": 0, "column": "", "message": _("导入期间登记数据被他人修改，请重新导入")}]
    except Exception as e:  # a system problem: record it on the job rather than lose it in the worker log
        log.exception("import job %s failed", job.pk)
        job.status = ImportJob.Status.ERROR
        job.errors = [{"row": 0, "column": "", "message": _("系统错误：%(e)s") % {"e": type(e).__name__}}]
    job.finished_at = timezone.now()
    if job.file:  # the upload holds clear id numbers and phones: gone once the import has ended, either way
        job.file.delete(save=False)
    job.save(
        update_fields=[
            "file",
            "status",
            "errors",
            "total_rows",
            "processed_rows",
            "created_count",
            "updated_count",
            "finished_at",
        ]
    )
    return job


def unchanged_count(job: ImportJob) -> int:
    if job.status != ImportJob.Status.DONE:
        return 0
    return max(job.total_rows - job.created_count - job.updated_count, 0)


# -------------------------------------------------------------------------------------------- templates
def template_workbook(kind: str) -> bytes:
    """An .xlsx with the kind's Chinese headers and one example row; id columns are text cells."""
    import openpyxl
    from openpyxl.styles import Font

    spec = KINDS[kind]
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = str(spec.label)
    for i, col in enumerate(spec.columns, 1):
        cell = ws.cell(row=1, column=i, value=col.header)
        cell.font = Font(bold=True, color="B3261E" if col.required else "000000")
        ex = ws.cell(row=2, column=i, value=col.example)
        ex.data_type, ex.number_format = "s", "@"
        ws.column_dimensions[cell.column_letter].width = max(
            12, len(col.header) * 2 + 4, len(col.example) + 4
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def errors_csv(job: ImportJob) -> bytes:
    """The error report as a CSV Excel opens directly (UTF-8 with BOM)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([_("行号"), _("列"), _("问题")])
    for e in job.errors or []:
        w.writerow(csv_row([e.get("row", ""), e.get("column", ""), e.get("message", "")]))
    return buf.getvalue().encode("utf-8-sig")


# ------------------------------------------------------------------------------------------------ export
ROSTER_HEADERS = ["小区", "楼栋", "单元", "房号", "户主", "户主电话", "人数", "党员户", "网格"]


def roster_rows(dwellings: models.QuerySet[Dwelling]) -> Iterator[list[Any]]:
    """One row per current household (or per empty dwelling): the grid roster (一表). Three queries."""
    from tongxin.party.models import PartyMember

    households: dict[int, list[tuple[int, str, str]]] = {}
    qs = Household.objects.filter(dwelling__in=dwellings, ended_on__isnull=True)
    for hid, did, head_name, head_phone in qs.values_list(
        "pk", "dwelling_id", "head__name", "head__phone_masked"
    ):
        households.setdefault(did, []).append((hid, head_name or "", head_phone or ""))
    counts: dict[int, int] = dict(
        Resident.objects.filter(household__in=qs, status=ResidentStatus.ACTIVE)
        .values_list("household_id")
        .annotate(n=models.Count("pk"))
        .values_list("household_id", "n")
    )
    party = set(
        PartyMember.objects.filter(active=True, resident__household__in=qs).values_list(
            "resident__household_id", flat=True
        )
    )
    ordered = list(
        dwellings.select_related("estate", "building", "entrance", "grid").order_by(
            "estate__name", "building__path", "entrance__path", "number"
        )
    )
    extra = [x.values(ordered) for x in ROSTER_EXTRA]
    blanks = [[""] * len(x.headers) for x in ROSTER_EXTRA]
    for d in ordered:
        base = [d.estate.name, d.building.name, d.entrance.name, d.number]
        more = [v for values, blank in zip(extra, blanks, strict=True) for v in values.get(d.pk, blank)]
        for hid, head, phone in households.get(d.pk, [(0, "", "")]):
            yield [*base, head, phone, counts.get(hid, 0), "是" if hid in party else "", d.grid.name, *more]


def roster_workbook(dwellings: models.QuerySet[Dwelling], title: str) -> tuple[bytes, int]:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "roster")
    append(ws, [*ROSTER_HEADERS, *(h for x in ROSTER_EXTRA for h in x.headers)])
    n = 0
    for row in roster_rows(dwellings):
        append(ws, row)
        n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), n


def export_roster(user: Any, *, grid: Any = None, community: Any = None) -> tuple[bytes, str]:
    """The grid roster of one grid or one community as .xlsx (masked phones only); audited."""
    from tongxin.regions.models import Grid

    dwellings = Dwelling.objects.visible_to(user)
    if grid is not None:
        dwellings = dwellings.filter(grid=grid)
        title, obj = grid.name, grid
    else:
        dwellings = dwellings.filter(community=community)
        title, obj = community.name, community
    data, n = roster_workbook(dwellings, str(title))
    audit.record(
        AuditLog.Action.EXPORT,
        obj,
        actor=user,
        object_type="regions.grid" if isinstance(obj, Grid) else "regions.region",
        after={"export": "grid_roster", "rows": n},
    )
    return data, f"{title}-网格台账-{timezone.localdate():%Y%m%d}.xlsx"
