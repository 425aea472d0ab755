"""Each state change is one transaction, on SQLite and PostgreSQL: a failure half-way leaves no trace,
and history only ever grows by one row per command."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from config.bootstrap import build_case_service, engine_for
from config.settings import Settings
from core.errors import IllegalCommand
from ticketing.db.cases_repo import SqlCaseRepository
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.domain.model import Actor, Role
from ticketing.domain.workflow import Command
from ticketing.services import NewCase

AGENT = Actor("agent01", Role.AGENT)
LEAD = Actor("lead01", Role.LEAD)


async def _counts(engine, case_no: str) -> tuple[int, str, int, int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        row = (await conn.execute(select(cases.c.id, cases.c.state, cases.c.version)
                                  .where(cases.c.case_no == case_no))).one()
        history = (await conn.execute(select(func.count()).where(case_history.c.case_id == row.id))).scalar()
        open_clocks = (await conn.execute(select(func.count()).where(
            case_stages.c.case_id == row.id, case_stages.c.finished_at.is_(None)))).scalar()
    return row.version, row.state, history, open_clocks


async def test_a_failure_half_way_through_a_command_leaves_no_trace(db_settings: Settings, clock,  # type: ignore[no-untyped-def]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(db_settings)
    service = build_case_service(engine, db_settings, clock)
    created = await service.create(NewCase("hotline", "路灯不亮", "10118", address="海滨东路120号"), AGENT)
    before = await _counts(engine, created.case_no)

    async def broken(self, case_id, entry):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")  # after the case row and the clocks were written

    monkeypatch.setattr(SqlCaseRepository, "add_history", broken)
    with pytest.raises(RuntimeError):
        await service.act(created.case_no, Command("accept", AGENT))
    monkeypatch.undo()
    assert await _counts(engine, created.case_no) == before
    outcome = await service.act(created.case_no, Command("accept", AGENT, expected_version=1))
    assert outcome.case.version == 2
    await engine.dispose()


async def test_history_grows_by_one_row_per_command_and_refusals_add_none(db_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    service = build_case_service(engine, db_settings, clock)
    created = await service.create(NewCase("web", "占道经营", "20505", accept=True), AGENT)
    assert (await _counts(engine, created.case_no))[2] == 2  # create + accept
    with pytest.raises(IllegalCommand):
        await service.act(created.case_no, Command("close", LEAD))
    await service.act(created.case_no, Command("register", LEAD))
    version, state, history, open_clocks = await _counts(engine, created.case_no)
    assert (version, state, history, open_clocks) == (3, "registered", 3, 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(case_history.c.command, case_history.c.actor)
                                   .order_by(case_history.c.id))).all()
    assert [tuple(r) for r in rows] == [("create", "agent01"), ("accept", "agent01"), ("register", "lead01")]
    await engine.dispose()
