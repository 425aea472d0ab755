"""The outbox: messages to citizens (SMS) and to departments/leads (internal), with their own delivery state.

Enqueueing is idempotent (unique dedup key). Delivery claims due rows, honours the opt-out list and a rate
limit per number, and retries failures with exponential backoff until the attempts are used up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from ticketing.notify.channels import DeliveryError, SmsChannel
from ticketing.notify.domain.delivery import next_attempt, rate_limited
from ticketing.notify.settings import NotifySettings
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import outbox, sms_optouts

log = logging.getLogger("hotline.notify")
LEASE = timedelta(minutes=5)  # a claimed row is retried after this if its sender died mid-way


@dataclass(frozen=True)
class OutboxMessage:
    dedup_key: str
    case_no: str | None
    event: str
    channel: str  # sms | internal
    recipient_kind: str  # citizen | department | lead
    recipient: str
    body: str
    now: datetime

    def row(self) -> dict[str, object]:
        return {"dedup_key": self.dedup_key, "case_no": self.case_no, "event": self.event,
                "channel": self.channel, "recipient_kind": self.recipient_kind, "recipient": self.recipient,
                "body": self.body, "state": "pending", "attempts": 0, "next_attempt_at": to_db(self.now),
                "created_at": to_db(self.now)}


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    deferred: int = 0


async def enqueue_many(conn: AsyncConnection, messages: Sequence[OutboxMessage]) -> None:
    """Insert messages, skipping any whose dedup key is already there (same case+event+recipient)."""
    if messages:
        await conn.execute(insert_ignore(conn, outbox).on_conflict_do_nothing(), [m.row() for m in messages])


async def enqueue(engine: AsyncEngine, message: OutboxMessage) -> None:
    async with write_transaction(engine) as conn:
        await enqueue_many(conn, [message])


async def deliver_outbox(engine: AsyncEngine, cfg: NotifySettings, channel: SmsChannel,
                         now: datetime) -> DeliveryReport:
    """Send what is due at `now`; every outcome is written back to the row, never to the case."""
    report = DeliveryReport()
    for row in await _claim(engine, cfg, now):
        outcome = await _deliver_one(engine, cfg, channel, row, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


async def _claim(engine: AsyncEngine, cfg: NotifySettings, now: datetime) -> list[dict]:
    db_now = to_db(now)
    async with write_transaction(engine) as conn:
        chosen = (select(outbox.c.id).where(outbox.c.state == "pending", outbox.c.next_attempt_at <= db_now)
                  .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(cfg.batch_size))
        if conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        ids = list((await conn.execute(chosen)).scalars())
        if not ids:
            return []
        await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(next_attempt_at=to_db(now + LEASE)))
        rows = await conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
        return [dict(r) for r in rows.mappings()]


async def _deliver_one(engine: AsyncEngine, cfg: NotifySettings, channel: SmsChannel, row: dict,
                       now: datetime) -> str:
    if row["channel"] != "sms":
        await _finish(engine, row, now, state="sent", provider="internal")
        return "sent"
    async with engine.connect() as conn:
        if await _opted_out(conn, row["recipient"]):
            await _finish(engine, row, now, state="suppressed", error="号码已退订短信")
            return "suppressed"
        reopen_at = await _rate_window_reopens(conn, cfg, row["recipient"], now)
    if reopen_at is not None:
        await _set(engine, row["id"], next_attempt_at=to_db(reopen_at), last_error="发送频率超限，稍后发送")
        return "deferred"
    try:
        await channel.send(row["recipient"], row["body"], now)
    except DeliveryError as exc:
        return await _failed(engine, cfg, row, now, str(exc))
    await _finish(engine, row, now, state="sent", provider=channel.name, attempts=row["attempts"] + 1)
    return "sent"


async def _failed(engine: AsyncEngine, cfg: NotifySettings, row: dict, now: datetime, error: str) -> str:
    attempts = row["attempts"] + 1
    retry_at = next_attempt(now, attempts, cfg.max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    log.warning("outbox %s to %s failed (attempt %d): %s", row["id"], row["recipient"], attempts, error)
    if retry_at is None:
        await _set(engine, row["id"], state="failed", attempts=attempts, last_error=error)
        return "failed"
    await _set(engine, row["id"], attempts=attempts, last_error=error, next_attempt_at=to_db(retry_at))
    return "retried"


async def _opted_out(conn: AsyncConnection, phone: str) -> bool:
    return (await conn.execute(select(sms_optouts.c.phone).where(sms_optouts.c.phone == phone))).first() is not None


async def _rate_window_reopens(conn: AsyncConnection, cfg: NotifySettings, phone: str,
                               now: datetime) -> datetime | None:
    """None if the number may get a message now, else when the oldest message in the window drops out."""
    window = timedelta(minutes=cfg.rate_limit_window_min)
    since = to_db(now - window)
    recent = (outbox.c.recipient == phone) & (outbox.c.state == "sent") & (outbox.c.sent_at > since)
    count, oldest = (await conn.execute(select(func.count(), func.min(outbox.c.sent_at)).where(recent))).one()
    if not rate_limited(int(count), cfg.rate_limit_count):
        return None
    return (from_db(oldest) or now) + window


async def _finish(engine: AsyncEngine, row: dict, now: datetime, *, state: str, provider: str | None = None,
                  error: str | None = None, attempts: int | None = None) -> None:
    await _set(engine, row["id"], state=state, provider=provider, last_error=error, sent_at=to_db(now),
               attempts=row["attempts"] if attempts is None else attempts)


async def _set(engine: AsyncEngine, row_id: int, **values: object) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))
