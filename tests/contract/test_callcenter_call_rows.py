"""The call rows a restart reconciles (SQLite and PostgreSQL): the unfinished ones are listed, and closing one
is a compare-and-set on its outcome, so a call that ended meanwhile keeps the end its runtime wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.records import SqlCallRecords
from config.bootstrap import engine_for
from config.settings import Settings


@pytest.fixture
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(db_settings)
    yield engine
    await engine.dispose()


async def test_unfinished_rows_are_listed_and_closed_only_once(engine: AsyncEngine, clock: Any) -> None:
    records = SqlCallRecords(engine)
    for n, call_id in enumerate(("cut", "ended", "live")):
        await records.create(call_id, caller=f"1380013800{n}", called="12319", channel_id=f"ch-{call_id}",
                             arrived_at=clock() + timedelta(seconds=n))
    await records.update("ended", outcome="answered", ended_at=clock(), hangup_by="caller")
    assert [r["id"] for r in await records.unfinished()] == ["cut", "live"]

    assert await records.close("cut", outcome="abandoned", ended_at=clock(), hangup_by="system") is True
    assert await records.close("ended", outcome="abandoned", ended_at=clock(), hangup_by="system") is False
    assert (await records.get("ended") or {})["outcome"] == "answered"
    assert (await records.get("cut") or {})["outcome"] == "abandoned"
    assert [r["id"] for r in await records.unfinished()] == ["live"]
