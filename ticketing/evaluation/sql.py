"""The evaluation adapter: every fact of the catalog as SQL, aggregated in the database (SQLAlchemy Core).

One query per object kind computes every set of the catalog for every object at once (a GROUP BY over the
history and stage tables of the cases that matter for the period); the drill-down runs the same FROM and
WHERE for one object and one set and returns the case numbers. Nothing is loaded row by row into Python.

Case family: the facts of each case at the period end E are derived from its history rows with at < E (state
at the end = to_state of its last row; department = that of its last 派遣/重办) and from its stage clocks
(due_at, finished_at). Post family: one row per act (上报, 核实, 核查, 受理, 立案, 派遣) in [S, E), grouped by actor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    FromClause,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.db.timeutil import to_db
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.evaluation.domain.catalog import FACTS, CaseSet, Family, ObjectKind, fold
from ticketing.geo.tables import geo_cells

H, ST = case_history, case_stages
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


@dataclass(frozen=True)
class Window:
    """The period as stored timestamps (naive UTC), start inclusive, end exclusive."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Window:
        s, e = to_db(start), to_db(end)
        assert s is not None and e is not None
        return cls(s, e)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _where(expr: Any, facts: Mapping[str, ColumnElement[bool]]) -> ColumnElement[bool]:
    return fold(expr, facts.__getitem__, not_, and_, or_)  # type: ignore[no-any-return]


# --- case family: regions and departments ------------------------------------------------------------------

@dataclass(frozen=True)
class CaseSource:
    """FROM clause, facts and the object key of one family for one window and object kind."""

    from_: FromClause
    facts: Mapping[str, ColumnElement[bool]]
    key: ColumnElement[Any]
    case_no: ColumnElement[str]
    order: ColumnElement[Any]
    where: ColumnElement[bool] | None = None  # the rows of this kind (posts: the actor's role)


KEY_COLUMNS = {ObjectKind.STREET: "street", ObjectKind.COMMUNITY: "community", ObjectKind.CELL: "cell",
               ObjectKind.DUTY_GRID: "duty_grid", ObjectKind.DEPARTMENT: "department"}


def case_facts(w: Window) -> Select[Any]:
    """One row per case that can matter for the window: its number, object keys and every fact as 0/1."""
    # Driven by the cohort (a few percent of all cases for a month): the history and the clocks of each of
    # its cases are read through their case_id indexes, not by scanning everything before the end.
    cohort = _case_cohort(w).cte("cohort")
    hf = select(
        cohort.c.case_id,
        func.max(H.c.id).label("last_id"),
        func.max(case((H.c.command.in_(DISPATCHES), H.c.id))).label("dispatch_id"),
        _count(H.c.command == "register").label("reg_n"),
        _count(and_(H.c.command == "register", H.c.at >= w.start)).label("reg_p"),
        _count(and_(H.c.command == "submit_result", H.c.at >= w.start)).label("handled_p"),
        _count(and_(H.c.command == "close", H.c.at >= w.start)).label("closed_p"),
        _count(H.c.command == "check_fail").label("rework_n"),
        _count(H.c.command == "approve_extension").label("ext_n"),
    ).select_from(cohort.join(H, H.c.case_id == cohort.c.case_id)).where(H.c.at < w.end).group_by(
        cohort.c.case_id).subquery("hf")
    open_at_end = and_(ST.c.started_at < w.end, or_(ST.c.finished_at.is_(None), ST.c.finished_at >= w.end))
    overdue_at_end = and_(open_at_end, ST.c.due_at < w.end)
    done_late = and_(ST.c.finished_at < w.end, ST.c.finished_at > ST.c.due_at)
    handling = ST.c.stage == "handling"
    sf = select(
        cohort.c.case_id,
        _count(and_(handling, or_(and_(done_late, ST.c.finished_at >= w.start), overdue_at_end))).label("late_p"),
        _count(and_(handling, or_(done_late, overdue_at_end))).label("late_ever"),
        _count(and_(handling, overdue_at_end)).label("handling_overdue"),
        _count(overdue_at_end).label("overdue"),
    ).select_from(cohort.join(ST, ST.c.case_id == cohort.c.case_id)).group_by(cohort.c.case_id).subquery("sf")
    last, disp = H.alias("h_last"), H.alias("h_disp")
    state = last.c.to_state
    from_ = (hf.join(cases, cases.c.id == hf.c.case_id).join(last, last.c.id == hf.c.last_id)
             .outerjoin(sf, sf.c.case_id == hf.c.case_id).outerjoin(disp, disp.c.id == hf.c.dispatch_id)
             .outerjoin(geo_cells, geo_cells.c.code == cases.c.cell_code))

    def stage(name: str) -> ColumnElement[bool]:
        return func.coalesce(getattr(sf.c, name), 0) > 0

    facts: dict[str, ColumnElement[bool]] = {
        "registered_in_period": hf.c.reg_p > 0,
        "registered_by_end": hf.c.reg_n > 0,
        "handled_in_period": hf.c.handled_p > 0,
        "closed_in_period": hf.c.closed_p > 0,
        "void_at_end": state == "invalid",
        "backlog_at_end": state == "backlog",
        "closed_at_end": state == "closed",
        "handled_at_end": state.in_(("handled", "closed")),
        "had_rework": hf.c.rework_n > 0,
        "had_extension": hf.c.ext_n > 0,
        "handling_late": stage("late_p"),
        "handling_ever_late": stage("late_ever"),
        "handling_overdue_open": and_(state == "dispatched", stage("handling_overdue")),
        "overdue_open": and_(state.not_in(("closed", "invalid", "backlog")), stage("overdue")),
        "public_source": cases.c.source != "inspector",
    }
    assert set(facts) == set(FACTS[Family.CASE])
    keys = {"street": cases.c.street_code, "community": cases.c.community_code, "cell": cases.c.cell_code,
            "duty_grid": geo_cells.c.duty_grid, "department": disp.c.payload["department"].as_string()}
    return select(cases.c.case_no, *(keys[k].label(k) for k in KEY_COLUMNS.values()),
                  *(case((cond, 1), else_=0).label(name) for name, cond in facts.items())).select_from(from_)


def facts_table() -> Table:
    """A temporary table for case_facts, when several object kinds of one period are computed together."""
    columns = [Column("case_no", String(16)), *(Column(k, String(32)) for k in KEY_COLUMNS.values()),
               *(Column(n, Integer) for n in FACTS[Family.CASE])]
    return Table("eval_case_facts", MetaData(), *columns, prefixes=["TEMPORARY"])


def case_source(w: Window, kind: ObjectKind, table: FromClause | None = None) -> CaseSource:
    f = table if table is not None else case_facts(w).subquery("cf")
    return CaseSource(f, {n: f.c[n] == 1 for n in FACTS[Family.CASE]}, f.c[KEY_COLUMNS[kind]], f.c.case_no,
                      f.c.case_no)


def _case_cohort(w: Window) -> Any:
    """Cases that can matter for the window: registered, handled or closed in it, or overdue at its end."""
    acted = select(H.c.case_id).where(H.c.at >= w.start, H.c.at < w.end,
                                      H.c.command.in_(("register", "submit_result", "close")))
    # A clock paused before the end belongs to a case on 挂账 at the end (approve_backlog pauses it, resume
    # clears the pause): such a case counts in no set of the case family, so it need not join the cohort —
    # a county's 挂账 cases would otherwise be re-read for every period after they were backlogged.
    overdue = select(ST.c.case_id).where(
        ST.c.started_at < w.end, or_(ST.c.finished_at.is_(None), ST.c.finished_at >= w.end), ST.c.due_at < w.end,
        or_(ST.c.paused_at.is_(None), ST.c.paused_at >= w.end))
    return union(acted, overdue)


# --- post family: inspectors, agents, shift leads, dispatchers ----------------------------------------------

def post_facts(w: Window, parameters: Mapping[str, float], role: str | None = None) -> Select[Any]:
    """One row per act of the window (of one role, or all): its case number, actor and every fact as 0/1."""
    h = H.alias("ev")
    other, later = H.alias("other"), H.alias("later")
    limit_s = float(parameters.get("verification_limit_minutes", 120)) * 60.0
    verify_in_time = exists(select(literal(1)).where(
        other.c.case_id == h.c.case_id, other.c.command == "request_verification", other.c.id < h.c.id,
        epoch_seconds(h.c.at) - epoch_seconds(other.c.at) <= limit_s))
    stage_of = case(*((h.c.command == act, stage) for act, stage in STAGE_OF_ACT.items()), else_=None)
    stage_in_time = exists(select(literal(1)).where(
        ST.c.case_id == h.c.case_id, ST.c.stage == stage_of, ST.c.finished_at == h.c.at,
        ST.c.finished_at <= ST.c.due_at))
    redispatched = exists(select(literal(1)).where(
        later.c.case_id == h.c.case_id, later.c.command == "dispatch", later.c.id > h.c.id,
        later.c.id < other.c.id).correlate_except(later))  # ev is two levels up: correlate explicitly
    returned = exists(select(literal(1)).where(
        other.c.case_id == h.c.case_id, other.c.command == "approve_return", other.c.id > h.c.id,
        other.c.at < w.end, not_(redispatched)))
    facts: dict[str, ColumnElement[bool]] = {
        "is_report": and_(h.c.command == "create", h.c.actor_role == "inspector"),
        "is_verify": h.c.command == "report_verified",
        "is_check": h.c.command.in_(CHECKS),
        "is_accept": h.c.command == "accept",
        "is_register": h.c.command == "register",
        "is_dispatch": h.c.command == "dispatch",
        "registered_by_end": exists(select(literal(1)).where(
            other.c.case_id == h.c.case_id, other.c.command == "register", other.c.at < w.end)),
        "void_at_end": exists(select(literal(1)).where(  # 作废 is terminal: once void, void at the end
            other.c.case_id == h.c.case_id, other.c.to_state == "invalid", other.c.at < w.end)),
        "on_time": or_(and_(h.c.command == "report_verified", verify_in_time), stage_in_time),
        "returned": and_(h.c.command == "dispatch", returned),
    }
    assert set(facts) == set(FACTS[Family.POST])
    # Each act's facts are computed once per row (the correlated EXISTS do not run again for every set).
    acts = and_(h.c.at >= w.start, h.c.at < w.end, h.c.command.in_(POST_COMMANDS))
    if role is not None:
        acts = and_(acts, h.c.actor_role == role)
    return (select(h.c.id, cases.c.case_no, h.c.actor, h.c.actor_role,
                   *(case((cond, 1), else_=0).label(name) for name, cond in facts.items()))
            .select_from(h.join(cases, cases.c.id == h.c.case_id)).where(acts))


def post_facts_table() -> Table:
    columns = [Column("id", Integer), Column("case_no", String(16)), Column("actor", String(64)),
               Column("actor_role", String(16)), *(Column(n, Integer) for n in FACTS[Family.POST])]
    return Table("eval_post_facts", MetaData(), *columns, prefixes=["TEMPORARY"])


def post_source(w: Window, kind: ObjectKind, parameters: Mapping[str, float],
                table: FromClause | None = None) -> CaseSource:
    f = table if table is not None else post_facts(w, parameters, kind.value).subquery("ev")
    return CaseSource(f, {n: f.c[n] == 1 for n in FACTS[Family.POST]}, f.c.actor, f.c.case_no, f.c.id,
                      f.c.actor_role == kind.value)


# --- the two queries ---------------------------------------------------------------------------------------

def source_for(w: Window, kind: ObjectKind, parameters: Mapping[str, float],
               tables: Mapping[Family, FromClause] | None = None) -> CaseSource:
    table = (tables or {}).get(kind.family)
    if kind.family is Family.POST:
        return post_source(w, kind, parameters, table)
    return case_source(w, kind, table)


def aggregate(source: CaseSource, sets: list[CaseSet]) -> Select[Any]:
    """One row per object: its id and the size of every set."""
    columns = [_count(_where(s.expr, source.facts)).label(s.id) for s in sets]
    stmt = select(source.key.label("object_id"), *columns).select_from(source.from_).where(source.key.is_not(None))
    if source.where is not None:
        stmt = stmt.where(source.where)
    return stmt.group_by(source.key).order_by(source.key)


def drilldown(source: CaseSource, case_set: CaseSet, object_id: str) -> Select[Any]:
    """The case numbers behind one set of one object (for posts: one entry per act, in history order)."""
    stmt = (select(source.case_no).select_from(source.from_)
            .where(source.key == object_id, _where(case_set.expr, source.facts)))
    if source.where is not None:
        stmt = stmt.where(source.where)
    return stmt.order_by(source.order)
