"""Read-only queries over the call tables for the consoles and the wallboard (web reads calls only here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.acd.stats import Outcome, QueueCallRecord
from callcenter.tables import calls
from core.db.timeutil import from_db, to_db


def _aware(row: Any) -> dict[str, Any]:
    return {k: (from_db(v) if isinstance(v, datetime) else v) for k, v in row.items()}


async def calls_since(engine: AsyncEngine, since: datetime) -> list[dict[str, Any]]:
    """Every call that arrived since `since`: arrival, queue entry, answer and outcome (aware datetimes)."""
    query = (select(calls.c.id, calls.c.arrived_at, calls.c.enqueued_at, calls.c.answered_at, calls.c.ended_at,
                    calls.c.outcome).where(calls.c.arrived_at >= to_db(since)))
    async with engine.connect() as conn:
        return [_aware(r) for r in (await conn.execute(query)).mappings().all()]


async def caller_history(engine: AsyncEngine, phone: str, exclude_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The caller's earlier inbound calls, newest first (the call being answered is left out)."""
    query = (select(calls).where(calls.c.caller == phone, calls.c.id != exclude_id, calls.c.direction == "inbound")
             .order_by(calls.c.arrived_at.desc()).limit(limit))
    async with engine.connect() as conn:
        return [_aware(r) for r in (await conn.execute(query)).mappings().all()]


def queue_call(row: dict[str, Any]) -> QueueCallRecord | None:
    """A call row as the queue statistics see it; None for calls that never entered the queue or left it
    otherwise than answered, abandoned or turned into a callback (a message, a failure)."""
    enqueued = row["enqueued_at"]
    if enqueued is None:
        return None
    if row["answered_at"] is not None:
        return QueueCallRecord(str(row.get("id", "")), "", enqueued, Outcome.ANSWERED, row["answered_at"],
                               row.get("ended_at"))
    if row["outcome"] in (Outcome.ABANDONED, Outcome.CALLBACK):
        return QueueCallRecord(str(row.get("id", "")), "", enqueued, Outcome(row["outcome"]), row.get("ended_at"))
    if row["outcome"] is None:
        return QueueCallRecord(str(row.get("id", "")), "", enqueued, Outcome.WAITING)
    return None
