"""SqlCaseRepository: loads and saves the workflow aggregate inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db, to_db
from core.errors import NotFound, StaleVersion
from ticketing.db.tables import case_counters, case_history, case_requests, case_stages, cases
from ticketing.domain.calendar import Limit, LimitUnit
from ticketing.domain.model import CaseFlow, CaseRequest, RequestKind, RequestState, Stage, StageClock, State
from ticketing.domain.workflow import HistoryEntry
from ticketing.evaluation import facts as evaluation_facts


@dataclass(frozen=True, slots=True)
class LoadedCase:
    id: int
    flow: CaseFlow
    row: Mapping[str, Any]


def _counter_upsert(dialect_insert: Any) -> Any:
    stmt = dialect_insert(case_counters).values(day=bindparam("day"), last=1)
    stmt = stmt.on_conflict_do_update(index_elements=[case_counters.c.day],
                                      set_={"last": case_counters.c.last + 1})
    return stmt.returning(case_counters.c.last)


# Statements built once: parameters are passed separately, so SQLAlchemy reuses the compiled form.
_COUNTER_UPSERT = {"postgresql": _counter_upsert(pg_insert), "sqlite": _counter_upsert(sqlite_insert)}
_INSERT_CASE = cases.insert().returning(cases.c.id)


class SqlCaseRepository:
    """Case persistence on one AsyncConnection; the caller owns the transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def next_sequence(self, day_key: str) -> int:
        """Atomically take the next number of the day: one upsert, safe with many writers and instances."""
        stmt = _COUNTER_UPSERT[self.conn.dialect.name]
        return int((await self.conn.execute(stmt, {"day": day_key})).scalar_one())

    async def insert(self, flow: CaseFlow, fields: Mapping[str, Any], history: HistoryEntry) -> int:
        now = to_db(flow.created_at)
        values = {**fields, **_flow_columns(flow), "case_no": flow.case_no, "created_at": now, "updated_at": now}
        case_id = (await self.conn.execute(_INSERT_CASE, values)).scalar_one()
        await self._save_children(case_id, CaseFlow(flow.case_no, flow.state, 0, flow.category_code,
                                                    flow.created_at), flow)
        await self.add_history(case_id, history)
        await evaluation_facts.refresh(self.conn, case_id, new=True)
        return int(case_id)

    async def load(self, case_no: str, *, for_update: bool = False) -> LoadedCase:
        stmt = select(cases).where(cases.c.case_no == case_no)
        if for_update and self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).mappings().first()
        if row is None:
            raise NotFound(f"案件 {case_no} 不存在")
        stages = (await self.conn.execute(
            select(case_stages).where(case_stages.c.case_id == row["id"], case_stages.c.finished_at.is_(None))
            .order_by(case_stages.c.id))).mappings().all()
        requests = (await self.conn.execute(
            select(case_requests).where(case_requests.c.case_id == row["id"],
                                        case_requests.c.state == RequestState.PENDING.value)
            .order_by(case_requests.c.id))).mappings().all()
        return LoadedCase(row["id"], flow_from_rows(row, stages, requests), row)

    async def save(self, loaded: LoadedCase, new: CaseFlow, history: HistoryEntry) -> None:
        """Write the new aggregate if nobody changed the case since it was loaded (optimistic lock)."""
        result = await self.conn.execute(
            update(cases).where(cases.c.id == loaded.id, cases.c.version == loaded.flow.version)
            .values(**_flow_columns(new), updated_at=to_db(history.at)))
        if result.rowcount != 1:
            raise StaleVersion("案件已被他人修改，请刷新后重试")
        await self._save_children(loaded.id, loaded.flow, new)
        await self.add_history(loaded.id, history)
        await evaluation_facts.refresh(self.conn, loaded.id)  # the evaluation's summary of the case

    async def add_history(self, case_id: int, entry: HistoryEntry) -> None:
        await self.conn.execute(case_history.insert(), dict(
            case_id=case_id, at=to_db(entry.at), actor=entry.actor, actor_role=entry.actor_role.value,
            command=entry.command, from_state=entry.from_state.value if entry.from_state else None,
            to_state=entry.to_state.value, reason=entry.reason, payload=dict(entry.payload)))

    async def _save_children(self, case_id: int, old: CaseFlow, new: CaseFlow) -> None:
        before_stages = {c.id: c for c in old.stages if c.id is not None}
        for clock in new.stages:
            if clock.id is None:
                await self.conn.execute(case_stages.insert(), {"case_id": case_id, **_clock_columns(clock)})
            elif before_stages.get(clock.id) != clock:
                await self.conn.execute(update(case_stages).where(case_stages.c.id == clock.id)
                                        .values(**_clock_columns(clock)))
        before_requests = {r.id: r for r in old.requests if r.id is not None}
        for request in new.requests:
            if request.id is None:
                await self.conn.execute(case_requests.insert(), {"case_id": case_id, **_request_columns(request)})
            elif before_requests.get(request.id) != request:
                await self.conn.execute(update(case_requests).where(case_requests.c.id == request.id)
                                        .values(**_request_columns(request)))


def _flow_columns(flow: CaseFlow) -> dict[str, Any]:
    return {
        "state": flow.state.value, "version": flow.version, "category_code": flow.category_code,
        "department_code": flow.department_code, "rework_count": flow.rework_count,
        "reopen_count": flow.reopen_count, "extension_count": flow.extension_count,
        "verification": flow.verification, "check_result": flow.check_result,
        "satisfaction": flow.satisfaction, "merged_into": flow.merged_into, "closed_at": to_db(flow.closed_at),
    }


def _clock_columns(clock: StageClock) -> dict[str, Any]:
    return {
        "stage": clock.stage.value, "started_at": to_db(clock.started_at), "due_at": to_db(clock.due_at),
        "yellow_at": to_db(clock.yellow_at), "limit_value": clock.limit.value,
        "limit_unit": clock.limit.unit.value, "finished_at": to_db(clock.finished_at),
        "paused_at": to_db(clock.paused_at),
    }


def _request_columns(request: CaseRequest) -> dict[str, Any]:
    return {
        "kind": request.kind.value, "state": request.state.value, "requested_by": request.requested_by,
        "requested_at": to_db(request.requested_at), "reason": request.reason, "payload": dict(request.payload),
        "decided_by": request.decided_by, "decided_at": to_db(request.decided_at),
        "decision_reason": request.decision_reason,
    }


def clock_from_row(row: Mapping[str, Any]) -> StageClock:
    return StageClock(
        stage=Stage(row["stage"]), started_at=_aware(row["started_at"]), due_at=_aware(row["due_at"]),
        yellow_at=_aware(row["yellow_at"]), limit=Limit(row["limit_value"], LimitUnit(row["limit_unit"])),
        finished_at=from_db(row["finished_at"]), paused_at=from_db(row["paused_at"]), id=row["id"])


def request_from_row(row: Mapping[str, Any]) -> CaseRequest:
    return CaseRequest(
        kind=RequestKind(row["kind"]), requested_by=row["requested_by"], requested_at=_aware(row["requested_at"]),
        state=RequestState(row["state"]), reason=row["reason"], payload=dict(row["payload"] or {}),
        decided_by=row["decided_by"], decided_at=from_db(row["decided_at"]),
        decision_reason=row["decision_reason"], id=row["id"])


def _aware(value: datetime) -> datetime:
    result = from_db(value)
    assert result is not None
    return result


def flow_from_rows(row: Mapping[str, Any], stages: Iterable[Mapping[str, Any]],
                   requests: Iterable[Mapping[str, Any]]) -> CaseFlow:
    """The workflow aggregate from rows: only running clocks and pending requests take part in it."""
    stages = [s for s in stages if s["finished_at"] is None]
    requests = [r for r in requests if r["state"] == RequestState.PENDING.value]
    return CaseFlow(
        case_no=row["case_no"], state=State(row["state"]), version=row["version"],
        category_code=row["category_code"], created_at=_aware(row["created_at"]),
        department_code=row["department_code"], rework_count=row["rework_count"],
        reopen_count=row["reopen_count"], extension_count=row["extension_count"],
        verification=row["verification"], check_result=row["check_result"], satisfaction=row["satisfaction"],
        merged_into=row["merged_into"], closed_at=from_db(row["closed_at"]),
        stages=tuple(clock_from_row(s) for s in stages), requests=tuple(request_from_row(r) for r in requests))
