"""Builders for import files used by the import tests (not a test module)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

from tongxin.core import pii
from tongxin.core.models import ImportJob, User
from tongxin.people.imports import KINDS, run_import

RESIDENT_HEADER = [c.header for c in KINDS["residents"].columns]


def id_number(i: int) -> str:
    """A unique synthetic id number for index ``i`` (valid checksum, birth dates spread over decades)."""
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(i // 1000) * 29 % 30000)
    first17 = f"429004{birth:%Y%m%d}{i % 1000:03d}"
    return first17 + pii.id_check_char(first17)


def resident_rows(
    n: int, estate: str = "锦绣江山", buildings: tuple[str, ...] = ("3栋", "5栋")
) -> list[list[Any]]:
    """``n`` residents in households of three (head, spouse, child) in flats of the given buildings' 2单元."""
    rows: list[list[Any]] = []
    for i in range(n):
        flat = i // 3
        building = buildings[flat % len(buildings)]
        in_building = flat // len(buildings)
        number = str(in_building + 1001)
        floor = str(1 + in_building // 4 % 30)
        relation = ("户主", "配偶", "子女")[i % 3]
        tags = "独居老人" if i % 50 == 0 else ("残疾人、慢病:高血压" if i % 77 == 0 else "")
        rows.append(
            [
                f"居民{i:05d}",
                id_number(i),
                f"139{i:08d}" if i % 4 else "",
                ("户籍", "流动")[i % 5 == 0],
                tags,
                estate,
                building,
                "2单元",
                number,
                relation,
                "",
                f"H{flat:05d}" if relation == "户主" else "",
                floor,
                "89.5" if relation == "户主" else "",
                "",
            ]
        )
    return rows


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("sheet")
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def excel_like_xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    """A minimal .xlsx laid out as Excel/WPS save it (text in the shared-strings table), written directly.

    openpyxl's writer is slow for 10,000 rows and its write-only mode stores inline strings, which real
    spreadsheets rarely use; this keeps the 10k tests fast and close to what users upload.
    """
    strings: dict[str, int] = {}
    sheet_rows = []
    for r, values in enumerate([header, *rows], 1):
        cells = []
        for c, value in enumerate(values):
            text = "" if value is None else str(value)
            if text == "":
                continue
            ref = f"{_column_letter(c)}{r}"
            idx = strings.setdefault(text, len(strings))
            cells.append(f'<c r="{ref}" t="s"><v>{idx}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><dimension ref="A1:{_column_letter(len(header) - 1)}{len(rows) + 1}"/>'
            f"<sheetData>{''.join(sheet_rows)}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def _column_letter(i: int) -> str:
    return chr(65 + i) if i < 26 else chr(64 + i // 26) + chr(65 + i % 26)


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "gbk") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def run(user: User, kind: str, name: str, data: bytes) -> ImportJob:
    """Run an import job directly through the engine (what the worker does)."""
    from django.core.files.base import ContentFile

    job = ImportJob.objects.create(
        kind=kind, original_name=name, created_by=user, file=ContentFile(data, name)
    )
    return run_import(job)
