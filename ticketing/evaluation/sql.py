"""The evaluation adapter: every fact of the catalog as SQL, aggregated in the database (SQLAlchemy Core).

One query per object kind computes every set of the catalog for every object at once; the drill-down runs
the same FROM and WHERE for one object and one set and returns the case numbers. Nothing is loaded row by row
into Python. The rows come from the summary tables the writer keeps (`facts_case_facts`, `facts_post_facts`,
evaluation/tables.py) or, as the reference derivation, from the history and stage tables alone
(`case_facts`, `post_facts`, below); both give the same facts (tests/contract/test_evaluation_facts.py).

Case family: the facts of each case at the period end E are derived from its history rows with at < E (state
at the end = to_state of its last row; department = that of its last 派遣/重办) and from its stage clocks
(due_at, finished_at). Post family: one row per act (上报, 核实, 核查, 受理, 立案, 派遣) in [S, E), grouped by actor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    FromClause,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union,
    union_all,
)

from core.db.timeutil import to_db
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.evaluation.domain.catalog import FACTS, CaseSet, Family, ObjectKind, fold
from ticketing.evaluation.facts import CHECKS, DISPATCHES, POST_COMMANDS, STAGE_OF_ACT, epoch_seconds
from ticketing.evaluation.tables import evaluation_act_facts, evaluation_case_facts
from ticketing.geo.tables import geo_cells

H, ST = case_history, case_stages
F, A = evaluation_case_facts, evaluation_act_facts


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


def case_facts(w: Window, candidates: Select[Any] | None = None) -> Select[Any]:
    """One row per case that can matter for the window: its number, object keys and every fact as 0/1,
    derived from the history and the clocks (the reference derivation; `facts_case_facts` uses it for the
    cases with history after the window's end). `candidates` (case ids) replaces the cohort query: of them,
    the cases in the cohort are kept."""
    # Driven by the cohort (a few percent of all cases for a month): the history and the clocks of each of
    # its cases are read through their case_id indexes, not by scanning everything before the end.
    cohort = (_case_cohort(w) if candidates is None else candidates).cte("cohort")
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
        _count(and_(overdue_at_end, or_(ST.c.paused_at.is_(None), ST.c.paused_at >= w.end))).label("unpaused"),
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
    stmt = select(cases.c.case_no, *(keys[k].label(k) for k in KEY_COLUMNS.values()),
                  *(case((cond, 1), else_=0).label(name) for name, cond in facts.items())).select_from(from_)
    if candidates is not None:  # the cohort's rule (_case_cohort) over the candidates' facts
        stmt = stmt.where(or_(hf.c.reg_p > 0, hf.c.handled_p > 0, hf.c.closed_p > 0, stage("unpaused")))
    return stmt


def unsettled_cases(w: Window) -> Select[Any]:
    """The cases with history (or a clock time) at or after the window's end: derived from their history."""
    return select(F.c.case_id).where(F.c.last_at >= w.end, F.c.first_at < w.end).order_by(F.c.case_id)


def facts_case_facts(w: Window, unsettled: Sequence[int] | None = None, case_numbers: bool = True) -> Any:
    """The rows of `case_facts`, from the summary rows kept by the writer (evaluation_case_facts).

    A case none of whose history rows and clock times is at or after the window's end ("settled": its last
    instant is before E) was at E in the state its summary row describes, so each fact is a comparison of a
    stored time with S or E. The other cases of the window (history after E: reopened, handled or closed
    later; at most those of the period's last days for a past period, none for a running one) are derived
    from their history by `case_facts`, which is what "what was true at the end" needs.
    """
    s, e = w.start, w.end

    def within(column: ColumnElement[Any]) -> ColumnElement[bool]:
        return and_(column >= s, column < e)

    state = F.c.state
    handling_overdue = F.c.open_handling_due_at < e
    facts: dict[str, ColumnElement[bool]] = {
        "registered_in_period": within(F.c.last_register_at),
        "registered_by_end": F.c.first_register_at.is_not(None),
        "handled_in_period": within(F.c.last_submit_at),
        "closed_in_period": within(F.c.last_close_at),
        "void_at_end": state == "invalid",
        "backlog_at_end": state == "backlog",
        "closed_at_end": state == "closed",
        "handled_at_end": state.in_(("handled", "closed")),
        "had_rework": F.c.rework_n > 0,
        "had_extension": F.c.extension_n > 0,
        "handling_late": or_(F.c.late_handling_at >= s, handling_overdue),
        "handling_ever_late": or_(F.c.late_handling_at.is_not(None), handling_overdue),
        "handling_overdue_open": and_(state == "dispatched", handling_overdue),
        "overdue_open": and_(state.not_in(("closed", "invalid", "backlog")), F.c.open_due_at < e),
        "public_source": F.c.public_source == 1,
    }
    assert set(facts) == set(FACTS[Family.CASE])
    keys = {"street": F.c.street, "community": F.c.community, "cell": F.c.cell,
            "duty_grid": geo_cells.c.duty_grid, "department": F.c.department}
    cohort = or_(within(F.c.last_register_at), within(F.c.last_submit_at), within(F.c.last_close_at),
                 F.c.open_unpaused_due_at < e)
    from_ = F.outerjoin(geo_cells, geo_cells.c.code == F.c.cell)
    if case_numbers:
        from_ = from_.join(cases, cases.c.id == F.c.case_id)
    number = cases.c.case_no if case_numbers else null().label("case_no")
    settled = (select(number, *(keys[k].label(k) for k in KEY_COLUMNS.values()),
                      *(case((cond, 1), else_=0).label(name) for name, cond in facts.items()))
               .select_from(from_).where(F.c.last_at < e, cohort))
    if unsettled is None:
        candidates = select(F.c.case_id).where(F.c.last_at >= e, F.c.first_at < e)
    else:  # the ids, read first (`unsettled_cases`): the planner then knows how few they are and probes the
        # history by case instead of hashing all of it (the two time conditions are correlated)
        ids = bindparam("unsettled", list(unsettled), expanding=True, literal_execute=True)
        candidates = select(cases.c.id.label("case_id")).where(cases.c.id.in_(ids))
    return union_all(settled, case_facts(w, candidates))


def facts_table() -> Table:
    """A temporary table for case_facts, when several object kinds of one period are computed together."""
    columns = [Column("case_no", String(16)), *(Column(k, String(32)) for k in KEY_COLUMNS.values()),
               *(Column(n, Integer) for n in FACTS[Family.CASE])]
    return Table("eval_case_facts", MetaData(), *columns, prefixes=["TEMPORARY"])


def case_source(w: Window, kind: ObjectKind, table: FromClause | None = None, history: bool = False,
                unsettled: Sequence[int] | None = None) -> CaseSource:
    rows = case_facts(w) if history else facts_case_facts(w, unsettled)
    f = table if table is not None else rows.subquery("cf")
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


def facts_post_facts(w: Window, parameters: Mapping[str, float], role: str | None = None,
                     case_numbers: bool = True) -> Select[Any]:
    """The rows of `post_facts`, from the act rows and the cases' summary rows kept by the writer: every fact
    of an act at E is a comparison of a stored time or delay with E or the catalog's limit (exact for any
    E: 作废 and 立案 by their first time, a 回退 by the first after the act and before the next 派遣)."""
    limit_s = float(parameters.get("verification_limit_minutes", 120)) * 60.0
    e = w.end
    facts: dict[str, ColumnElement[bool]] = {
        "is_report": and_(A.c.command == "create", A.c.actor_role == "inspector"),
        "is_verify": A.c.command == "report_verified",
        "is_check": A.c.command.in_(CHECKS),
        "is_accept": A.c.command == "accept",
        "is_register": A.c.command == "register",
        "is_dispatch": A.c.command == "dispatch",
        "registered_by_end": A.c.registered_at < e,
        "void_at_end": A.c.void_at < e,
        "on_time": or_(and_(A.c.command == "report_verified", A.c.verify_delay <= limit_s), A.c.stage_on_time == 1),
        "returned": and_(A.c.command == "dispatch", A.c.returned_at < e),
    }
    assert set(facts) == set(FACTS[Family.POST])
    acts = and_(A.c.at >= w.start, A.c.at < e)
    if role is not None:
        acts = and_(acts, A.c.actor_role == role)
    columns = (A.c.actor, A.c.actor_role, *(case((cond, 1), else_=0).label(name) for name, cond in facts.items()))
    if not case_numbers:  # grouped: one table, read by the index on its time
        return select(*columns).where(acts)
    return (select(A.c.history_id.label("id"), cases.c.case_no, *columns)
            .select_from(A.join(cases, cases.c.id == A.c.case_id)).where(acts))


def post_facts_table() -> Table:
    columns = [Column("id", Integer), Column("case_no", String(16)), Column("actor", String(64)),
               Column("actor_role", String(16)), *(Column(n, Integer) for n in FACTS[Family.POST])]
    return Table("eval_post_facts", MetaData(), *columns, prefixes=["TEMPORARY"])


def post_source(w: Window, kind: ObjectKind, parameters: Mapping[str, float],
                table: FromClause | None = None, history: bool = False) -> CaseSource:
    rows = post_facts if history else facts_post_facts
    f = table if table is not None else rows(w, parameters, kind.value).subquery("ev")
    return CaseSource(f, {n: f.c[n] == 1 for n in FACTS[Family.POST]}, f.c.actor, f.c.case_no, f.c.id,
                      f.c.actor_role == kind.value)


# --- the two queries ---------------------------------------------------------------------------------------

def source_for(w: Window, kind: ObjectKind, parameters: Mapping[str, float],
               tables: Mapping[Family, FromClause] | None = None, history: bool = False,
               unsettled: Sequence[int] | None = None) -> CaseSource:
    """The rows of one object kind: from the summary rows (default) or derived from the history alone
    (`history=True`: the reference derivation the tests and the benchmark compare with)."""
    table = (tables or {}).get(kind.family)
    if kind.family is Family.POST:
        return post_source(w, kind, parameters, table, history)
    return case_source(w, kind, table, history, unsettled)


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


# --- several object kinds at once: group by every key together, then per kind over the small result ------

GROUP_KEYS = {Family.CASE: tuple(KEY_COLUMNS.values()), Family.POST: ("actor_role", "actor")}


def grouped(w: Window, family: Family, parameters: Mapping[str, float], sets: list[CaseSet],
            unsettled: Sequence[int] | None = None) -> Select[Any]:
    """The size of every set per combination of all the family's keys (a cell's street, community, duty grid
    and department; a post's role and user): a few thousand rows, from which every kind's figures are sums."""
    if family is Family.POST:
        f = facts_post_facts(w, parameters, case_numbers=False).subquery("ev")
        facts = {n: f.c[n] == 1 for n in FACTS[Family.POST]}
    else:
        f = facts_case_facts(w, unsettled, case_numbers=False).subquery("cf")
        facts = {n: f.c[n] == 1 for n in FACTS[Family.CASE]}
    keys = [f.c[k] for k in GROUP_KEYS[family]]
    return select(*keys, *(_count(_where(s.expr, facts)).label(s.id) for s in sets)).group_by(*keys)


def grouped_table(family: Family, sets: list[CaseSet]) -> Table:
    columns = [*(Column(k, String(64)) for k in GROUP_KEYS[family]), *(Column(s.id, Integer) for s in sets)]
    return Table(f"eval_grouped_{family.value}", MetaData(), *columns, prefixes=["TEMPORARY"])


def regroup(table: Table, kind: ObjectKind, sets: list[CaseSet]) -> Select[Any]:
    """`aggregate` for one kind over `grouped`'s rows: the same objects, counts and order."""
    key = table.c.actor if kind.family is Family.POST else table.c[KEY_COLUMNS[kind]]
    stmt = select(key.label("object_id"), *(func.sum(table.c[s.id]).label(s.id) for s in sets)).where(
        key.is_not(None))
    if kind.family is Family.POST:
        stmt = stmt.where(table.c.actor_role == kind.value)
    return stmt.group_by(key).order_by(key)
