"""China's public holidays (法定节假日) and make-up working days (调休上班), typed from the State Council's yearly
notices (国务院办公厅关于某年部分节假日安排的通知). The ``sync_holidays`` command writes them into
:class:`tongxin.cases.models.Holiday`, which the working-day deadlines read (``sla.Calendar``).

A year is complete only once its notice is out (usually in November of the year before). 2027's notice is not
in this table yet: for 2027 only the statutory days fixed by the 全国年节及纪念日放假办法 (2024 revision: 元旦 1,
春节 4 from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3 days) are listed, without the bridging days and 调休
Saturdays/Sundays the notice will add. When it is published, add its days here (or in the admin) and run
``manage.py sync_holidays``.
"""

from __future__ import annotations

import datetime as dt

HOLIDAY = "holiday"
WORKDAY = "workday"


def _span(first: str, last: str, name: str) -> list[tuple[str, str, str]]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    days = (end - start).days
    return [((start + dt.timedelta(days=i)).isoformat(), HOLIDAY, name) for i in range(days + 1)]


def _work(day: str, name: str) -> tuple[str, str, str]:
    return (day, WORKDAY, name)


# 国办发明电〔2024〕12号 (2025)
Y2025 = [
    *_span("2025-01-01", "2025-01-01", "元旦"),
    *_span("2025-01-28", "2025-02-04", "春节"),
    _work("2025-01-26", "春节调休上班"),
    _work("2025-02-08", "春节调休上班"),
    *_span("2025-04-04", "2025-04-06", "清明节"),
    *_span("2025-05-01", "2025-05-05", "劳动节"),
    _work("2025-04-27", "劳动节调休上班"),
    *_span("2025-05-31", "2025-06-02", "端午节"),
    *_span("2025-10-01", "2025-10-08", "国庆节、中秋节"),
    _work("2025-09-28", "国庆节调休上班"),
    _work("2025-10-11", "国庆节调休上班"),
]

# 国办发明电〔2025〕7号 (2026)
Y2026 = [
    *_span("2026-01-01", "2026-01-03", "元旦"),
    _work("2026-01-04", "元旦调休上班"),
    *_span("2026-02-15", "2026-02-23", "春节"),
    _work("2026-02-14", "春节调休上班"),
    _work("2026-02-28", "春节调休上班"),
    *_span("2026-04-04", "2026-04-06", "清明节"),
    *_span("2026-05-01", "2026-05-05", "劳动节"),
    _work("2026-05-09", "劳动节调休上班"),
    *_span("2026-06-19", "2026-06-21", "端午节"),
    *_span("2026-09-25", "2026-09-27", "中秋节"),
    *_span("2026-10-01", "2026-10-07", "国庆节"),
    _work("2026-09-20", "国庆节调休上班"),
    _work("2026-10-10", "国庆节调休上班"),
]

# 2027: the statutory days only (see the module docstring); the notice's bridging days and 调休 are pending.
Y2027_STATUTORY = [
    *_span("2027-01-01", "2027-01-01", "元旦"),
    *_span("2027-02-05", "2027-02-08", "春节"),  # 除夕 2-05, 正月初一至初三 2-06..2-08
    *_span("2027-04-05", "2027-04-05", "清明节"),
    *_span("2027-05-01", "2027-05-02", "劳动节"),
    *_span("2027-06-09", "2027-06-09", "端午节"),
    *_span("2027-09-15", "2027-09-15", "中秋节"),
    *_span("2027-10-01", "2027-10-03", "国庆节"),
]

# Years whose State Council notice is in this table (the others hold the statutory days only).
COMPLETE_YEARS = (2025, 2026)

DAYS: list[tuple[dt.date, str, str]] = [
    (dt.date.fromisoformat(d), kind, name) for d, kind, name in (*Y2025, *Y2026, *Y2027_STATUTORY)
]


def days(years: tuple[int, ...] | None = None) -> list[tuple[dt.date, str, str]]:
    """``(date, kind, name)`` rows, optionally only of ``years``."""
    return [row for row in DAYS if years is None or row[0].year in years]


def sync(years: tuple[int, ...] | None = None, *, force: bool = False) -> dict[str, int]:
    """Write the table into :class:`~tongxin.cases.models.Holiday` (idempotent; one transaction).

    Rows from an earlier sync (``source=notice``) are updated or, when the table no longer lists them for a
    synced year, removed. Rows an administrator added or changed (``source=admin``) are left alone unless
    ``force``: the admin's word wins over the table. Returns counts of created / updated / removed / kept rows.
    """
    from django.db import transaction

    from tongxin.cases.choices import HolidaySource
    from tongxin.cases.models import Holiday

    rows = days(years)
    wanted = {d: (kind, name) for d, kind, name in rows}
    synced_years = sorted({d.year for d in wanted} | set(years or ()))
    counts = {"created": 0, "updated": 0, "removed": 0, "kept": 0}
    with transaction.atomic():
        existing = {
            h.date: h
            for h in Holiday.objects.select_for_update().filter(date__year__in=synced_years).order_by("pk")
        }
        new = []
        for day, (kind, name) in sorted(wanted.items()):
            row = existing.get(day)
            if row is None:
                new.append(Holiday(date=day, kind=kind, name=name, source=HolidaySource.NOTICE))
            elif row.source == HolidaySource.ADMIN and not force:
                counts["kept"] += 1
            elif (row.kind, row.name, row.source) != (kind, name, HolidaySource.NOTICE):
                row.kind, row.name, row.source = kind, name, HolidaySource.NOTICE
                row.save(update_fields=["kind", "name", "source"])
                counts["updated"] += 1
        Holiday.objects.bulk_create(new)
        counts["created"] = len(new)
        stale = [h.pk for d, h in existing.items() if d not in wanted and h.source == HolidaySource.NOTICE]
        counts["removed"] = Holiday.objects.filter(pk__in=stale).delete()[0]
    return counts
