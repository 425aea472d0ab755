"""Upward upload: the incremental export as batches POSTed to a higher-level platform (运管服), by a profile.

The same records and cursors as the file export (export.py), another adapter kind (`kind: http`). Durable:
- a batch is **frozen** once (a row of `exchange_batches`: its mapped records, the cursor it starts at and the
  one after it) and named by the cursor it starts at, `<export>-<stream>-<start>` — unique, so two runs at once
  cannot freeze overlapping batches, and a retried upload carries the same batch id (the platform answers
  "duplicate", which counts as acknowledged, so nothing is counted twice);
- it is sent until acknowledged (no answer, timeout, 5xx or 429 → `pending` again with backoff, no give-up),
  claimed with a compare-and-set lease like the lease queues (core/leases.py), so two instances do not send the
  same batch at once;
- the export's cursor moves **only** when the platform acknowledged, in the same transaction as the batch's
  `acked` state; the next batch is frozen only then (one batch of a stream in flight: the platform sees them
  in order);
- a business refusal (other 4xx, a non-success code) leaves the batch `rejected` and the stream stopped until
  a person looks (`hotline exchange export --resend`), since sending on would skip it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.leases import LeaseQueue
from ticketing.exchange.domain import lifecycle, signing
from ticketing.exchange.domain.lifecycle import OutEvent, OutState
from ticketing.exchange.domain.profile import dig
from ticketing.exchange.export import ExportProfile, batch_stem, mapped, read_cases, read_events
from ticketing.exchange.pull import read_cursor
from ticketing.exchange.settings import ExportSettings
from ticketing.exchange.tables import exchange_batches, exchange_cursors
from ticketing.notify.domain.delivery import backoff
from ticketing.notify.sql import insert_ignore
from ticketing.reference import ReferenceData

log = logging.getLogger("hotline.exchange")
S, E = OutState, OutEvent
LEASE = timedelta(minutes=5)
QUEUE = LeaseQueue(exchange_batches, "next_attempt_at", LEASE, lifecycle.apply)
STREAMS = ("cases", "events")
OPEN = (S.PENDING.value, S.SENDING.value, S.FAILED.value, S.REJECTED.value)


@dataclass
class UploadReport:
    batches: int = 0  # acknowledged in this run
    cases: int = 0
    events: int = 0
    retried: int = 0
    waiting: int = 0  # a batch not due yet (backoff) or being sent by another instance
    rejected: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Uploader:
    """Everything one http export needs: its profile and settings, the HTTP client and the wall clock."""

    engine: AsyncEngine
    profile: ExportProfile
    cfg: ExportSettings
    session: aiohttp.ClientSession
    wall: Any  # () -> Unix seconds, for the signature's timestamp

    @property
    def url(self) -> str:
        assert self.profile.upload is not None
        return (self.cfg.endpoint or self.profile.upload.endpoint).rstrip("/")


async def run_upload(
    up: Uploader, reference: ReferenceData, now: datetime, *, only_unfinished: bool = False,
    max_batches: int | None = None,
) -> UploadReport:
    """Send the unacknowledged batch of each stream, then freeze and send new ones until nothing changed.
    `only_unfinished` (the retry timer) does nothing unless a batch is waiting; `max_batches` stops early."""
    report = UploadReport()
    if only_unfinished and not await _any_open(up):
        return report
    for stream in STREAMS:
        while max_batches is None or report.batches < max_batches:
            batch = await _open_batch(up, stream) or await _freeze(up, reference, stream, now)
            if batch is None:
                break  # nothing new
            if batch["state"] in (S.FAILED.value, S.REJECTED.value):
                report.rejected.append(batch["batch_id"])
                break
            outcome = await _send(up, batch, now, report)
            if outcome != "acked":
                break
            report.batches += 1
            setattr(report, stream, getattr(report, stream) + batch["count"])
    return report


async def _any_open(up: Uploader) -> bool:
    b = exchange_batches.c
    async with up.engine.connect() as conn:
        found = await conn.execute(
            select(b.id).where(b.export == up.profile.name, b.state.in_((S.PENDING.value, S.SENDING.value))).limit(1)
        )
        return found.first() is not None


async def _open_batch(up: Uploader, stream: str) -> dict[str, Any] | None:
    b = exchange_batches.c
    async with up.engine.connect() as conn:
        row = (
            await conn.execute(
                select(exchange_batches)
                .where(b.export == up.profile.name, b.stream == stream, b.state.in_(OPEN))
                .order_by(b.id)
                .limit(1)
            )
        ).mappings().first()
    return dict(row) if row is not None else None


async def _freeze(up: Uploader, reference: ReferenceData, stream: str, now: datetime) -> dict[str, Any] | None:
    """The next batch from the acknowledged cursor, stored once (its id is unique); None when nothing new."""
    profile = up.profile
    cursor = await read_cursor(up.engine, f"export:{profile.name}:{stream}")
    if stream == "cases":
        records, after = await read_cases(up.engine, reference, cursor, profile.batch_size)
        names = profile.cases
    else:
        records, after = await read_events(up.engine, cursor, profile.batch_size)
        names = profile.events
    if not records:
        return None
    batch_id = f"{profile.name}-{batch_stem(stream, cursor)}"[:120]
    async with write_transaction(up.engine) as conn:
        await conn.execute(
            insert_ignore(conn, exchange_batches)
            .values(
                export=profile.name, stream=stream, batch_id=batch_id, start_cursor=cursor, end_cursor=after,
                records=mapped(names, records), count=len(records), state=S.PENDING.value, attempts=0,
                next_attempt_at=to_db(now), created_at=to_db(now),
            )
            .on_conflict_do_nothing()
        )
        row = (
            await conn.execute(select(exchange_batches).where(exchange_batches.c.batch_id == batch_id))
        ).mappings().one()
    return dict(row) if row["state"] != S.ACKED.value else None


async def _claim(up: Uploader, batch: dict[str, Any], now: datetime) -> datetime | None:
    """Take the batch for sending (compare-and-set on its state and due time); the lease end, or None when it
    is not due yet or another sender holds it."""
    state = S(batch["state"])
    if batch["next_attempt_at"] > to_db(now):
        return None
    event = E.CLAIM if state is S.PENDING else E.LEASE_EXPIRED
    lifecycle.apply(state, event)
    until = now + LEASE
    b = exchange_batches.c
    async with write_transaction(up.engine) as conn:
        moved = await conn.execute(
            update(exchange_batches)
            .where(b.id == batch["id"], b.state == state.value, b.next_attempt_at == batch["next_attempt_at"])
            .values(state=S.SENDING.value, next_attempt_at=to_db(until))
        )
    return until if moved.rowcount == 1 else None


async def _send(up: Uploader, batch: dict[str, Any], now: datetime, report: UploadReport) -> str:
    lease = await _claim(up, batch, now)
    if lease is None:
        report.waiting += 1
        return "waiting"
    event, status, error = await _post(up, batch, now)
    attempts = batch["attempts"] + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
    async with write_transaction(up.engine) as conn:
        if event is E.ACKED:
            moved = await QUEUE.step(conn, batch["id"], S.SENDING, E.ACKED, fence=lease, acked_at=to_db(now),
                                     **values)
            if moved is not None:  # the cursor moves with the acknowledgement, never before
                await _write_cursor(conn, f"export:{up.profile.name}:{batch['stream']}", batch["end_cursor"], now)
        elif event is E.REJECTED:
            moved = await QUEUE.step(conn, batch["id"], S.SENDING, E.REJECTED, fence=lease, **values)
        else:
            assert up.profile.upload is not None
            retry_at = now + backoff(attempts, up.profile.upload.retry_base_s, up.profile.upload.retry_max_s)
            moved = await QUEUE.step(conn, batch["id"], S.SENDING, E.RETRY, fence=lease,
                                     next_attempt_at=to_db(retry_at), **values)
    if moved is None:
        log.warning("upload batch %s: lease lost before %s was written", batch["batch_id"], event)
        return "lost"
    if event is E.RETRY:
        report.retried += 1
        report.error = error
        log.warning("upload batch %s: %s (will retry)", batch["batch_id"], error)
        return "retried"
    if event is E.REJECTED:
        report.rejected.append(batch["batch_id"])
        report.error = error
        return "rejected"
    return "acked"


def body_of(up: Uploader, batch: dict[str, Any], now: datetime) -> bytes:
    target = up.profile.upload
    assert target is not None
    values = {
        "batch_id": batch["batch_id"], "stream": batch["stream"], "count": batch["count"],
        "records": batch["records"], "sent_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "unit_code": target.unit_code,
    }
    body = {external: values[canonical] for canonical, external in target.fields.items()}
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


async def _post(up: Uploader, batch: dict[str, Any], now: datetime) -> tuple[OutEvent, int | None, str | None]:
    target = up.profile.upload
    assert target is not None
    body = body_of(up, batch, now)
    sig = target.signing
    stamp = str(int(up.wall()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        sig.timestamp_header: stamp,
        sig.signature_header: signing.sign(sig.scheme, up.cfg.secret, stamp, body),
        sig.message_id_header: batch["batch_id"],
        sig.app_header: up.cfg.app_key,
    }
    try:
        async with up.session.post(
            up.url + target.paths[batch["stream"]], data=body, headers=headers, allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=target.timeout_s),
        ) as resp:
            text, status = await resp.text(), resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return E.RETRY, None, f"连接失败：{exc.__class__.__name__}"
    if status == 429 or status >= 500:
        return E.RETRY, status, f"对方返回 HTTP {status}"
    if status >= 300:
        return E.REJECTED, status, f"对方拒收：HTTP {status} {text[:200]}"
    answer = target.answer
    if answer.success_field is None:
        return E.ACKED, status, None
    try:
        code = str(dig(json.loads(text), answer.success_field))
    except ValueError:
        return E.RETRY, status, "对方应答不是 JSON"
    if code in answer.success_values or code in answer.duplicate_values:
        return E.ACKED, status, None
    return E.REJECTED, status, f"对方业务拒收：{code}"


async def _write_cursor(conn: AsyncConnection, name: str, value: str, now: datetime) -> None:
    stmt = insert_ignore(conn, exchange_cursors).values(name=name, value=value, updated_at=to_db(now))
    await conn.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                                  set_={"value": value, "updated_at": to_db(now)}))


async def resend_rejected(engine: AsyncEngine, export: str, now: datetime) -> int:
    """A person sends the stopped (rejected or failed) batches of an export again; how many."""
    b = exchange_batches.c
    async with write_transaction(engine) as conn:
        ids = [r.id for r in await conn.execute(select(b.id, b.state).where(
            b.export == export, b.state.in_((S.FAILED.value, S.REJECTED.value))))]
        for row_id in ids:
            state = S((await conn.execute(select(b.state).where(b.id == row_id))).scalar_one())
            await QUEUE.step(conn, row_id, state, E.RESEND, attempts=0, next_attempt_at=to_db(now))
    return len(ids)
