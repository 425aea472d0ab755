"""The lists a leader's report shows beside the indicators: top classes, recurring places, the hotspot counts per
unit cell, and the details of the cases an indicator's drill-down names (overdue, rework). Aggregated in the
database (GROUP BY); case details are read only for the case numbers a drill-down returned.

"Registered in the period" is the indicators' 立案数: a 立案 history row in [start, end), less 作废 and 挂账 —
here by the case's current state (the indicators take the state at the period's end; the two differ only for a
case voided or put on 挂账 after the period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.timeutil import from_db
from core.tables import departments
from ticketing.db.tables import case_history, case_stages, cases, categories
from ticketing.evaluation.sql import Window

H = case_history


def _registered(w: Window, major: str | None = None) -> Any:
    """Cases registered in the window (one row per case: a case registered twice counts once)."""
    stmt = select(H.c.case_id).where(H.c.command == "register", H.c.at >= w.start, H.c.at < w.end).group_by(H.c.case_id)
    reg = stmt.subquery("reg")
    joined = reg.join(cases, cases.c.id == reg.c.case_id).join(categories, categories.c.code == cases.c.category_code)
    where = [cases.c.state.not_in(("invalid", "backlog"))]  # as 立案数: without 作废 and 挂账 (today's state)
    if major is not None:
        where.append(categories.c.major_code == major)
    return joined, and_(*where)


async def top_classes(engine: AsyncEngine, w: Window, limit: int = 10) -> list[dict[str, Any]]:
    """The small classes (小类) with the most cases registered in the window."""
    joined, where = _registered(w)
    n = func.count().label("count")
    stmt = (
        select(categories.c.code, categories.c.name, categories.c.major_name, categories.c.kind, n)
        .select_from(joined)
        .where(where)
        .group_by(categories.c.code, categories.c.name, categories.c.major_name, categories.c.kind)
        .order_by(n.desc(), categories.c.code)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "major_name": r["major_name"],
            "kind": "部件" if r["kind"] == "component" else "事件",
            "count": int(r["count"]),
        }
        for r in rows
    ]


async def recurring_places(engine: AsyncEngine, w: Window, minimum: int = 2, limit: int = 10) -> list[dict[str, Any]]:
    """Unit cells where cases of one small class recurred in the window (at least `minimum`), most first."""
    joined, where = _registered(w)
    n = func.count().label("count")
    stmt = (
        select(cases.c.cell_code, categories.c.code, categories.c.name, n, func.max(cases.c.address).label("address"))
        .select_from(joined)
        .where(where, cases.c.cell_code.is_not(None))
        .group_by(cases.c.cell_code, categories.c.code, categories.c.name)
        .having(n >= minimum)
        .order_by(n.desc(), cases.c.cell_code, categories.c.code)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return [
        {
            "cell_code": r["cell_code"],
            "class_code": r["code"],
            "class_name": r["name"],
            "address": r["address"] or "",
            "count": int(r["count"]),
        }
        for r in rows
    ]


async def hotspots(engine: AsyncEngine, w: Window, major: str | None = None) -> dict[str, int]:
    """Cases registered in the window per unit cell (of one major class 大类, or all)."""
    joined, where = _registered(w, major)
    stmt = (
        select(cases.c.cell_code, func.count())
        .select_from(joined)
        .where(where, cases.c.cell_code.is_not(None))
        .group_by(cases.c.cell_code)
    )
    async with engine.connect() as conn:
        return {cell: int(count) for cell, count in (await conn.execute(stmt)).all()}


async def major_classes(engine: AsyncEngine) -> list[dict[str, str]]:
    stmt = (
        select(categories.c.major_code, categories.c.major_name, categories.c.kind)
        .distinct()
        .order_by(categories.c.kind, categories.c.major_code)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [
        {"code": code, "name": name, "kind": "部件" if kind == "component" else "事件"} for code, name, kind in rows
    ]


@dataclass(frozen=True)
class CaseLine:
    case_no: str
    category: str
    address: str
    department: str
    state: str
    due_at: datetime | None  # the handling clock's due time (the latest one)
    reworks: int


async def case_lines(engine: AsyncEngine, numbers: Sequence[str]) -> list[CaseLine]:
    """Details of the named cases, in the order given (no phone numbers: a report never shows them)."""
    if not numbers:
        return []
    due = (
        select(case_stages.c.case_id, func.max(case_stages.c.due_at).label("due_at"))
        .where(case_stages.c.stage == "handling")
        .group_by(case_stages.c.case_id)
        .subquery("due")
    )
    stmt = select(
        cases.c.case_no,
        categories.c.name.label("category"),
        cases.c.address,
        cases.c.state,
        departments.c.name.label("department"),
        cases.c.department_code,
        due.c.due_at,
        cases.c.rework_count,
    ).select_from(
        cases.outerjoin(categories, categories.c.code == cases.c.category_code)
        .outerjoin(departments, departments.c.code == cases.c.department_code)
        .outerjoin(due, due.c.case_id == cases.c.id)
    )
    found: dict[str, CaseLine] = {}
    async with engine.connect() as conn:
        for start in range(0, len(numbers), 500):
            part = list(numbers[start : start + 500])
            for r in (await conn.execute(stmt.where(cases.c.case_no.in_(part)))).mappings():
                found[r["case_no"]] = CaseLine(
                    r["case_no"],
                    r["category"] or "",
                    r["address"] or "",
                    r["department"] or r["department_code"] or "",
                    r["state"],
                    from_db(r["due_at"]) if r["due_at"] else None,
                    int(r["rework_count"] or 0),
                )
    return [found[n] for n in numbers if n in found]
