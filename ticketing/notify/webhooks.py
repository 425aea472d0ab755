"""Signed webhooks to departments with their own systems: configuration, enqueue, delivery with backoff.

Each POST carries the JSON payload, `X-Hotline-Timestamp` (Unix seconds) and
`X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Any 2xx is delivered;
anything else (or no answer) is retried with exponential backoff and logged on the delivery row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from ticketing.notify.domain.delivery import next_attempt
from ticketing.notify.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature
from ticketing.notify.settings import NotifySettings
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import department_webhooks, webhook_deliveries

LEASE = timedelta(minutes=5)


@dataclass
class WebhookReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


async def webhook_for(conn: AsyncConnection, department: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(department_webhooks).where(
        department_webhooks.c.department_code == department, department_webhooks.c.active.is_(True)))).first()
    return None if row is None else dict(row._mapping)


async def save_webhook(engine: AsyncEngine, department: str, url: str, secret: str, active: bool, actor: str,
                       now: datetime) -> None:
    values = {"url": url, "secret": secret, "active": active, "updated_by": actor, "updated_at": to_db(now)}
    async with write_transaction(engine) as conn:
        stmt = insert_ignore(conn, department_webhooks).values(department_code=department, **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["department_code"], set_=values))


async def enqueue_delivery(conn: AsyncConnection, row: dict[str, Any]) -> None:
    """Queue one delivery if the department has an active webhook; the dedup key makes it once-only."""
    if await webhook_for(conn, row["department_code"]) is not None:
        await conn.execute(insert_ignore(conn, webhook_deliveries).values(**row).on_conflict_do_nothing())


async def deliver_webhooks(engine: AsyncEngine, cfg: NotifySettings,
                           session: Callable[[], aiohttp.ClientSession], now: datetime) -> WebhookReport:
    report = WebhookReport()
    for row in await _claim(engine, cfg, now):
        outcome = await _deliver_one(engine, cfg, session(), row, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


async def _claim(engine: AsyncEngine, cfg: NotifySettings, now: datetime) -> list[dict[str, Any]]:
    w = webhook_deliveries
    async with write_transaction(engine) as conn:
        chosen = (select(w.c.id).where(w.c.state == "pending", w.c.next_attempt_at <= to_db(now))
                  .order_by(w.c.next_attempt_at, w.c.id).limit(cfg.batch_size))
        if conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        ids = list((await conn.execute(chosen)).scalars())
        if not ids:
            return []
        await conn.execute(update(w).where(w.c.id.in_(ids)).values(next_attempt_at=to_db(now + LEASE)))
        rows = await conn.execute(
            select(w, department_webhooks.c.url, department_webhooks.c.secret)
            .join(department_webhooks, department_webhooks.c.department_code == w.c.department_code)
            .where(w.c.id.in_(ids)).order_by(w.c.id))
        return [dict(r) for r in rows.mappings()]


async def _deliver_one(engine: AsyncEngine, cfg: NotifySettings, session: aiohttp.ClientSession,
                       row: dict[str, Any], now: datetime) -> str:
    body = json.dumps(row["payload"], ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: stamp,
               SIGNATURE_HEADER: webhook_signature(row["secret"], stamp, body),
               "X-Hotline-Event": row["event"], "X-Hotline-Delivery": str(row["id"])}
    status, error = None, None
    try:
        async with session.post(row["url"], data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=cfg.webhook_timeout_s)) as resp:
            status = resp.status
            if status >= 300:
                error = f"接收方返回 HTTP {status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"连接失败：{exc.__class__.__name__} {exc}"
    attempts = row["attempts"] + 1
    if error is None:
        await _set(engine, row["id"], state="delivered", attempts=attempts, last_status=status, last_error=None,
                   delivered_at=to_db(now))
        return "delivered"
    retry_at = next_attempt(now, attempts, cfg.webhook_max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    state = "failed" if retry_at is None else "pending"
    await _set(engine, row["id"], state=state, attempts=attempts, last_status=status, last_error=error,
               next_attempt_at=to_db(retry_at or now))
    return "failed" if retry_at is None else "retried"


async def _set(engine: AsyncEngine, row_id: int, **values: object) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == row_id).values(**values))
