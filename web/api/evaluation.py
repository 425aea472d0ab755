"""Evaluation API (/api/v1/evaluation/…): indicators, scores and drill-down as JSON, for the city's 运管服
platform and for spreadsheets. Roles: leader (领导), lead, admin; a department sees only its own figures."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core.accounts import User
from ticketing.domain.model import Role
from ticketing.evaluation.domain.catalog import MEASURES, Catalog, Indicator, ObjectKind
from ticketing.evaluation.domain.periods import Period, PeriodKind, period
from ticketing.evaluation.domain.scoring import Figure, Profile, Score
from ticketing.evaluation.files import load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService, Report
from web.auth import require_user
from web.errors import ApiError, validate
from web.json import json_response
from web.keys import CLOCK, ENGINE, SETTINGS
from web.openapi import DOC_REFINERS, add_routes, operation

EVALUATION = web.AppKey("evaluation", EvaluationService)
FIRST_YEAR, LAST_YEAR = 1970, 2999  # dates a period may touch (outside: 422, not an overflow)
ROLES = (Role.LEADER, Role.LEAD, Role.ADMIN, Role.DEPARTMENT)
_ROLE_NAMES = tuple(r.value for r in ROLES)
ObjectName = Literal["street", "community", "cell", "duty_grid", "department", "inspector", "agent", "lead",
                     "dispatcher"]
_HINTS = {
    "object": "object 应为 street、community、cell、duty_grid、department、inspector、agent、lead、dispatcher 之一",
    "period": "period 应为 day、week、month、quarter、year、range 之一",
    "start": "start 应为日期，格式 YYYY-MM-DD",
    "end": "end 应为日期，格式 YYYY-MM-DD（自定义区间的最后一天，含当天）",
    "version": "version 应为正整数",
}


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    object: ObjectName = Field("department", description="评价对象：区域（街道、社区、单元网格、责任网格）、部门或岗位")
    period: Literal["day", "week", "month", "quarter", "year", "range"] = Field(
        "month", description="周期；range 为自定义区间（须给出 end）")
    start: date = Field(description="周期内任一天（range：第一天），YYYY-MM-DD，本地时间（Asia/Shanghai）")
    end: date | None = Field(None, description="仅 range：最后一天（含）")


class IndicatorsQuery(PeriodQuery):
    indicator: str | None = Field(None, max_length=400, description="指标编号，多个用逗号分隔；缺省为全部")


class ScoresQuery(PeriodQuery):
    profile: str = Field(min_length=1, max_length=64, description="评分方案编号，如 jinniu、jinhua、region")
    version: int | None = Field(None, ge=1, description="方案版本；缺省为最新版本")
    object: ObjectName | None = Field(None, description="评价对象；缺省为方案的第一个对象")  # type: ignore[assignment]


class DrilldownQuery(PeriodQuery):
    indicator: str = Field(min_length=1, max_length=64)
    object_id: str = Field(min_length=1, max_length=64, description="对象编号：部门代码、区域编码或用户名")


def _query(model: type[PeriodQuery], request: web.Request) -> Any:
    try:
        return validate(model, dict(request.query))
    except ApiError as exc:
        fields = [d["field"] for d in exc.details or []]
        hints = [_HINTS[f] for f in fields if f in _HINTS]
        if hints:
            exc.message = f"{exc.message}。{'；'.join(hints)}"
        raise


def _period(q: PeriodQuery) -> Period:
    if q.period != "range" and q.end is not None:
        raise ApiError(422, "validation_failed", "只有自定义区间（period=range）可以给出 end")
    for day in (q.start, q.end):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ApiError(422, "validation_failed", f"日期应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间")
    try:
        return period(PeriodKind(q.period), q.start, q.end)
    except ValueError as exc:
        raise ApiError(422, "validation_failed", str(exc)) from None


def _scope(user: User, kind: ObjectKind, object_id: str | None = None) -> str | None:
    """May the user read this? Returns the one object a department is limited to (None: all)."""
    if user.role is not Role.DEPARTMENT:
        return object_id
    if kind is not ObjectKind.DEPARTMENT:
        raise ApiError(403, "forbidden", "专业部门只能查看本部门的评价")
    if object_id is not None and object_id != user.department_code:
        raise ApiError(403, "forbidden", "专业部门只能查看本部门的评价")
    return user.department_code


def _period_doc(p: Period, report: Report | None = None) -> dict[str, Any]:
    doc = {"kind": p.kind.value, "first_day": p.first.isoformat(), "last_day": p.last.isoformat(), "label": p.label}
    if report is not None:
        doc["as_of"] = report.as_of.isoformat()
    return doc


def _indicator_doc(i: Indicator, catalog: Catalog) -> dict[str, Any]:
    def part(set_id: str | None) -> dict[str, Any] | None:
        if set_id is None:
            return None
        if set_id in MEASURES:  # an inspector's attendance (duty records, trail), not a set of cases
            return {"measure": set_id, "name": MEASURES[set_id].split("：")[0], "rule": MEASURES[set_id]}
        s = catalog.sets[set_id]
        return {"set": s.id, "name": s.name, "rule": s.rule}
    kind = "quantity" if i.unit else "rate" if i.is_rate else "count"
    doc = {"id": i.id, "name": i.name, "kind": kind, "period_rule": i.period_rule,
           "higher_is_better": i.higher_is_better, "numerator": part(i.numerator),
           "denominator": part(i.denominator)}
    if i.unit:
        doc.update(unit=i.unit, scale=i.scale)
    return doc


def _figure_doc(f: Figure) -> dict[str, Any]:
    value = f.value
    doc = {"numerator": f.numerator, "denominator": f.denominator,
           "value": None if value is None else round(value, 6)}
    if f.unit:
        doc["unit"] = f.unit
    return doc


@operation("GET", "/api/v1/evaluation/indicators", summary="评价指标（按对象与周期，含分子分母）", tag="evaluation",
           query=IndicatorsQuery, roles=_ROLE_NAMES)
async def get_indicators(request: web.Request) -> web.Response:
    user = await require_user(request, *ROLES)
    q = _query(IndicatorsQuery, request)
    kind = ObjectKind(q.object)
    only = _scope(user, kind)
    svc = request.app[EVALUATION]
    ids = [i.strip() for i in (q.indicator or "").split(",") if i.strip()]
    report = await svc.report(kind, _period(q), indicators=ids, only=only)
    return json_response({
        "object": kind.value, "object_label": kind.label, "period": _period_doc(report.period, report),
        "catalog_version": svc.catalog.version,
        "indicators": [_indicator_doc(i, svc.catalog) for i in report.indicators],
        "rows": [{"object_id": r.object_id, "name": r.name, "counts": r.counts,
                  "values": {k: _figure_doc(f) for k, f in r.figures.items()}} for r in report.rows],
    })


def _score_doc(s: Score, rank: int, names: dict[str, str]) -> dict[str, Any]:
    return {"rank": rank, "object_id": s.object_id, "name": names.get(s.object_id, s.object_id),
            "score": s.points, "max": s.max_points, "grade": s.grade, "formula": s.formula,
            "parts": [{"indicator": p.indicator, "name": p.name, "rule": p.rule, "points": p.points,
                       "formula": p.formula, **_figure_doc(p.figure)} for p in s.parts]}


def _profile(svc: EvaluationService, q: ScoresQuery) -> Profile:
    profile = svc.profiles.get(q.profile, q.version)
    if profile is None:
        known = "、".join(f"{p.id}（第 {p.version} 版）" for p in svc.profiles.latest())
        raise ApiError(404, "not_found", f"评分方案 {q.profile} 不存在或没有该版本；可用：{known}")
    return profile


@operation("GET", "/api/v1/evaluation/scores", summary="综合评分与排名（含计算公式和所用数据）", tag="evaluation",
           query=ScoresQuery, roles=_ROLE_NAMES)
async def get_scores(request: web.Request) -> web.Response:
    user = await require_user(request, *ROLES)
    q = _query(ScoresQuery, request)
    svc = request.app[EVALUATION]
    profile = _profile(svc, q)
    kind = ObjectKind(q.object) if q.object else profile.objects[0]
    only = _scope(user, kind)
    all_rows, scored = await svc.scores(profile, kind, _period(q))
    names = {r.object_id: r.name for r in all_rows.rows}
    ranked = [_score_doc(s, n, names) for n, s in enumerate(scored, start=1)]
    if only is not None:  # a department sees its own line (and its rank among all)
        ranked = [r for r in ranked if r["object_id"] == only]
    return json_response({
        "profile": {"id": profile.id, "version": profile.version, "name": profile.name,
                    "description": profile.description, "max": profile.max_points},
        "object": kind.value, "period": _period_doc(all_rows.period, all_rows), "rows": ranked,
    })


@operation("GET", "/api/v1/evaluation/drilldown", summary="指标明细：分子、分母背后的案件编号", tag="evaluation",
           query=DrilldownQuery, roles=_ROLE_NAMES)
async def get_drilldown(request: web.Request) -> web.Response:
    user = await require_user(request, *ROLES)
    q = _query(DrilldownQuery, request)
    kind = ObjectKind(q.object)
    _scope(user, kind, q.object_id)
    svc = request.app[EVALUATION]
    p = _period(q)
    found = await svc.drilldown(q.indicator, kind, q.object_id, p)
    catalog = svc.catalog

    def part(set_id: str | None, numbers: list[str] | None) -> dict[str, Any] | None:
        if set_id is None or numbers is None:
            return None
        return {"set": set_id, "name": catalog.sets[set_id].name, "count": len(numbers), "case_nos": numbers}

    ind = found.indicator
    return json_response({
        "indicator": _indicator_doc(ind, catalog), "object": kind.value, "object_id": q.object_id,
        "period": _period_doc(p), "numerator": part(ind.numerator, found.numerator),
        "denominator": part(ind.denominator, found.denominator),
    })


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    catalog = load_catalog()
    app[EVALUATION] = EvaluationService(app[ENGINE], catalog, load_profiles(catalog),
                                        ZoneInfo(settings.working_time.timezone), app[CLOCK])
    add_routes(app, get_indicators, get_scores, get_drilldown)
    app.setdefault(DOC_REFINERS, []).append(_document_indicators)


async def _document_indicators(app: web.Application, document: dict[str, Any]) -> None:
    """The drilldown's `indicator`: exactly the catalog's indicator ids (what the service accepts)."""
    ids = sorted(app[EVALUATION].catalog.indicators)
    for param in document["paths"].get("/api/v1/evaluation/drilldown", {}).get("get", {}).get("parameters", []):
        if param["name"] == "indicator" and ids:
            param["schema"] = {**param["schema"], "enum": ids}
