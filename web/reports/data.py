"""What a leader's report holds for one period: summary, rankings with grades, trend, top classes, recurring
places, overdue and rework lists by department and the hotline service levels, as named tables.

The same `Bulletin` feeds /reports (JSON), the XLSX/CSV exports and the monthly 通报 PDF, so the three never
disagree. Figures come from the evaluation service (indicators, scores) and from the ACD statistics
(callcenter.call_queries.hotline_inputs → callcenter.domain.hotline_levels), nothing is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.call_queries import hotline_inputs
from callcenter.domain.hotline_levels import FIGURE_LABELS, RATE_FIGURES, GroupBy, LevelsRow, levels
from ticketing.domain.model import State
from ticketing.evaluation import lists
from ticketing.evaluation.domain.catalog import ObjectKind
from ticketing.evaluation.domain.periods import Period
from ticketing.evaluation.domain.scoring import Profile, Score
from ticketing.evaluation.service import EvaluationService, Report

TREND_PERIODS = 6
DEPARTMENT_PROFILE, REGION_PROFILE = "jinniu", "region"
INSPECTOR_PROFILE = "inspector"  # the post ranking of inspectors, with their attendance (newest version)
HOTLINE_COLUMNS = (
    "offered",
    "answered",
    "answered_within_target",
    "answer_rate",
    "service_level",
    "abandoned",
    "average_abandon_s",
    "average_wait_s",
    "average_handle_s",
    "callbacks_requested",
    "callbacks_made",
    "callbacks_reached",
    "callback_average_delay_s",
    "surveys",
    "satisfaction_rate",
    "sms",
    "sms_within_target",
    "sms_within_target_rate",
)
CALL_ONLY = (
    "offered",
    "answered",
    "answered_within_target",
    "answer_rate",
    "service_level",
    "abandoned",
    "average_abandon_s",
    "average_wait_s",
    "average_handle_s",
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | rate (0..1) | seconds | score


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]

    def doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": self.rows,
        }


@dataclass(frozen=True)
class Bulletin:
    period: Period
    as_of: datetime
    profiles: dict[str, Profile]  # role (department, region) -> the profile version used
    summary: list[dict[str, Any]]
    tables: dict[str, Table] = field(default_factory=dict)
    trend: list[dict[str, Any]] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return self.tables[name]


def _sum(report: Report, set_id: str) -> int:
    return sum(r.counts.get(set_id, 0) for r in report.rows)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _score_table(name: str, title: str, kind_label: str, scores: list[Score], report: Report) -> Table:
    names = {r.object_id: r.name for r in report.rows}
    indicator_ids = list(dict.fromkeys(p.indicator for s in scores for p in s.parts))
    first = scores[0].parts if scores else ()
    labels = {p.indicator: p.name for p in first}
    counts = {p.indicator for p in first if p.figure.denominator is None}  # 立案数 is a count, not a rate
    amounts = {p.indicator for p in first if p.figure.unit}  # 在岗时长 (小时), 巡查里程 (公里): two decimals
    units = {p.indicator: p.figure.unit for p in first if p.figure.unit}
    columns = (
        Column("rank", "排名", "int"),
        Column("object_id", "编码"),
        Column("name", kind_label),
        Column("score", "得分", "score"),
        Column("grade", "等级"),
        *(Column(i, f"{labels.get(i, i)}（{units[i]}）" if i in units else labels.get(i, i),
                 "score" if i in amounts else "int" if i in counts else "rate") for i in indicator_ids),
        Column("formula", "计算公式"),
    )
    rows = []
    for rank, s in enumerate(scores, start=1):
        row: dict[str, Any] = {
            "rank": rank,
            "object_id": s.object_id,
            "name": names.get(s.object_id, s.object_id),
            "score": s.points,
            "grade": s.grade or "",
            "formula": s.formula,
        }
        row.update({p.indicator: p.figure.value for p in s.parts})
        rows.append(row)
    return Table(name, title, columns, rows)


def _case_table(name: str, title: str, lines: list[tuple[str, lists.CaseLine]], tz: ZoneInfo, as_of: datetime) -> Table:
    columns = (
        Column("department", "责任部门"),
        Column("case_no", "案件编号"),
        Column("category", "类别"),
        Column("address", "地址"),
        Column("state", "当前状态"),
        Column("due_at", "处置时限"),
        Column("overdue_hours", "超时（小时）", "int"),
        Column("reworks", "返工次数", "int"),
    )
    rows = []
    for department, line in lines:
        due = line.due_at
        rows.append(
            {
                "department": department,
                "case_no": line.case_no,
                "category": line.category,
                "address": line.address,
                "state": State(line.state).label,
                "due_at": due.astimezone(tz).strftime("%Y-%m-%d %H:%M") if due else "",
                "overdue_hours": _overdue_hours(line, as_of),
                "reworks": line.reworks,
            }
        )
    return Table(name, title, columns, rows)


def _overdue_hours(line: lists.CaseLine, as_of: datetime) -> int | None:
    """Whole hours past the handling due time for a case still open today; None once it is done."""
    if line.due_at is None or line.state in ("handled", "closed", "invalid", "backlog"):
        return None
    return max(0, int((as_of - line.due_at).total_seconds() // 3600))


def hotline_table(name: str, title: str, rows: list[LevelsRow], by: GroupBy) -> Table:
    keys = CALL_ONLY if by in (GroupBy.QUEUE, GroupBy.AGENT) else HOTLINE_COLUMNS
    head = {
        GroupBy.DAY: "日期",
        GroupBy.HOUR: "时段",
        GroupBy.QUEUE: "队列",
        GroupBy.AGENT: "坐席",
        GroupBy.TOTAL: "范围",
    }[by]

    def kind(k: str) -> str:
        return "rate" if k in RATE_FIGURES else "seconds" if k.endswith("_s") else "int"

    columns = (Column("label", head), *(Column(k, FIGURE_LABELS[k], kind(k)) for k in keys))
    return Table(
        name, title, columns, [{"key": r.key, "label": r.label, **{k: r.figures[k] for k in keys}} for r in rows]
    )


async def hotline(
    engine: AsyncEngine, svc: EvaluationService, p: Period, *groupings: GroupBy
) -> dict[GroupBy, list[LevelsRow]]:
    """The hotline levels of the period (up to now while it runs), read once and grouped each way asked."""
    start, _ = p.bounds(svc.tz)
    inputs = await hotline_inputs(engine, start, svc.as_of(p))
    return {
        by: levels(
            inputs.calls, inputs.callbacks, inputs.ratings, inputs.sms, by=by, tz=svc.tz, first=p.first, end=p.end
        )
        for by in groupings
    }


async def _lists_by_department(
    svc: EvaluationService, departments: Report, indicator: str, p: Period
) -> list[tuple[str, lists.CaseLine]]:
    out: list[tuple[str, lists.CaseLine]] = []
    for row in departments.rows:
        found = await svc.drilldown(indicator, ObjectKind.DEPARTMENT, row.object_id, p)
        out.extend((row.name, line) for line in await lists.case_lines(svc.engine, found.numerator))
    return out


async def _trend(svc: EvaluationService, p: Period) -> list[dict[str, Any]]:
    periods = [p]
    for _ in range(TREND_PERIODS - 1):
        try:
            periods.insert(0, periods[0].previous())
        except (ValueError, OverflowError):  # before year 1: the trend starts later
            break
    out = []
    for q in periods:
        got = await svc.reports([ObjectKind.DEPARTMENT, ObjectKind.STREET], q)
        dep, street = got[ObjectKind.DEPARTMENT], got[ObjectKind.STREET]
        due = _sum(street, "due_close")
        out.append(
            {
                "period": q.label,
                "first_day": q.first.isoformat(),
                "registered": _sum(street, "registered"),
                "closed": _sum(street, "closed"),
                "closing_rate": _rate(_sum(street, "closed"), due),
                "closing_on_time_rate": _rate(_sum(street, "closed_on_time"), due),
                "handling_on_time_rate": _rate(_sum(dep, "handled_on_time"), _sum(dep, "due_handle")),
            }
        )
    return out


async def build(
    engine: AsyncEngine,
    svc: EvaluationService,
    p: Period,
    *,
    department_profile: Profile,
    region_profile: Profile,
    with_trend: bool = True,
) -> Bulletin:
    """Everything the report shows for the period, under the two profiles given (their versions are kept)."""
    got = await svc.reports([ObjectKind.DEPARTMENT, ObjectKind.STREET], p)
    dep, street = got[ObjectKind.DEPARTMENT], got[ObjectKind.STREET]
    _, dep_scores = await svc.scores(department_profile, ObjectKind.DEPARTMENT, p)
    _, region_scores = await svc.scores(region_profile, ObjectKind.STREET, p)
    inspector_profile = svc.profiles.get(INSPECTOR_PROFILE)
    inspectors, inspector_scores = (
        await svc.scores(inspector_profile, ObjectKind.INSPECTOR, p) if inspector_profile else (None, [])
    )
    w = svc.window(p)
    lines = await hotline(engine, svc, p, *GroupBy)
    total = lines[GroupBy.TOTAL][0].figures
    due_close = _sum(street, "due_close")
    summary = [
        {"key": "registered", "label": "立案数", "value": _sum(street, "registered"), "kind": "int"},
        {"key": "closed", "label": "结案数", "value": _sum(street, "closed"), "kind": "int"},
        {"key": "closing_rate", "label": "结案率", "value": _rate(_sum(street, "closed"), due_close), "kind": "rate"},
        {
            "key": "closing_on_time_rate",
            "label": "按期结案率",
            "value": _rate(_sum(street, "closed_on_time"), due_close),
            "kind": "rate",
        },
        {"key": "rework_rate", "label": "返工率", "value": _rate(_sum(street, "reworked"), due_close), "kind": "rate"},
        {"key": "overdue_pending", "label": "超期待处置（件）", "value": _sum(dep, "overdue_pending"), "kind": "int"},
        {"key": "offered", "label": "热线呼入", "value": total["offered"], "kind": "int"},
        {"key": "service_level", "label": "15秒接通率", "value": total["service_level"], "kind": "rate"},
        {"key": "satisfaction_rate", "label": "满意率", "value": total["satisfaction_rate"], "kind": "rate"},
    ]
    tables = [
        _score_table(
            "department_ranking",
            f"部门综合评价排名（{department_profile.name} 第{department_profile.version}版）",
            "部门",
            dep_scores,
            dep,
        ),
        _score_table(
            "region_ranking",
            f"街道综合评价排名（{region_profile.name} 第{region_profile.version}版）",
            "街道",
            region_scores,
            street,
        ),
        _score_table(
            "inspector_ranking",
            f"监督员岗位评价排名（{inspector_profile.name} 第{inspector_profile.version}版，含在岗时长与巡查里程）"
            if inspector_profile
            else "监督员岗位评价排名",
            "监督员",
            inspector_scores,
            inspectors or street,
        ),
        _indicator_table("department_indicators", "部门评价指标", "部门", dep),
        _indicator_table("street_indicators", "街道评价指标", "街道", street),
        Table(
            "top_classes",
            "高发问题（小类）",
            (
                Column("name", "类别"),
                Column("major_name", "大类"),
                Column("kind", "部件/事件"),
                Column("count", "立案数", "int"),
            ),
            await lists.top_classes(engine, w),
        ),
        Table(
            "recurring_places",
            "反复发生的地点（同一单元网格同类问题）",
            (
                Column("cell_code", "单元网格"),
                Column("address", "地址"),
                Column("class_name", "类别"),
                Column("count", "立案数", "int"),
            ),
            await lists.recurring_places(engine, w),
        ),
        _case_table(
            "overdue",
            "超期未处置案件（按部门）",
            await _lists_by_department(svc, dep, "overdue_pending_rate", p),
            svc.tz,
            svc.as_of(p),
        ),
        _case_table(
            "rework", "返工案件（按部门）", await _lists_by_department(svc, dep, "rework_rate", p), svc.tz, svc.as_of(p)
        ),
        *(
            hotline_table(f"hotline_{by.value}", f"热线服务水平（{by.label}）", lines[by], by)
            for by in (GroupBy.DAY, GroupBy.HOUR, GroupBy.QUEUE, GroupBy.AGENT)
        ),
    ]
    return Bulletin(
        p,
        svc.as_of(p),
        {"department": department_profile, "region": region_profile},
        summary,
        {t.name: t for t in tables},
        await _trend(svc, p) if with_trend else [],
    )


def _indicator_table(name: str, title: str, kind_label: str, report: Report) -> Table:
    columns = (
        Column("object_id", "编码"),
        Column("name", kind_label),
        *(Column(i.id, i.name, "rate" if i.is_rate else "int") for i in report.indicators),
    )
    rows = [
        {"object_id": r.object_id, "name": r.name, **{k: f.value for k, f in r.figures.items()}} for r in report.rows
    ]
    return Table(name, title, columns, rows)


TABLE_NAMES = (
    "department_ranking",
    "region_ranking",
    "inspector_ranking",
    "department_indicators",
    "street_indicators",
    "top_classes",
    "recurring_places",
    "overdue",
    "rework",
    "hotline_day",
    "hotline_hour",
    "hotline_queue",
    "hotline_agent",
)
