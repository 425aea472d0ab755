"""The leader's reports through the API (/api/v1/evaluation/…): hotline service levels, the report a page or a
spreadsheet reads (summary, rankings, lists), the hotspot counts, XLSX/CSV exports and the archived 通报.

Roles: leader (领导, read-only), lead and admin; only lead and admin may publish a 通报 by hand (the scheduler
publishes the monthly one). Nothing here carries a phone number.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callcenter.domain.hotline_levels import FIGURE_LABELS, GroupBy
from ticketing.domain.model import Role
from ticketing.evaluation import lists
from ticketing.evaluation.domain.periods import Period, PeriodKind, period
from web.api.evaluation import EVALUATION, FIRST_YEAR, LAST_YEAR, _period, _query
from web.auth import require_user
from web.errors import ApiError, parse_body
from web.json import json_response
from web.keys import CASES, CLOCK, ENGINE
from web.openapi import add_routes, operation
from web.reports import data, exports
from web.reports.archive import Publisher
from web.templating import SYSTEM_NAME

READERS = (Role.LEADER, Role.LEAD, Role.ADMIN)
PUBLISHERS = (Role.LEAD, Role.ADMIN)
_READER_NAMES = tuple(r.value for r in READERS)
PUBLISHER = web.AppKey("bulletin_publisher", Publisher)
SITE = SYSTEM_NAME.split("12319")[0] or "本地"
PeriodName = Literal["day", "week", "month", "quarter", "year", "range"]


class PeriodParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: PeriodName = Field("month", description="周期；range 为自定义区间（须给出 end）")
    start: date = Field(description="周期内任一天（range：第一天），YYYY-MM-DD，本地时间")
    end: date | None = Field(None, description="仅 range：最后一天（含）")


class HotlineQuery(PeriodParams):
    by: Literal["total", "day", "hour", "queue", "agent"] = Field(
        "total", description="分组：合计、按日、按时段（0–23 时）、按队列、按坐席"
    )


class ReportQuery(PeriodParams):
    department_version: int | None = Field(None, ge=1, description="部门评分方案（jinniu）版本；缺省为最新")
    region_version: int | None = Field(None, ge=1, description="区域评分方案（region）版本；缺省为最新")


class HotspotQuery(PeriodParams):
    major: str | None = Field(None, pattern=r"^[0-9]{2}$", description="大类代码（两位数字）；缺省为全部")


class ExportQuery(ReportQuery):
    table: Literal[data.TABLE_NAMES] = Field(description="表名")  # type: ignore[valid-type]
    format: Literal["xlsx", "csv"] = Field("xlsx", description="xlsx 或 csv")


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date = Field(description="所通报月份内任一天，YYYY-MM-DD")
    department_version: int | None = Field(None, ge=1)
    region_version: int | None = Field(None, ge=1)


def _period_doc(p: Period) -> dict[str, Any]:
    return {"kind": p.kind.value, "first_day": p.first.isoformat(), "last_day": p.last.isoformat(), "label": p.label}


async def _bulletin(request: web.Request, q: ReportQuery, *, with_trend: bool = True) -> data.Bulletin:
    publisher = request.app[PUBLISHER]
    dep, region = publisher.profiles(q.department_version, q.region_version)
    return await data.build(
        request.app[ENGINE],
        request.app[EVALUATION],
        _period(q),
        department_profile=dep,
        region_profile=region,
        with_trend=with_trend,
    )


@operation(
    "GET",
    "/api/v1/evaluation/hotline",
    summary="热线服务水平（GB/T 33358）：按日、时段、队列、坐席",
    tag="evaluation",
    query=HotlineQuery,
    roles=_READER_NAMES,
)
async def get_hotline(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    q = _query(HotlineQuery, request)  # type: ignore[arg-type]
    p, by = _period(q), GroupBy(q.by)
    rows = (await data.hotline(request.app[ENGINE], request.app[EVALUATION], p, by))[by]
    return json_response(
        {
            "period": _period_doc(p),
            "by": by.value,
            "answer_target_s": 15,
            "sms_target_s": 180,
            "labels": FIGURE_LABELS,
            "rows": [{"key": r.key, "label": r.label, **r.figures} for r in rows],
        }
    )


@operation(
    "GET",
    "/api/v1/evaluation/report",
    summary="领导报表：概况、排名与等级、走势、高发问题、超期与返工清单、热线",
    tag="evaluation",
    query=ReportQuery,
    roles=_READER_NAMES,
)
async def get_report(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    q = _query(ReportQuery, request)  # type: ignore[arg-type]
    b = await _bulletin(request, q)
    return json_response(
        {
            "period": _period_doc(b.period),
            "as_of": b.as_of.isoformat(),
            "profiles": {
                k: {
                    "id": p.id,
                    "version": p.version,
                    "name": p.name,
                    "max": p.max_points,
                    "grades": [{"min": g.minimum, "label": g.label} for g in p.grades],
                }
                for k, p in b.profiles.items()
            },
            "summary": b.summary,
            "trend": b.trend,
            "tables": {k: t.doc() for k, t in b.tables.items()},
        }
    )


@operation(
    "GET",
    "/api/v1/evaluation/hotspots",
    summary="热点分布：各单元网格立案数（可按大类）",
    tag="evaluation",
    query=HotspotQuery,
    roles=_READER_NAMES,
)
async def get_hotspots(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    q = _query(HotspotQuery, request)  # type: ignore[arg-type]
    p = _period(q)
    svc, engine = request.app[EVALUATION], request.app[ENGINE]
    cells = await lists.hotspots(engine, svc.window(p), q.major)
    return json_response(
        {
            "period": _period_doc(p),
            "major": q.major,
            "classes": await lists.major_classes(engine),
            "cells": [{"cell_code": k, "count": v} for k, v in sorted(cells.items())],
        }
    )


@operation(
    "GET",
    "/api/v1/evaluation/export",
    summary="报表导出（XLSX 或 CSV）",
    tag="evaluation",
    query=ExportQuery,
    roles=_READER_NAMES,
)
async def get_export(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    q = _query(ExportQuery, request)  # type: ignore[arg-type]
    b = await _bulletin(request, q, with_trend=False)
    table = b.table(q.table)
    name = f"{q.table}-{b.period.first.isoformat()}.{q.format}"
    if q.format == "csv":
        body, ctype = exports.csv_bytes(table), "text/csv; charset=utf-8"
    else:
        body = exports.xlsx([table], title=table.title, when=b.as_of)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return web.Response(
        body=body,
        content_type=ctype.split(";")[0],
        charset="utf-8" if q.format == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@operation(
    "GET", "/api/v1/evaluation/bulletins", summary="已发布的月度通报（存档）", tag="evaluation", roles=_READER_NAMES
)
async def get_bulletins(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    return json_response({"bulletins": await request.app[PUBLISHER].listing()})


@operation(
    "GET",
    "/api/v1/evaluation/bulletins/{bulletin_id}",
    summary="下载月度通报 PDF",
    tag="evaluation",
    roles=_READER_NAMES,
    statuses={200: "PDF", 404: "不存在"},
)
async def get_bulletin_pdf(request: web.Request) -> web.Response:
    await require_user(request, *READERS)
    raw = request.match_info["bulletin_id"]
    found = await request.app[PUBLISHER].content(int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if found is None:
        raise ApiError(404, "not_found", f"通报 {raw} 不存在")
    doc, content = found
    name = f"bulletin-{doc['first_day']}-{doc['department_profile']}v{doc['department_profile_version']}.pdf"
    return web.Response(
        body=content,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": doc["sha256"]},
    )


@operation(
    "POST",
    "/api/v1/evaluation/bulletins",
    summary="发布（或重新生成）某月通报；同一月份与方案版本只存一份",
    tag="evaluation",
    body=PublishBody,
    roles=tuple(r.value for r in PUBLISHERS),
    statuses={201: "已发布", 200: "已存在"},
)
async def post_bulletin(request: web.Request) -> web.Response:
    user = await require_user(request, *PUBLISHERS)
    body = await parse_body(request, PublishBody)
    publisher = request.app[PUBLISHER]
    dep, region = publisher.profiles(body.department_version, body.region_version)
    if not FIRST_YEAR <= body.start.year <= LAST_YEAR:
        raise ApiError(422, "validation_failed", f"start 应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间")
    p = period(PeriodKind.MONTH, body.start)
    now = request.app[CLOCK]()
    if p.end > request.app[EVALUATION].as_of(p).astimezone(request.app[EVALUATION].tz).date():
        raise ApiError(409, "period_running", f"{p.label}尚未结束，不能发布通报")
    existing = await publisher.find(p, dep, region)
    doc = existing or await publisher.publish(p, now, user.username, dep, region)
    return json_response(doc, status=200 if existing else 201)


def setup(app: web.Application) -> None:
    async def calendar() -> Any:
        return await app[CASES].calendar()

    app[PUBLISHER] = Publisher(app[ENGINE], app[EVALUATION], calendar, SITE)
    add_routes(app, get_hotline, get_report, get_hotspots, get_export, get_bulletins, get_bulletin_pdf, post_bulletin)
