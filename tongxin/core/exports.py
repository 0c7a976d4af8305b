"""What every spreadsheet export shares: cells that cannot become formulas, percentages that read as percentages,
and Chinese file names that every browser keeps.

* **Formula injection.** A resident named ``=HYPERLINK("http://…")`` must stay a name. In .xlsx every text value
  is written as a text cell (:func:`xlsx_row`; openpyxl would otherwise store a string starting with ``=`` as a
  formula); in .csv a text value that a spreadsheet would read as a formula or a command (``= + - @``, a tab or a
  carriage return first) gets a leading apostrophe (:func:`csv_cell`). Numbers stay numbers.
* **Percentages.** Rates are fractions (0.873); :data:`PERCENT` is the number format that shows them as 87.3%.
* **File names.** :func:`attachment` gives the ``Content-Disposition`` of RFC 6266/5987: an ASCII fallback and
  the UTF-8 name (``filename*=UTF-8''…``), so ``网格台账.xlsx`` arrives as such.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.http import content_disposition_header

PERCENT = "0.0%"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def csv_cell(value: Any) -> Any:
    """``value`` safe for a .csv cell: text that a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_row(ws: Any, values: Iterable[Any], number_formats: dict[int, str] | None = None) -> list[Any]:
    """Cells for ``ws.append``: text always as text (never a formula), optional number formats by column index.

    Works for normal and write-only worksheets."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for i, value in enumerate(values):
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        if number_formats and i in number_formats and not isinstance(value, str):
            cell.number_format = number_formats[i]
        cells.append(cell)
    return cells


def append(ws: Any, values: Iterable[Any], number_formats: dict[int, str] | None = None) -> None:
    """``ws.append`` through :func:`xlsx_row`."""
    ws.append(xlsx_row(ws, values, number_formats))


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` header value for downloading ``filename`` (Chinese names kept, with an
    ASCII fallback name for clients that know only ``filename=``)."""
    header = content_disposition_header(True, filename) or "attachment"
    if "filename*=" in header:
        suffix = filename.rsplit(".", 1)[-1] if "." in filename else ""
        fallback = "tongxin-export" + (f".{suffix}" if suffix.isascii() and suffix.isalnum() else "")
        header = header.replace("attachment; ", f'attachment; filename="{fallback}"; ', 1)
    return header
