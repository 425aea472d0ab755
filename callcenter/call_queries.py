"""Read-only queries over the call tables for the consoles and the wallboard (web reads calls only here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.acd.stats import Outcome, QueueCallRecord
from callcenter.domain.hotline_levels import CallbackRecord, Rating, SmsRecord
from callcenter.tables import calls
from core.db.timeutil import from_db, to_db
from ticketing.db.tables import case_history
from ticketing.notify.tables import callbacks, outbox

CALLBACK_KINDS = ("queue", "missed", "agent")  # callbacks of callers (the survey calls are 回访, counted apart)


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
    call_id, queue = str(row.get("id", "")), row.get("queue") or ""
    if row["answered_at"] is not None:
        return QueueCallRecord(call_id, queue, enqueued, Outcome.ANSWERED, row["answered_at"], row.get("ended_at"),
                               agent=row.get("agent_id"))
    if row["outcome"] in (Outcome.ABANDONED, Outcome.CALLBACK):
        return QueueCallRecord(call_id, queue, enqueued, Outcome(row["outcome"]), row.get("ended_at"))
    if row["outcome"] is None:
        return QueueCallRecord(call_id, queue, enqueued, Outcome.WAITING)
    return None


# --- hotline service levels over a period (GB/T 33358), the figures of callcenter/domain/hotline_levels.py ---

async def hotline_inputs(engine: AsyncEngine, start: datetime, end: datetime) -> HotlineInputs:
    """The queue calls (entered the queue in [start, end)), queue/missed-call callbacks asked for, ratings and
    citizen SMS of the period, as the pure records the ACD statistics and the levels module take."""
    s, e = to_db(start), to_db(end)
    call_q = (select(calls.c.id, calls.c.enqueued_at, calls.c.answered_at, calls.c.ended_at, calls.c.outcome,
                     calls.c.queue, calls.c.agent_id)
              .where(calls.c.enqueued_at >= s, calls.c.enqueued_at < e))
    cb = callbacks
    callback_q = (select(cb.c.created_at, cb.c.attempts, cb.c.state, cb.c.updated_at)
                  .where(cb.c.kind.in_(CALLBACK_KINDS), cb.c.created_at >= s, cb.c.created_at < e))
    rating_q = (select(case_history.c.at, case_history.c.payload)
                .where(case_history.c.command == "rate", case_history.c.at >= s, case_history.c.at < e))
    sms_q = (select(outbox.c.created_at, outbox.c.sent_at)
             .where(outbox.c.channel == "sms", outbox.c.recipient_kind == "citizen", outbox.c.created_at >= s,
                    outbox.c.created_at < e))
    async with engine.connect() as conn:
        call_rows = [_aware(r) for r in (await conn.execute(call_q)).mappings().all()]
        cb_rows = [_aware(r) for r in (await conn.execute(callback_q)).mappings().all()]
        rating_rows = (await conn.execute(rating_q)).all()
        sms_rows = (await conn.execute(sms_q)).all()
    return HotlineInputs(
        [r for r in map(queue_call, call_rows) if r is not None],
        [CallbackRecord(r["created_at"], int(r["attempts"] or 0),
                        r["updated_at"] if r["state"] == "answered" else None, r["state"] == "failed")
         for r in cb_rows],
        [Rating(from_db(at), int(p["satisfaction"])) for at, p in rating_rows
         if isinstance(p, dict) and p.get("satisfaction") in (1, 2, 3)],
        [SmsRecord(from_db(c), from_db(sent) if sent else None) for c, sent in sms_rows])


@dataclass(frozen=True)
class HotlineInputs:
    calls: list[QueueCallRecord]
    callbacks: list[CallbackRecord]
    ratings: list[Rating]
    sms: list[SmsRecord]
