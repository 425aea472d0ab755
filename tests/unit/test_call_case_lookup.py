"""The IVR's case lookup reads state and the open stage's deadline from the case tables (SQLite file)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.case_lookup import sql_case_lookup
from core.db.base import metadata
from ticketing.db.tables import case_stages, cases

# Inputs: the row this test writes and reads back; nothing here depends on the machine's date.
T0 = datetime(2026, 11, 23, 1, 0)
CASE_NO = "202611230001"
UNKNOWN_CASE_NO = "209901010001"


def stage(case_id: int, name: str, due: datetime, finished: datetime | None) -> dict[str, object]:
    return {"case_id": case_id, "stage": name, "started_at": T0, "due_at": due, "yellow_at": due,
            "limit_value": 1.0, "limit_unit": "working_hours", "finished_at": finished, "light": "green"}


async def test_state_and_the_open_stage_deadline_are_returned(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'cases.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=[cases, case_stages])
        await conn.execute(sa.insert(cases).values(
            id=1, case_no=CASE_NO, state="dispatched", version=3, source="hotline", category_code="10118",
            description="路灯不亮", created_by="agent01", created_at=T0, updated_at=T0,
            rework_count=0, reopen_count=0, extension_count=0))
        await conn.execute(sa.insert(case_stages), [
            stage(1, "registering", datetime(2026, 11, 23, 2), T0),
            stage(1, "dispatching", datetime(2026, 11, 24, 9, 30), None)])
    lookup = sql_case_lookup(engine)
    try:
        found = await lookup(CASE_NO)
        assert found is not None
        assert (found.case_no, found.state, found.deadline) == (CASE_NO, "dispatched",
                                                                datetime(2026, 11, 24, 9, 30))
        assert await lookup(UNKNOWN_CASE_NO) is None
    finally:
        await engine.dispose()
