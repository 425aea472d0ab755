"""Scheduled callbacks (回访 surveys, queue and missed-call callbacks) on one table with their own state.

Every state change follows `ticketing/notify/domain/callback_lifecycle.py` (pending → calling → deciding →
answered | pending (retry) | sms | failed; cancelled), written as a compare-and-set on the old state. A claimed
row holds a lease in `due_at`; a row still `calling` after its lease (process died mid-call) is claimed again by
the next sweep and treated as unanswered, and one still `deciding` is decided again from its stored answer, so
no callback is lost or made twice at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.leases import LeaseQueue
from ticketing.notify.domain import callback_lifecycle
from ticketing.notify.domain.callback_lifecycle import CallbackEvent, CallbackState
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import callbacks

log = logging.getLogger("hotline.notify")
KINDS = ("survey", "queue", "missed")
CALL_LEASE = timedelta(minutes=10)
S, E = CallbackState, CallbackEvent
QUEUE = LeaseQueue(callbacks, "due_at", CALL_LEASE, callback_lifecycle.apply)


@dataclass(frozen=True)
class NewCallback:
    kind: str
    number: str
    due_at: datetime
    case_no: str | None = None
    call_id: str | None = None
    requested_by: str = "system"
    dedup_key: str | None = None


async def insert_callback(conn: AsyncConnection, new: NewCallback, now: datetime) -> int | None:
    """Insert a callback; None when one with the same dedup key exists already."""
    if new.kind not in KINDS:
        raise ValueError(f"unknown callback kind {new.kind!r}")
    stmt = insert_ignore(conn, callbacks).values(
        dedup_key=new.dedup_key, kind=new.kind, number=new.number, case_no=new.case_no, call_id=new.call_id,
        state=str(S.PENDING), attempts=0, due_at=to_db(new.due_at), requested_by=new.requested_by,
        created_at=to_db(now), updated_at=to_db(now))
    result = await conn.execute(stmt.on_conflict_do_nothing().returning(callbacks.c.id))
    return result.scalar()


@dataclass(frozen=True)
class Due:
    """What a callbacks sweep claimed: rows to dial, calls whose lease ran out, decisions to make again."""

    to_dial: list[dict[str, Any]]
    unanswered: list[int]
    undecided: list[dict[str, Any]]


async def claim_due(engine: AsyncEngine, now: datetime, limit: int) -> Due:
    """Due pending rows, now `calling` with attempts + 1; calls whose lease ran out (no answer); and rows whose
    decision was never written (still `deciding` after its lease), to be decided again from the stored answer."""
    stamp = {"updated_at": to_db(now)}
    if not await QUEUE.any_due(engine, now, S.DECIDING, S.CALLING, S.PENDING):
        return Due([], [], [])
    async with write_transaction(engine) as conn:
        undecided = await QUEUE.claim(conn, now, limit, state=S.DECIDING, event=E.LEASE_EXPIRED, values=stamp)
        expired = await QUEUE.claim(conn, now, limit, state=S.CALLING, event=E.LEASE_EXPIRED, values=stamp)
        claimed = await QUEUE.claim(conn, now, limit, state=S.PENDING, event=E.CLAIM,
                                    values={"attempts": callbacks.c.attempts + 1, **stamp})
        return Due(await _rows(conn, claimed.ids), expired.ids, await _rows(conn, undecided.ids))


async def _rows(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    rows = await conn.execute(select(callbacks).where(callbacks.c.id.in_(ids)).order_by(callbacks.c.id))
    return [dict(r) for r in rows.mappings()]


async def take_calling(engine: AsyncEngine, callback_id: int, now: datetime, answer: int | None = None,
                       reason_path: str | None = None) -> dict[str, Any] | None:
    """Move a `calling` row to `deciding` with its answer, under a new lease, and return it; None if someone
    already handled its answer."""
    async with write_transaction(engine) as conn:
        moved = await QUEUE.step(conn, callback_id, S.CALLING, E.CALL_ENDED, answer=answer, reason_path=reason_path,
                                 due_at=to_db(now + QUEUE.lease), updated_at=to_db(now))
        return None if moved is None else (await _rows(conn, [callback_id]))[0]


async def advance(engine: AsyncEngine, row: dict[str, Any], event: CallbackEvent, now: datetime,
                  **values: Any) -> bool:
    """Move the callback by `event` from the state it was read in (IllegalTransition if the table forbids it);
    False when it had moved on meanwhile and nothing was written."""
    async with write_transaction(engine) as conn:
        moved = await QUEUE.step(conn, row["id"], S(row["state"]), event, updated_at=to_db(now), **values)
    if moved is None:
        log.warning("callback %s was no longer %s: %s not written", row["id"], row["state"], event)
    return moved is not None


async def list_callbacks(conn: AsyncConnection, *, state: str | None, case_no: str | None, page: int,
                         per_page: int) -> tuple[int, list[dict[str, Any]]]:
    where = []
    if state:
        where.append(callbacks.c.state == state)
    if case_no:
        where.append(callbacks.c.case_no == case_no)
    total = (await conn.execute(select(func.count()).select_from(callbacks).where(*where))).scalar_one()
    rows = await conn.execute(select(callbacks).where(*where).order_by(callbacks.c.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return int(total), [dict(r) for r in rows.mappings()]
