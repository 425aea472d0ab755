"""The evaluation's summary rows (tables.py) derived from the history and the stage clocks, by SQL only.

The same statements serve the writer (one case, in the transaction that changed it: `refresh`) and the
rebuild (every case: `rebuild_statements`, run by `hotline evaluation rebuild` and migration
0014_evaluation_facts). The history stays the truth; these rows can always be recomputed from it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    not_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ticketing.db.tables import case_history, case_stages, cases
from ticketing.evaluation.tables import evaluation_act_facts, evaluation_case_facts

H, ST, F, A = case_history, case_stages, evaluation_case_facts, evaluation_act_facts
DISPATCHES = ("dispatch", "reopen")  # the acts that give a case to a department
CHECKS = ("check_pass", "check_fail")
POST_COMMANDS = ("create", "report_verified", *CHECKS, "accept", "register", "dispatch")
STAGE_OF_ACT = {"accept": "acceptance", "register": "registration", "dispatch": "dispatching",
                "check_pass": "checking", "check_fail": "checking"}


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970 of a stored (naive UTC) timestamp, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _later(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """The later of a (never NULL) and b (NULL = none); SQLite's max(a, b) would give NULL for a NULL b."""
    return case((b.is_(None), a), (a >= b, a), else_=b)


CaseId = int | ColumnElement[int] | None  # one case (a value or the writer's bound parameter), or None: all


def case_rows(case_id: CaseId = None) -> Any:
    """The summary row of each case with history (or of the one case): columns in the table's order."""
    hist = select(
        H.c.case_id,
        func.min(H.c.at).label("first_at"),
        func.max(H.c.at).label("h_last"),
        func.max(H.c.id).label("last_id"),
        func.max(case((H.c.command.in_(DISPATCHES), H.c.id))).label("dispatch_id"),
        func.min(case((H.c.command == "register", H.c.at))).label("first_register_at"),
        func.max(case((H.c.command == "register", H.c.at))).label("last_register_at"),
        func.max(case((H.c.command == "submit_result", H.c.at))).label("last_submit_at"),
        func.max(case((H.c.command == "close", H.c.at))).label("last_close_at"),
        func.min(case((H.c.to_state == "invalid", H.c.at))).label("first_invalid_at"),
        _count(H.c.command == "check_fail").label("rework_n"),
        _count(H.c.command == "approve_extension").label("extension_n"),
    ).group_by(H.c.case_id)
    running, handling = ST.c.finished_at.is_(None), ST.c.stage == "handling"
    stg = select(
        ST.c.case_id,
        func.max(ST.c.started_at).label("s_started"),
        func.max(ST.c.finished_at).label("s_finished"),
        func.max(ST.c.paused_at).label("s_paused"),
        func.max(case((and_(handling, ST.c.finished_at > ST.c.due_at), ST.c.finished_at))).label("late_handling_at"),
        func.min(case((running, ST.c.due_at))).label("open_due_at"),
        func.min(case((and_(running, ST.c.paused_at.is_(None)), ST.c.due_at))).label("open_unpaused_due_at"),
        func.min(case((and_(running, handling), ST.c.due_at))).label("open_handling_due_at"),
    ).group_by(ST.c.case_id)
    if case_id is not None:
        hist, stg = hist.where(H.c.case_id == case_id), stg.where(ST.c.case_id == case_id)
    h, s = hist.subquery("hist"), stg.subquery("stg")
    last, disp = H.alias("h_last"), H.alias("h_disp")
    last_at = _later(_later(_later(h.c.h_last, s.c.s_started), s.c.s_finished), s.c.s_paused)
    stmt = (select(h.c.case_id, h.c.first_at, last_at, last.c.to_state, disp.c.payload["department"].as_string(),
                   cases.c.street_code, cases.c.community_code, cases.c.cell_code,
                   case((cases.c.source != "inspector", 1), else_=0), h.c.first_register_at, h.c.last_register_at,
                   h.c.last_submit_at, h.c.last_close_at,
                   h.c.first_invalid_at, h.c.rework_n, h.c.extension_n, s.c.late_handling_at, s.c.open_due_at,
                   s.c.open_unpaused_due_at, s.c.open_handling_due_at)
            .select_from(h.join(last, last.c.id == h.c.last_id).join(cases, cases.c.id == h.c.case_id)
                         .outerjoin(s, s.c.case_id == h.c.case_id).outerjoin(disp, disp.c.id == h.c.dispatch_id)))
    # A rebuild writes the rows in time order, as the writer appends them: a period's rows lie together.
    return stmt.order_by(h.c.first_at) if case_id is None else stmt


def _stage_of(command: ColumnElement[str]) -> ColumnElement[Any]:
    return case(*((command == act, stage) for act, stage in STAGE_OF_ACT.items()), else_=None)


def act_statements(case_id: CaseId = None) -> list[Executable]:
    """Insert the act rows (of one case, or all) and fill in what 核实 and 派遣 need from later rows."""
    # 受理/立案/派遣/核查 on time: a clock of its stage finished at the act, within its limit (a join, so that
    # the rebuild hashes the clocks once instead of probing them for every act).
    in_time = select(ST.c.case_id, ST.c.stage, ST.c.finished_at).where(ST.c.finished_at <= ST.c.due_at)
    rows = select(H.c.id, H.c.case_id, H.c.at, H.c.actor, H.c.actor_role, H.c.command)
    mine: list[ColumnElement[bool]] = []
    if case_id is not None:
        in_time, rows = in_time.where(ST.c.case_id == case_id), rows.where(H.c.case_id == case_id)
        mine = [A.c.case_id == case_id]
    clocks = in_time.group_by(ST.c.case_id, ST.c.stage, ST.c.finished_at).subquery("in_time")
    rows = (rows.add_columns(case((clocks.c.case_id.is_not(None), 1), else_=0), F.c.first_register_at,
                             F.c.first_invalid_at)
            .select_from(H.join(F, F.c.case_id == H.c.case_id).outerjoin(
                clocks, and_(clocks.c.case_id == H.c.case_id, clocks.c.stage == _stage_of(H.c.command),
                             clocks.c.finished_at == H.c.at)))
            .where(H.c.command.in_(POST_COMMANDS)))
    if case_id is None:
        rows = rows.order_by(H.c.at)
    # The case's first 立案 / 作废 come from its summary row (written first).
    insert = A.insert().from_select(["history_id", "case_id", "at", "actor", "actor_role", "command",
                                     "stage_on_time", "registered_at", "void_at"], rows)
    other, later = H.alias("other"), H.alias("later")

    def other_act(command: str, before: bool) -> ColumnElement[bool]:
        order = other.c.id < A.c.history_id if before else other.c.id > A.c.history_id
        return exists(select(literal(1)).where(other.c.case_id == A.c.case_id, other.c.command == command, order))

    asked = (select(func.max(epoch_seconds(other.c.at))).where(
        other.c.case_id == A.c.case_id, other.c.command == "request_verification", other.c.id < A.c.history_id)
        .scalar_subquery())
    delay = update(A).where(*mine, A.c.command == "report_verified", other_act("request_verification", True)
                            ).values(verify_delay=epoch_seconds(A.c.at) - asked)
    redispatched = exists(select(literal(1)).where(
        later.c.case_id == A.c.case_id, later.c.command == "dispatch", later.c.id > A.c.history_id,
        later.c.id < other.c.id).correlate_except(later))  # the act row is two levels up: correlate explicitly
    first_return = (select(func.min(other.c.at)).where(
        other.c.case_id == A.c.case_id, other.c.command == "approve_return", other.c.id > A.c.history_id,
        not_(redispatched)).scalar_subquery())
    returned = update(A).where(*mine, A.c.command == "dispatch", other_act("approve_return", False)
                               ).values(returned_at=first_return)
    return [insert, delay, returned]


@cache
def _refresh_statements() -> tuple[tuple[Executable, ...], tuple[Executable, ...], tuple[Executable, ...]]:
    """The writer's statements, built once with the case id as a bound parameter: building these expressions
    is most of a refresh's Python cost (SQLAlchemy then finds each compiled form in its statement cache).
    Returned as (remove the old rows, insert the rows, fill in from later acts)."""
    one = bindparam("facts_case_id", type_=Integer)
    insert_acts, *later = act_statements(one)
    return ((delete(F).where(F.c.case_id == one), delete(A).where(A.c.case_id == one)),
            (F.insert().from_select(list(F.c.keys()), case_rows(one)), insert_acts), tuple(later))


async def refresh(conn: AsyncConnection, case_id: int, *, new: bool = False) -> None:
    """Recompute the one case's rows (called in the transaction that wrote its history or clocks). A `new`
    case has no rows yet and only its creation act, which no later act fills in: two inserts are all."""
    remove, insert, fill_in = _refresh_statements()
    for stmt in insert if new else (*remove, *insert, *fill_in):
        await conn.execute(stmt, {"facts_case_id": case_id})


def rebuild_statements() -> list[Executable]:
    """Every row again from the history: empty both tables, then derive them set-wise."""
    return [delete(A), delete(F), F.insert().from_select(list(F.c.keys()), case_rows()), *act_statements()]


async def rebuild(conn: AsyncConnection) -> dict[str, int]:
    for stmt in rebuild_statements():
        await conn.execute(stmt)
    counts = {}
    for name, table in (("cases", F), ("acts", A)):
        counts[name] = int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    return counts
