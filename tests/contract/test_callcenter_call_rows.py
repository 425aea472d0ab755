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
        await records.create(
            call_id,
            caller=f"1380013800{n}",
            called="12319",
            channel_id=f"ch-{call_id}",
            arrived_at=clock() + timedelta(seconds=n),
        )
    await records.update("ended", outcome="answered", ended_at=clock(), hangup_by="caller")
    assert [r["id"] for r in await records.unfinished()] == ["cut", "live"]

    assert await records.close("cut", outcome="abandoned", ended_at=clock(), hangup_by="system") is True
    assert await records.close("ended", outcome="abandoned", ended_at=clock(), hangup_by="system") is False
    assert (await records.get("ended") or {})["outcome"] == "answered"
    assert (await records.get("cut") or {})["outcome"] == "abandoned"
    assert [r["id"] for r in await records.unfinished()] == ["live"]


async def test_a_call_end_is_written_once_whoever_comes_first(engine: AsyncEngine, clock: Any) -> None:
    """The call's own end (call_end.finish → CallRows.end) and a reconcile closing the row race after an
    Asterisk restart: the first end stays, the second changes nothing and is told so."""
    from callcenter.call import Call
    from callcenter.context import CallRows
    from core.bus import EventBus

    rows = CallRows(SqlCallRecords(engine), EventBus(), clock)
    call = Call("race", "ch-race", "13800138000", clock())
    await rows.create(call, caller=call.caller, called="12319")
    assert await rows.end(call, outcome="answered", ended_at=clock(), hangup_by="system") is True
    assert await rows.close(call, outcome="abandoned", ended_at=clock(), hangup_by="system") is False
    assert await rows.end(call, outcome="failed", ended_at=clock(), hangup_by="system") is False
    assert (await rows.get("race") or {})["outcome"] == "answered"
