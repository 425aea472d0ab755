"""The outbox: messages to citizens (SMS) and to departments/leads (internal), with their own delivery state.

Enqueueing is idempotent (unique dedup key). Delivery claims due rows, honours the opt-out list and a rate
limit per number, and retries failures with exponential backoff until the attempts are used up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.leases import LeaseQueue
from ticketing.notify.channels import DeliveryError, SmsChannel
from ticketing.notify.domain import outbox_lifecycle
from ticketing.notify.domain.delivery import next_attempt, rate_limited
from ticketing.notify.domain.outbox_lifecycle import OutboxEvent, OutboxState
from ticketing.notify.settings import NotifySettings
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import outbox, sms_optouts

log = logging.getLogger("hotline.notify")
LEASE = timedelta(minutes=5)  # a claimed row is retried after this if its sender died mid-way
S, E = OutboxState, OutboxEvent
QUEUE = LeaseQueue(outbox, "next_attempt_at", LEASE, outbox_lifecycle.apply)
OUTCOMES = {E.SENT: "sent", E.OPTED_OUT: "suppressed", E.RATE_LIMITED: "deferred", E.RETRY: "retried",
            E.GIVE_UP: "failed"}  # the report counter of each try's outcome


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
                "body": self.body, "state": str(S.PENDING), "attempts": 0, "next_attempt_at": to_db(self.now),
                "created_at": to_db(self.now)}


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    deferred: int = 0
    lost: int = 0  # outcomes not written: the lease ran out and another sweep took the message over


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
    rows, lease = await _claim(engine, cfg, now)
    for row in rows:
        outcome = await _deliver_one(engine, cfg, channel, row, lease, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


async def _claim(engine: AsyncEngine, cfg: NotifySettings, now: datetime) -> tuple[list[dict], datetime]:
    """Claim due messages (those whose sender died first), `sending` under a lease that ends at the returned time."""
    if not await QUEUE.any_due(engine, now, S.SENDING, S.PENDING):
        return [], now + QUEUE.lease
    async with write_transaction(engine) as conn:
        stale = await QUEUE.claim(conn, now, cfg.batch_size, state=S.SENDING, event=E.LEASE_EXPIRED)
        fresh = await QUEUE.claim(conn, now, cfg.batch_size - len(stale.ids), state=S.PENDING, event=E.CLAIM)
        ids = stale.ids + fresh.ids
        rows = await conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
        return [dict(r) for r in rows.mappings()], fresh.lease_until


async def _deliver_one(engine: AsyncEngine, cfg: NotifySettings, channel: SmsChannel, row: dict,
                       lease: datetime, now: datetime) -> str:
    def done(event: OutboxEvent, **values: object) -> Awaitable[str]:
        return _step(engine, row, lease, event, **values)

    if row["channel"] != "sms":
        return await done(E.SENT, provider="internal", last_error=None, sent_at=to_db(now))
    async with engine.connect() as conn:
        if await _opted_out(conn, row["recipient"]):
            return await done(E.OPTED_OUT, provider=None, last_error="号码已退订短信", sent_at=to_db(now))
        reopen_at = await _rate_window_reopens(conn, cfg, row["recipient"], now)
    if reopen_at is not None:
        return await done(E.RATE_LIMITED, next_attempt_at=to_db(reopen_at), last_error="发送频率超限，稍后发送")
    try:
        await channel.send(row["recipient"], row["body"], now)
    except DeliveryError as exc:
        return await _failed(engine, cfg, row, lease, now, str(exc))
    return await done(E.SENT, provider=channel.name, last_error=None, sent_at=to_db(now),
                      attempts=row["attempts"] + 1)


async def _failed(engine: AsyncEngine, cfg: NotifySettings, row: dict, lease: datetime, now: datetime,
                  error: str) -> str:
    attempts = row["attempts"] + 1
    retry_at = next_attempt(now, attempts, cfg.max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    log.warning("outbox %s to %s failed (attempt %d): %s", row["id"], row["recipient"], attempts, error)
    if retry_at is None:
        return await _step(engine, row, lease, E.GIVE_UP, attempts=attempts, last_error=error)
    return await _step(engine, row, lease, E.RETRY, attempts=attempts, last_error=error,
                       next_attempt_at=to_db(retry_at))


async def _opted_out(conn: AsyncConnection, phone: str) -> bool:
    return (await conn.execute(select(sms_optouts.c.phone).where(sms_optouts.c.phone == phone))).first() is not None


async def _rate_window_reopens(conn: AsyncConnection, cfg: NotifySettings, phone: str,
                               now: datetime) -> datetime | None:
    """None if the number may get a message now, else when the oldest message in the window drops out."""
    window = timedelta(minutes=cfg.rate_limit_window_min)
    since = to_db(now - window)
    recent = (outbox.c.recipient == phone) & (outbox.c.state == str(S.SENT)) & (outbox.c.sent_at > since)
    count, oldest = (await conn.execute(select(func.count(), func.min(outbox.c.sent_at)).where(recent))).one()
    if not rate_limited(int(count), cfg.rate_limit_count):
        return None
    return (from_db(oldest) or now) + window


async def _step(engine: AsyncEngine, row: dict, lease: datetime, event: OutboxEvent, **values: object) -> str:
    """Write the outcome of this try while the row is still ours (`sending` under our lease): the name of the
    report counter, or `lost` when a later claim took the row over and nothing was written."""
    async with write_transaction(engine) as conn:
        moved = await QUEUE.step(conn, row["id"], S(row["state"]), event, fence=lease, **values)
    if moved is None:
        log.warning("outbox %s: lease lost before %s was written", row["id"], event)
        return "lost"
    return OUTCOMES[event]
