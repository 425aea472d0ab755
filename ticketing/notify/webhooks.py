"""Signed webhooks to departments with their own systems: configuration, enqueue, delivery with backoff.

Each POST carries the JSON payload, `X-Hotline-Timestamp` (Unix seconds) and
`X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Any 2xx is delivered;
anything else (or no answer) is retried with exponential backoff and logged on the delivery row.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.leases import LeaseQueue
from ticketing.notify.domain import webhook_lifecycle
from ticketing.notify.domain.delivery import next_attempt
from ticketing.notify.domain.destinations import refused_address, refused_url
from ticketing.notify.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature
from ticketing.notify.domain.webhook_lifecycle import WebhookEvent, WebhookState
from ticketing.notify.settings import NotifySettings
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import department_webhooks, webhook_deliveries

log = logging.getLogger("hotline.notify")
LEASE = timedelta(minutes=5)  # a claimed delivery is tried again after this if its sender died mid-way
S, E = WebhookState, WebhookEvent
QUEUE = LeaseQueue(webhook_deliveries, "next_attempt_at", LEASE, webhook_lifecycle.apply)
CONNECT_ERROR = "投递失败：无法连接接收方或超时"
REFUSED_ERROR = "投递失败：回调地址不被允许"
OUTCOMES = {E.DELIVERED: "delivered", E.RETRY: "retried", E.GIVE_UP: "failed"}  # report counter per outcome


@dataclass
class WebhookReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # outcomes not written: the lease ran out and another sweep took the delivery over


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


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's threaded resolver, then refuses a host any of whose addresses is not public:
    the connection is made to exactly the addresses checked here, so DNS rebinding gains nothing."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not found or any(refused_address(r["host"]) for r in found):
            raise OSError(f"webhook host {host} resolves to a refused address")
        return found

    async def close(self) -> None:
        await self._inner.close()


def webhook_client(cfg: NotifySettings) -> aiohttp.ClientSession:
    if cfg.webhook_allow_private:
        return aiohttp.ClientSession()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=GuardedResolver()))


async def deliver_webhooks(engine: AsyncEngine, cfg: NotifySettings,
                           session: Callable[[], aiohttp.ClientSession], now: datetime) -> WebhookReport:
    report = WebhookReport()
    rows, lease = await _claim(engine, cfg, now)
    for row in rows:
        outcome = await _deliver_one(engine, cfg, session(), row, lease, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


async def _claim(engine: AsyncEngine, cfg: NotifySettings, now: datetime) -> tuple[list[dict[str, Any]], datetime]:
    """Claim due deliveries (those whose sender died first), `sending` under a lease ending at the returned time."""
    w = webhook_deliveries
    if not await QUEUE.any_due(engine, now, S.SENDING, S.PENDING):
        return [], now + QUEUE.lease
    async with write_transaction(engine) as conn:
        stale = await QUEUE.claim(conn, now, cfg.batch_size, state=S.SENDING, event=E.LEASE_EXPIRED)
        fresh = await QUEUE.claim(conn, now, cfg.batch_size - len(stale.ids), state=S.PENDING, event=E.CLAIM)
        rows = await conn.execute(
            select(w, department_webhooks.c.url, department_webhooks.c.secret)
            .join(department_webhooks, department_webhooks.c.department_code == w.c.department_code)
            .where(w.c.id.in_(stale.ids + fresh.ids)).order_by(w.c.id))
        return [dict(r) for r in rows.mappings()], fresh.lease_until


async def _deliver_one(engine: AsyncEngine, cfg: NotifySettings, session: aiohttp.ClientSession,
                       row: dict[str, Any], lease: datetime, now: datetime) -> str:
    status, error = await _post(cfg, session, row, now)
    attempts = row["attempts"] + 1
    if error is None:
        return await _step(engine, row, lease, E.DELIVERED, attempts=attempts, last_status=status, last_error=None,
                           delivered_at=to_db(now))
    retry_at = next_attempt(now, attempts, cfg.webhook_max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    return await _step(engine, row, lease, E.GIVE_UP if retry_at is None else E.RETRY, attempts=attempts,
                       last_status=status, last_error=error, next_attempt_at=to_db(retry_at or now))


async def _post(cfg: NotifySettings, session: aiohttp.ClientSession, row: dict[str, Any],
                now: datetime) -> tuple[int | None, str | None]:
    """POST the signed payload: the HTTP status (None without an answer) and the error, None when delivered."""
    body = json.dumps(row["payload"], ensure_ascii=False, sort_keys=True).encode()
    stamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: stamp,
               SIGNATURE_HEADER: webhook_signature(row["secret"], stamp, body),
               "X-Hotline-Event": row["event"], "X-Hotline-Delivery": str(row["id"])}
    refused = refused_url(row["url"], allow_http=cfg.webhook_allow_http, allow_private=cfg.webhook_allow_private)
    if refused is not None:
        log.warning("webhook delivery %s: %s", row["id"], refused)
        return None, REFUSED_ERROR
    try:
        async with session.post(row["url"], data=body, headers=headers, allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=cfg.webhook_timeout_s)) as resp:
            return resp.status, (f"接收方返回 HTTP {resp.status}" if resp.status >= 300 else None)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        # The details stay in the server log: on the deliveries API they would map the network around us.
        log.info("webhook delivery %s failed: %s %s", row["id"], exc.__class__.__name__, exc)
        return None, CONNECT_ERROR


async def _step(engine: AsyncEngine, row: dict[str, Any], lease: datetime, event: WebhookEvent,
                **values: object) -> str:
    """Write this try's outcome while the delivery is still ours (`sending` under our lease): the report
    counter's name, or `lost` when a later claim took it over and nothing was written."""
    async with write_transaction(engine) as conn:
        moved = await QUEUE.step(conn, row["id"], S(row["state"]), event, fence=lease, **values)
    if moved is None:
        log.warning("webhook delivery %s: lease lost before %s was written", row["id"], event)
        return "lost"
    return OUTCOMES[event]
