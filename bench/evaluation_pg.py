"""PostgreSQL half of `python -m bench.evaluation --pg`: 1,000,000 cases and about 8,100,000 history rows
generated inside the server (INSERT … SELECT over generate_series, one statement per workflow step, in
chronological order so that history ids grow with time within a case), in a schema of its own that is dropped
after. The case outcomes follow bench.evaluation.synth's rule (by i % 20); times are spread over one year.

The baseline streams every history row and stage clock server-side (ordered by case id), groups them per case
in Python and derives the department family's facts with the same `python_facts` as the SQLite baseline.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from sqlalchemy import select, text

from ticketing.db.tables import case_history, case_stages
from ticketing.evaluation.domain.catalog import Family, evaluate

YEAR_START = "2025-12-31 16:00:00"  # 2026-01-01 00:00 in Asia/Shanghai, stored as naive UTC
N_DEPTS = 18

# Per case i: t (creation), o (outcome = i % 20), d = t + 25 min (dispatch), h (handled).
BASE = f"""
SELECT i, o, t, t + interval '25 minutes' AS d,
       CASE WHEN o = 3 THEN t + interval '25 minutes' + interval '4 days'
            WHEN o = 4 THEN t + interval '25 minutes' + interval '1 day 5 hours'
            ELSE t + interval '25 minutes' + interval '1 day' END AS h,
       (ARRAY['zfj','zjj','szs','hws','lhs','jjdd','jtj','sthj','scjg','xfdd','wyjd','gdgs','sgs','rqgs','dxgs',
              'ydgs','gdwl','gjgs'])[1 + i % {N_DEPTS}] AS dept,
       '330424' || lpad((1 + i % 5)::text, 3, '0') || lpad((1 + i % 4)::text, 3, '0')
                || lpad((1 + i % 10)::text, 2, '0') AS cell
FROM (SELECT i, i % 20 AS o,
             timestamp '{YEAR_START}' + ((i::bigint * 7919) % 31536000) * interval '1 second' AS t
      FROM generate_series(1, :n) AS i) s
"""

# (command, actor, role, from, to, at, condition, payload) in chronological order for every case.
STEPS = [
    ("create", "'agent'||lpad((i%9)::text,2,'0')", "agent", "reported", "reported", "t", "true", "'{}'"),
    (
        "accept",
        "'agent'||lpad((i%9)::text,2,'0')",
        "agent",
        "reported",
        "accepted",
        "t + interval '5 minutes'",
        "true",
        "'{}'",
    ),
    (
        "register",
        "'lead'||lpad((i%3)::text,2,'0')",
        "lead",
        "accepted",
        "registered",
        "t + interval '15 minutes'",
        "true",
        "'{}'",
    ),
    (
        "invalidate",
        "'lead'||lpad((i%3)::text,2,'0')",
        "lead",
        "registered",
        "invalid",
        "t + interval '20 minutes'",
        "o = 0",
        "'{}'",
    ),
    (
        "dispatch",
        "'dispatcher'||lpad((i%4)::text,2,'0')",
        "dispatcher",
        "registered",
        "dispatched",
        "d",
        "o <> 0",
        "json_build_object('department', dept)::text",
    ),
    (
        "acknowledge",
        "'dept-'||dept",
        "department",
        "dispatched",
        "dispatched",
        "d + interval '30 minutes'",
        "o <> 0",
        "'{}'",
    ),
    (
        "request_backlog",
        "'dept-'||dept",
        "department",
        "dispatched",
        "dispatched",
        "d + interval '1 day'",
        "o = 1",
        "'{}'",
    ),
    (
        "approve_backlog",
        "'dispatcher'||lpad((i%4)::text,2,'0')",
        "dispatcher",
        "dispatched",
        "backlog",
        "d + interval '1 day 1 hour'",
        "o = 1",
        "'{}'",
    ),
    ("submit_result", "'dept-'||dept", "department", "dispatched", "handled", "d + interval '1 day'", "o = 4", "'{}'"),
    (
        "check_fail",
        "'inspector'||lpad((i%7)::text,2,'0')",
        "inspector",
        "handled",
        "dispatched",
        "d + interval '1 day 1 hour'",
        "o = 4",
        "'{}'",
    ),
    ("submit_result", "'dept-'||dept", "department", "dispatched", "handled", "h", "o >= 3", "'{}'"),
    (
        "check_pass",
        "'inspector'||lpad((i%7)::text,2,'0')",
        "inspector",
        "handled",
        "handled",
        "h + interval '1 hour'",
        "o >= 3",
        "'{}'",
    ),
    (
        "close",
        "'lead'||lpad((i%3)::text,2,'0')",
        "lead",
        "handled",
        "closed",
        "h + interval '2 hours'",
        "o >= 3",
        "'{}'",
    ),
    (
        "rate",
        "'system'",
        "system",
        "closed",
        "closed",
        "h + interval '1 day'",
        "o >= 3 AND i % 2 = 0",
        "'{\"satisfaction\": 1}'",
    ),
]

# (stage, started, finished (NULL = open), due, condition)
STAGES = [
    ("acceptance", "t", "t + interval '5 minutes'", "t + interval '30 minutes'", "true"),
    ("registration", "t + interval '5 minutes'", "t + interval '15 minutes'", "t + interval '2 hours'", "true"),
    (
        "dispatching",
        "t + interval '15 minutes'",
        "CASE WHEN o = 0 THEN t + interval '20 minutes' ELSE d END",
        "t + interval '75 minutes'",
        "true",
    ),
    ("handling", "d", "NULL", "d + interval '3 days'", "o IN (1, 2)"),
    ("handling", "d", "d + interval '1 day'", "d + interval '3 days'", "o = 4"),
    ("checking", "d + interval '1 day'", "d + interval '1 day 1 hour'", "d + interval '1 day 4 hours'", "o = 4"),
    ("handling", "d + interval '1 day 1 hour'", "h", "d + interval '2 days 1 hour'", "o = 4"),
    ("handling", "d", "h", "d + interval '3 days'", "o >= 3 AND o <> 4"),
    ("checking", "h", "h + interval '1 hour'", "h + interval '4 hours'", "o >= 3"),
    ("closing", "h + interval '1 hour'", "h + interval '2 hours'", "h + interval '3 hours'", "o >= 3"),
]


def schema_name() -> str:
    return f"bench_eval_{os.getpid()}"


async def load(engine: Any, n: int) -> dict[str, float]:
    """Generate the rows inside PostgreSQL; returns seconds per part."""
    took: dict[str, float] = {}
    async with engine.begin() as conn:
        began = time.perf_counter()
        await conn.execute(
            text(f"""
            INSERT INTO cases (id, case_no, state, version, source, category_code, description, department_code,
                               street_code, community_code, cell_code, rework_count, reopen_count, extension_count,
                               created_by, created_at, updated_at)
            SELECT i, 'B' || lpad(i::text, 11, '0'),
                   CASE WHEN o = 0 THEN 'invalid' WHEN o = 1 THEN 'backlog' WHEN o = 2 THEN 'dispatched'
                        ELSE 'closed' END, 1, CASE WHEN i % 5 = 0 THEN 'inspector' ELSE 'hotline' END, '10118',
                   'bench', dept, substr(cell, 1, 9), substr(cell, 1, 12), cell, 0, 0, 0, 'bench', t, t
            FROM ({BASE}) b"""),
            {"n": n},
        )
        took["cases"] = time.perf_counter() - began
        began = time.perf_counter()
        for command, actor, role, frm, to, at, cond, payload in STEPS:
            await conn.execute(
                text(f"""
                INSERT INTO case_history (case_id, at, actor, actor_role, command, from_state, to_state, payload)
                SELECT i, {at}, {actor}, '{role}', '{command}', '{frm}', '{to}', ({payload})::json
                FROM ({BASE}) b WHERE {cond} ORDER BY i"""),
                {"n": n},
            )
        took["history"] = time.perf_counter() - began
        began = time.perf_counter()
        for stage, started, finished, due, cond in STAGES:
            await conn.execute(
                text(f"""
                INSERT INTO case_stages (case_id, stage, started_at, due_at, yellow_at, limit_value, limit_unit,
                                         finished_at, light)
                SELECT i, '{stage}', {started}, {due}, {due}, 1.0, 'working_days', {finished}, 'green'
                FROM ({BASE}) b WHERE {cond}"""),
                {"n": n},
            )
        took["stages"] = time.perf_counter() - began
        await conn.execute(
            text("SELECT setval(pg_get_serial_sequence('case_history', 'id'), (SELECT max(id) FROM case_history))")
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        began = time.perf_counter()
        await conn.execute(text("ANALYZE"))
        took["analyze"] = time.perf_counter() - began
    return took


async def count(engine: Any, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def streamed_loop(engine: Any, catalog: Any, start: Any, end: Any, python_facts: Any) -> tuple[float, Counter]:
    """Every history row and stage clock streamed server-side in case order; facts per case in Python."""
    sets = [s for s in catalog.sets.values() if s.family is Family.CASE]
    counts: Counter = Counter()
    began = time.perf_counter()
    async with engine.connect() as hconn, engine.connect() as sconn:
        hist = await hconn.stream(
            select(case_history).order_by(case_history.c.case_id, case_history.c.id).execution_options(yield_per=20000)
        )
        stag = await sconn.stream(
            select(case_stages).order_by(case_stages.c.case_id).execution_options(yield_per=20000)
        )
        stage_iter = stag.__aiter__()
        pending: Any = None
        current: int | None = None
        history: list[Any] = []

        async def stages_of(case_id: int) -> list[Any]:
            nonlocal pending
            out = []
            while True:
                if pending is None:
                    try:
                        pending = await stage_iter.__anext__()
                    except StopAsyncIteration:
                        return out
                if pending.case_id > case_id:
                    return out
                if pending.case_id == case_id:
                    out.append(pending)
                pending = None

        async def flush() -> None:
            if current is None:
                return
            stages = await stages_of(current)
            facts = python_facts(history, stages, start, end)
            if not facts:
                return
            dept = next(
                (
                    h.payload.get("department")
                    for h in reversed(history)
                    if h.command in ("dispatch", "reopen") and h.at < end
                ),
                None,
            )
            for s in sets:
                if dept and evaluate(s.expr, facts):
                    counts[(dept, s.id)] += 1

        async for row in hist:
            if row.case_id != current:
                await flush()
                current, history = row.case_id, []
            history.append(row)
        await flush()
    return time.perf_counter() - began, counts
