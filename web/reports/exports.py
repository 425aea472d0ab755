"""Every report table as XLSX (XlsxWriter, constant-memory mode: rows stream out, memory stays flat) or CSV.

XlsxWriter because its cell formats are registered once per workbook and it wrote 10,000 rows about a quarter
faster than openpyxl's write-only mode in the same run (docs/benchmarks.md); the tests read the files back with
openpyxl. The workbook's date is the one given (the period's end), so a period exports alike.
CSV is UTF-8 with a BOM so that Excel on a Chinese Windows opens it without mojibake.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import xlsxwriter

from web.reports.data import Column, Table

SHEET_TITLE_MAX = 31  # Excel's limit


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    if column.kind in ("seconds", "score") and isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def xlsx(tables: Sequence[Table], *, title: str, when: datetime) -> bytes:
    """One sheet per table: a bold header row, rates as percentages (number format 0.00%)."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": True})
    wb.set_properties(
        {"title": title, "author": "12319 城市管理热线平台", "created": when.replace(tzinfo=None, microsecond=0)}
    )
    styles = {
        "rate": wb.add_format({"num_format": "0.00%"}),
        "seconds": wb.add_format({"num_format": "0.00"}),
        "score": wb.add_format({"num_format": "0.00"}),
    }
    bold = wb.add_format({"bold": True})
    for table in tables:
        ws = wb.add_worksheet(_sheet_name(table.title))
        ws.write_row(0, 0, [c.label for c in table.columns], bold)
        for r, row in enumerate(table.rows, start=1):
            for c, column in enumerate(table.columns):
                _write(ws, r, c, column, row.get(column.key), styles)
    wb.close()
    return out.getvalue()


def _sheet_name(title: str) -> str:
    for bad in "[]:*?/\\":
        title = title.replace(bad, "_")
    return title[:SHEET_TITLE_MAX]


def _write(ws: Any, r: int, c: int, column: Column, value: Any, styles: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        ws.write_string(r, c, str(value))
    else:
        ws.write_number(r, c, value, styles.get(column.kind))


def csv_bytes(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.label for c in table.columns])
    for row in table.rows:
        writer.writerow([_text(c, row.get(c.key)) for c in table.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def text(column: Column, value: Any) -> str:
    """A cell as the PDF and the page show it."""
    return _text(column, value)
