"""Every report table as XLSX (openpyxl, write-only mode: rows stream out, memory stays flat) or CSV.

openpyxl because it reads the files back too (the tests do) and its write-only mode handles large tables;
the workbook's created/modified dates are those given (the period's end), so one period exports alike.
CSV is UTF-8 with a BOM so that Excel on a Chinese Windows opens it without mojibake.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from web.reports.data import Column, Table

SHEET_TITLE_MAX = 31  # Excel's limit


def _cell_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.kind in ("seconds", "score") and isinstance(value, float):
        return round(value, 2)
    return value


def _text(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    if column.kind in ("seconds", "score") and isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def xlsx(tables: Sequence[Table], *, title: str, when: datetime) -> bytes:
    """One sheet per table: a bold header row, rates as percentages (number format 0.00%)."""
    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.creator = "12319 城市管理热线平台"
    wb.properties.created = wb.properties.modified = when.replace(tzinfo=None, microsecond=0)
    for table in tables:
        ws = wb.create_sheet(table.title[:SHEET_TITLE_MAX].replace("/", "／"))
        ws.append(_header(ws, table.columns))
        for row in table.rows:
            ws.append(_row(ws, table.columns, row))
    out = io.BytesIO()
    wb.save(out)
    return _stamped(out.getvalue(), when)


def _stamped(content: bytes, when: datetime) -> bytes:
    """The same package with every member dated `when`, and `when` as its modified date: zipfile stamps members
    with the wall clock and openpyxl sets `modified` to now on save, so two saves a second apart differed (the
    same data and period must give the same file)."""
    stamp = when.replace(tzinfo=None).timetuple()[:6]
    modified = when.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, member.external_attr
            data = source.read(member.filename)
            if member.filename == "docProps/core.xml":
                data = _MODIFIED.sub(rf"\g<1>{modified}\g<2>".encode(), data)
            target.writestr(info, data)
    return out.getvalue()


def _header(ws: Any, columns: Iterable[Column]) -> list[WriteOnlyCell]:
    cells = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c.label)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _row(ws: Any, columns: Sequence[Column], row: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for c in columns:
        value = _cell_value(c, row.get(c.key))
        if c.kind == "rate" and value is not None:
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = "0.00%"
            out.append(cell)
        else:
            out.append(value)
    return out


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
