"""The monthly 通报 as PDF: an HTML document (jinja2) with SVG charts, rendered by WeasyPrint with Noto CJK.

WeasyPrint because it lays out CSS pages (headers, page numbers, tables split over pages) and embeds subset
fonts; Debian's fonts-noto-cjk gives it the Chinese glyphs. Reproducible: the document's dates (metadata and
text) are the period's, never "now", so the same data and profile versions give the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from web.reports import charts
from web.reports.data import Bulletin, Table
from web.reports.exports import text

TEMPLATES = Path(__file__).resolve().parent / "templates"
RENDER_TIMEOUT_S = 300.0
ROW_LIMIT = 200  # rows of a list in the PDF; the XLSX export has them all
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def _cells(table: Table, limit: int = ROW_LIMIT) -> dict[str, Any]:
    rows = [[text(c, r.get(c.key)) for c in table.columns] for r in table.rows[:limit]]
    return {
        "title": table.title,
        "head": [c.label for c in table.columns],
        "rows": rows,
        "more": max(0, len(table.rows) - limit),
    }


def _pick(table: Table, keys: tuple[str, ...]) -> Table:
    return Table(table.name, table.title, tuple(c for c in table.columns if c.key in keys), table.rows)


def html(b: Bulletin, *, site: str, issued: datetime, tz: ZoneInfo) -> str:
    dep, region = b.table("department_ranking"), b.table("region_ranking")
    trend = b.trend
    svgs = {
        "department": charts.bars(
            [(r["name"], r["score"]) for r in dep.rows],
            maximum=b.profiles["department"].max_points,
            title="部门综合评价得分",
        ),
        "region": charts.bars(
            [(r["name"], r["score"]) for r in region.rows],
            maximum=b.profiles["region"].max_points,
            title="街道综合评价得分",
        ),
        "trend": charts.lines(
            [t["period"] for t in trend],
            [
                ("结案率", [t["closing_rate"] for t in trend]),
                ("按期结案率", [t["closing_on_time_rate"] for t in trend]),
            ],
            title="近期结案率走势",
        ),
        "classes": charts.bars(
            [(r["name"], float(r["count"])) for r in b.table("top_classes").rows],
            maximum=float(max((r["count"] for r in b.table("top_classes").rows), default=1)),
            title="高发问题（立案数）",
            unit="件",
        ),
    }
    summary = [{"label": s["label"], "value": _summary_text(s)} for s in b.summary]
    hotline = b.table("hotline_queue")
    return _env.get_template("bulletin.html").render(
        site=site,
        period=b.period,
        as_of=b.as_of.astimezone(tz),
        issued=issued,
        issued_local=issued.astimezone(tz),
        summary=summary,
        svgs=svgs,
        profiles=b.profiles,
        dep=_cells(_pick(dep, ("rank", "name", "score", "grade", "formula"))),
        region=_cells(_pick(region, ("rank", "name", "score", "grade", "formula"))),
        classes=_cells(b.table("top_classes")),
        places=_cells(b.table("recurring_places")),
        overdue=_cells(b.table("overdue")),
        rework=_cells(b.table("rework")),
        hotline=_cells(hotline),
    )


def _summary_text(s: dict[str, Any]) -> str:
    v = s["value"]
    if v is None:
        return "—（无应考核）"
    return f"{v * 100:.2f}%" if s["kind"] == "rate" else str(v)


def render(b: Bulletin, *, site: str, issued: datetime, tz: ZoneInfo) -> bytes:
    """The PDF bytes, rendered in this process (tests, scripts). `issued` (the first working day after the
    period, 00:00 local) dates the document. The service uses `render_apart`."""
    from weasyprint import HTML  # imported here: loading pango/cairo costs ~0.5 s and only the PDF needs it

    document = HTML(string=html(b, site=site, issued=issued, tz=tz), base_url=str(TEMPLATES))
    return document.write_pdf(pdf_identifier=_identifier(b, site).encode(), uncompressed_pdf=False)


def _identifier(b: Bulletin, site: str) -> str:
    return f"{site}-{b.period.first.isoformat()}"


async def render_apart(b: Bulletin, *, site: str, issued: datetime, tz: ZoneInfo) -> bytes:
    """The same PDF as `render`, rendered by a child process (web/reports/pdf_child.py, why there): the event
    loop goes on meanwhile and the service's memory does not keep WeasyPrint's ~50 MiB. The child is ended by
    its pid if the caller is cancelled or it takes longer than RENDER_TIMEOUT_S."""
    request = json.dumps({"html": html(b, site=site, issued=issued, tz=tz), "base_url": str(TEMPLATES),
                          "identifier": _identifier(b, site)}, ensure_ascii=False).encode("utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the child finds our packages
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web.reports.pdf_child", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    try:
        out, err = await asyncio.wait_for(child.communicate(request), RENDER_TIMEOUT_S)
    except BaseException:  # cancelled or timed out: the child must not outlive its request
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0 or not out.startswith(b"%PDF"):
        raise RuntimeError(f"PDF rendering failed ({child.returncode}): {err.decode(errors='replace')[-2000:]}")
    return out
