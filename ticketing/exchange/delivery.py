"""Delivery of outbound exchange messages: claim with a lease, send signed, move by the lifecycle table.

Per work order the messages go in order (签收 before 阶段性答复 before 办结): a message whose earlier sibling
is not acknowledged yet waits (`wait`, no try used). Work orders are independent, so different orders are sent
side by side (a few at a time). A platform answer is a success only when the profile's success field says so;
"we already have this message id" counts as success (our retry after a lost answer). No answer, 5xx and 429
are retried with backoff; other 4xx and business refusals go to `rejected` for a person.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.leases import LeaseQueue
from ticketing.exchange.domain import lifecycle, signing
from ticketing.exchange.domain.lifecycle import OutEvent, OutState
from ticketing.exchange.domain.outbound import render
from ticketing.exchange.domain.profile import dig
from ticketing.exchange.links import Link
from ticketing.exchange.tables import exchange_outbound
from ticketing.notify.domain.delivery import next_attempt

log = logging.getLogger("hotline.exchange")
LEASE = timedelta(minutes=2)
PARALLEL_ORDERS = 8
S, E = OutState, OutEvent
QUEUE = LeaseQueue(exchange_outbound, "next_attempt_at", LEASE, lifecycle.apply)
OUTCOME = {E.ACKED: "acked", E.WAIT: "waited", E.RETRY: "retried", E.GIVE_UP: "failed", E.REJECTED: "rejected"}


@dataclass
class DeliveryReport:
    acked: int = 0
    waited: int = 0
    retried: int = 0
    failed: int = 0
    rejected: int = 0
    lost: int = 0  # outcomes not written: the lease ran out and another sweep took the message over
    finished: int = 0  # 办结 messages acknowledged (held 回访 may now apply)

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


async def deliver(service: Any, now: datetime) -> DeliveryReport:
    """One sweep: claim due messages of every link, send them (orders in parallel, each order in sequence)."""
    report = DeliveryReport()
    rows, lease = await _claim(service, now)
    by_order: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_order.setdefault((row["system"], row["ext_order_no"]), []).append(row)
    gate = asyncio.Semaphore(PARALLEL_ORDERS)

    async def one_order(messages: list[dict[str, Any]]) -> None:
        async with gate:
            for row in messages:
                link = service.links.get(row["system"])
                outcome = await _deliver_one(service, link, row, lease, now)
                report.add(outcome)
                if outcome == "acked" and row["step"] == "finish":
                    report.finished += 1

    await asyncio.gather(*(one_order(m) for m in by_order.values()))
    return report


async def _claim(service: Any, now: datetime) -> tuple[list[dict[str, Any]], datetime]:
    batch = max((link.cfg.batch_size for link in service.links.values()), default=100)
    async with write_transaction(service.engine) as conn:
        stale = await QUEUE.claim(conn, now, batch, state=S.SENDING, event=E.LEASE_EXPIRED)
        fresh = await QUEUE.claim(conn, now, batch - len(stale.ids), state=S.PENDING, event=E.CLAIM)
        rows = await conn.execute(
            select(exchange_outbound)
            .where(exchange_outbound.c.id.in_(stale.ids + fresh.ids))
            .order_by(exchange_outbound.c.id)
        )
        return [dict(r) for r in rows.mappings()], fresh.lease_until


async def _earlier_unacked(conn: AsyncConnection, row: Mapping[str, Any]) -> bool:
    o = exchange_outbound.c
    found = (
        await conn.execute(
            select(o.id)
            .where(
                o.system == row["system"],
                o.ext_order_no == row["ext_order_no"],
                o.id < row["id"],
                o.state != S.ACKED.value,
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def _deliver_one(service: Any, link: Link | None, row: dict[str, Any], lease: datetime, now: datetime) -> str:
    if link is None:  # the link was switched off after the message was queued: keep it for later
        return await _step(
            service, row, lease, E.WAIT, next_attempt_at=to_db(now + timedelta(minutes=10)), last_error="对接平台未启用"
        )
    async with service.engine.connect() as conn:
        if await _earlier_unacked(conn, row):
            return await _step(
                service,
                row,
                lease,
                E.WAIT,
                next_attempt_at=to_db(now + timedelta(seconds=link.cfg.wait_s)),
                last_error="等待本工单前一条消息确认",
            )
    event, status, text, error = await _post(service, link, row, now)
    attempts = row["attempts"] + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status": status,
        "response": (text or "")[:2000],
        "last_error": error,
    }
    if event is E.ACKED:
        return await _step(service, row, lease, E.ACKED, acked_at=to_db(now), **values)
    if event is E.REJECTED:
        return await _step(service, row, lease, E.REJECTED, **values)
    cfg = link.cfg
    retry_at = next_attempt(now, attempts, cfg.max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    return await _step(
        service, row, lease, E.RETRY if retry_at else E.GIVE_UP, next_attempt_at=to_db(retry_at or now), **values
    )


def body_of(link: Link, row: Mapping[str, Any], now: datetime, wall: float | None = None) -> tuple[str, bytes]:
    """(path, JSON bytes) of one message, rendered from its stored canonical values. The 办结 photos become
    links the platform can fetch without an account, signed and valid `photo_link_ttl_h` from `wall`."""
    values = {k: _time(v) for k, v in row["values"].items()}
    if "photo_ids" in values:
        values["photos"] = photo_links(link, values.pop("photo_ids"), now.timestamp() if wall is None else wall)
    values |= {"message_id": row["message_id"], "ext_order_no": row["ext_order_no"], "sent_at": now}
    path, body = render(link.profile, row["step"], values)
    return path, json.dumps(body, ensure_ascii=False, sort_keys=True).encode()


def photo_links(link: Link, photo_ids: list[str], wall: float) -> list[str]:
    """`{public_base_url}/photos/shared/{system}/{id}?expires=&sig=` for each photo (see web/api/exchange.py)."""
    base = link.cfg.public_base_url.rstrip("/")
    expires = int(wall + link.cfg.photo_link_ttl_h * 3600)
    return [
        f"{base}/photos/shared/{link.name}/{p}?expires={expires}"
        f"&sig={signing.photo_link_signature(link.cfg.secret, link.name, p, expires)}"
        for p in photo_ids
    ]


def _time(value: Any) -> Any:
    """Stored values keep datetimes as ISO 8601 text with an offset; read them back as datetimes."""
    if isinstance(value, str) and len(value) >= 25 and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


async def _post(
    service: Any, link: Link, row: Mapping[str, Any], now: datetime
) -> tuple[OutEvent, int | None, str | None, str | None]:
    """Send one message: (event, HTTP status, response text, error)."""
    path, body = body_of(link, row, now, service.wall())
    sig = link.profile.signing
    stamp = str(int(service.wall()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        sig.timestamp_header: stamp,
        sig.signature_header: signing.sign(sig.scheme, link.cfg.secret, stamp, body),
        sig.message_id_header: row["message_id"],
        sig.app_header: link.cfg.app_key,
    }
    try:
        async with service.session().post(
            link.cfg.base_url.rstrip("/") + path,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=link.cfg.timeout_s),
        ) as resp:
            text = await resp.text()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return E.RETRY, None, None, f"连接失败：{exc.__class__.__name__} {exc}"
    if status == 429 or status >= 500:
        return E.RETRY, status, text, f"对方返回 HTTP {status}"
    if status >= 300:
        return E.REJECTED, status, text, f"对方拒收：HTTP {status}"
    event, error = _business(link, text)
    return event, status, text, error


def _business(link: Link, text: str) -> tuple[OutEvent, str | None]:
    answer = link.profile.answer
    if answer.success_field is None:
        return E.ACKED, None
    try:
        data = json.loads(text)
    except ValueError:
        return E.RETRY, "对方应答不是 JSON"
    code = str(dig(data, answer.success_field))
    if code in answer.success_values or code in answer.duplicate_values:
        return E.ACKED, None
    return E.REJECTED, f"对方业务拒收：{code} {dig(data, answer.message_field) or ''}".strip()


async def _step(service: Any, row: Mapping[str, Any], lease: datetime, event: OutEvent, **values: Any) -> str:
    async with write_transaction(service.engine) as conn:
        moved = await QUEUE.step(conn, row["id"], S(row["state"]), event, fence=lease, **values)
    if moved is None:
        log.warning("exchange message %s: lease lost before %s was written", row["message_id"], event)
        return "lost"
    return OUTCOME[event]


async def resend(service: Any, message_id: int, now: datetime) -> bool:
    """A person sends a failed or rejected message again (tries counted anew)."""
    async with write_transaction(service.engine) as conn:
        row = (
            (await conn.execute(select(exchange_outbound).where(exchange_outbound.c.id == message_id)))
            .mappings()
            .first()
        )
        if row is None or row["state"] not in (S.FAILED.value, S.REJECTED.value):
            return False
        moved = await QUEUE.step(conn, message_id, S(row["state"]), E.RESEND, attempts=0, next_attempt_at=to_db(now))
        return moved is not None
