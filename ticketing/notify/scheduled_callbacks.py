"""Scheduled callbacks (回访 surveys, queue and missed-call callbacks) on one table with their own state.

States: pending → calling → answered | pending (retry) | sms (SMS survey sent) | failed; cancelled by hand.
A claimed row holds a lease in `due_at`; a row still `calling` after its lease (process died mid-call) is
treated as unanswered by the next sweep, so no callback is lost or made twice at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import callbacks

KINDS = ("survey", "queue", "missed")
CALL_LEASE = timedelta(minutes=10)


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
        state="pending", attempts=0, due_at=to_db(new.due_at), requested_by=new.requested_by,
        created_at=to_db(now), updated_at=to_db(now))
    result = await conn.execute(stmt.on_conflict_do_nothing().returning(callbacks.c.id))
    return result.scalar()


async def claim_due(engine: AsyncEngine, now: datetime, limit: int) -> tuple[list[dict[str, Any]], list[int]]:
    """Due pending rows, now `calling` with attempts + 1; and ids of calls whose lease ran out (no answer)."""
    db_now = to_db(now)
    async with write_transaction(engine) as conn:
        expired = list((await conn.execute(select(callbacks.c.id).where(
            callbacks.c.state == "calling", callbacks.c.due_at <= db_now))).scalars())
        chosen = (select(callbacks.c.id).where(callbacks.c.state == "pending", callbacks.c.due_at <= db_now)
                  .order_by(callbacks.c.due_at, callbacks.c.id).limit(limit))
        if conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        ids = list((await conn.execute(chosen)).scalars())
        if ids:
            await conn.execute(update(callbacks).where(callbacks.c.id.in_(ids)).values(
                state="calling", attempts=callbacks.c.attempts + 1, due_at=to_db(now + CALL_LEASE),
                updated_at=db_now))
        rows = await conn.execute(select(callbacks).where(callbacks.c.id.in_(ids)).order_by(callbacks.c.id))
        return [dict(r) for r in rows.mappings()], expired


async def take_calling(engine: AsyncEngine, callback_id: int, now: datetime) -> dict[str, Any] | None:
    """Move a `calling` row to `deciding` and return it; None if someone already handled its answer."""
    async with write_transaction(engine) as conn:
        result = await conn.execute(update(callbacks).where(
            callbacks.c.id == callback_id, callbacks.c.state == "calling").values(
            state="deciding", updated_at=to_db(now)))
        if not result.rowcount:
            return None
        row = (await conn.execute(select(callbacks).where(callbacks.c.id == callback_id))).mappings().one()
        return dict(row)


async def set_callback(engine: AsyncEngine, callback_id: int, now: datetime, **values: Any) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(update(callbacks).where(callbacks.c.id == callback_id).values(
            updated_at=to_db(now), **values))


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
