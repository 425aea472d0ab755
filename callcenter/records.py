"""Call records on the database (SqlCallRecords): the durable truth about every call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.tables import call_events, calls
from core import audit


def naive_utc(moment: datetime) -> datetime:
    """Datetimes are stored as naive UTC (see docs/conventions.md)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class SqlCallRecords:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, call_id: str, *, caller: str, called: str, channel_id: str,
                     arrived_at: datetime, direction: str = "inbound") -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(calls).values(
                id=call_id, caller=caller, called=called, channel_id=channel_id, direction=direction,
                arrived_at=naive_utc(arrived_at)))

    async def update(self, call_id: str, **values: Any) -> None:
        clean = {k: naive_utc(v) if isinstance(v, datetime) else v for k, v in values.items()}
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(calls).where(calls.c.id == call_id).values(**clean))

    async def close(self, call_id: str, **values: Any) -> bool:
        """Write an end (`outcome`, `ended_at`, ...) only if the call has none yet; True when written. A call
        that ended meanwhile keeps the end its own runtime wrote."""
        clean = {k: naive_utc(v) if isinstance(v, datetime) else v for k, v in values.items()}
        async with self.engine.begin() as conn:
            done = await conn.execute(sa.update(calls).where(calls.c.id == call_id, calls.c.outcome.is_(None))
                                      .values(**clean))
        return bool(done.rowcount)

    async def add_event(self, call_id: str, kind: str, at: datetime, agent_id: str | None = None,
                  **detail: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(call_events).values(
                call_id=call_id, kind=kind, at=naive_utc(at), agent_id=agent_id, detail=detail))

    async def get(self, call_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(calls).where(calls.c.id == call_id))).mappings().first()
            if row is None:
                return None
            events = (await conn.execute(
                sa.select(call_events).where(call_events.c.call_id == call_id)
                .order_by(call_events.c.id))).mappings().all()
        return {**dict(row), "events": [dict(e) for e in events]}

    async def by_channel(self, channel_id: str) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                sa.select(calls).where(calls.c.channel_id == channel_id))).mappings().first()
        return dict(row) if row else None

    async def unfinished(self) -> list[dict[str, Any]]:
        """The calls without an outcome: live ones, or ones a crash cut off (what a restart reconciles).
        `outcome` is written together with `ended_at` and is indexed."""
        query = sa.select(calls).where(calls.c.outcome.is_(None)).order_by(calls.c.arrived_at)
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings().all()]

    async def recent(self, limit: int = 50, outcome: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(calls).order_by(calls.c.arrived_at.desc()).limit(limit)
        if outcome:
            query = query.where(calls.c.outcome == outcome)
        async with self.engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(query)).mappings().all()]

    async def calls_since(self, caller: str, since: datetime, exclude_id: str) -> int:
        """How many other calls `caller` made since `since` (repeat callers get priority)."""
        query = sa.select(sa.func.count()).select_from(calls).where(
            calls.c.caller == caller, calls.c.arrived_at >= naive_utc(since), calls.c.id != exclude_id)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def audit(self, at: datetime, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        """One row in the shared audit log (supervisor listen / whisper / barge, transfers)."""
        async with self.engine.begin() as conn:
            await audit.append(conn, at, actor, action, target, detail)
