"""Fetch the attachments of inbound work orders and keep the images as the case's photos: a durable job.

Each attachment is a row of `exchange_attachments`, written with its order (in the order's transaction), so a
crash loses none; the sweep claims due rows through core/leases.py `LeaseQueue` (like the outbound messages),
fetches each with the link's rules (domain/attachments.py: scheme, allow-listed host, public addresses only
unless allowed, no redirects, size and type), and stores the image through the photo store — a port
(`ImageStore`) that the web layer fills with its photo storage, so a fetched attachment is a photo like an
uploaded one. A failing attachment never touches the order or the case: its state and reason are on the row,
shown with the case (`attachments` in the case view).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.leases import LeaseQueue
from ticketing.exchange.domain import attachments as rules
from ticketing.exchange.domain.attachments import AttEvent, AttState
from ticketing.exchange.domain.inbound import Attachment
from ticketing.exchange.links import Link
from ticketing.exchange.settings import LinkSettings
from ticketing.exchange.tables import exchange_attachments
from ticketing.notify.domain.delivery import next_attempt
from ticketing.notify.domain.destinations import refused_address
from ticketing.notify.sql import insert_ignore

log = logging.getLogger("hotline.exchange")
S, E = AttState, AttEvent
LEASE = timedelta(minutes=5)
QUEUE = LeaseQueue(exchange_attachments, "next_attempt_at", LEASE, rules.apply)
BATCH = 20
PARALLEL = 4
CHUNK = 64 * 1024
OWNER = "12345"  # who the stored photos are "uploaded by"


@dataclass(frozen=True)
class StoredImage:
    photo_id: str
    content_type: str
    bytes: int


class ImageRefused(Exception):
    """The photo store would not keep this content (not a decodable image, too many pixels)."""


class StorageFull(Exception):
    """The photo store's file system is full: nothing kept; try again later."""


class ImageStore(Protocol):
    async def store_image(self, data: bytes, *, owner: str) -> StoredImage: ...


@dataclass
class FetchReport:
    stored: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    lost: int = 0


def allowed_hosts(cfg: LinkSettings) -> frozenset[str]:
    """The link's allow-list of file hosts; without one, the platform's own API host."""
    if cfg.attachment_hosts:
        return frozenset(h.lower() for h in cfg.attachment_hosts)
    host = urlsplit(cfg.base_url).hostname
    return frozenset({host.lower()}) if host else frozenset()


def refused(cfg: LinkSettings, url: str) -> str | None:
    return rules.refused_source(
        url, allowed_hosts(cfg), allow_http=cfg.attachment_allow_http, allow_private=cfg.attachment_allow_private
    )


async def enqueue_attachments(
    conn: AsyncConnection, link: Link, order_no: str, case_no: str, items: tuple[Attachment, ...], now: datetime
) -> None:
    """Queue the order's attachments (in the order's transaction); those refused by their form at once."""
    cfg = link.cfg
    if not cfg.attachments_fetch:
        return
    for seq, item in enumerate(items):
        reason = rules.REFUSED_COUNT if seq >= cfg.attachment_max_count else refused(cfg, item.url)
        await conn.execute(
            insert_ignore(conn, exchange_attachments)
            .values(
                system=link.name,
                ext_order_no=order_no,
                case_no=case_no,
                seq=seq,
                name=(item.name or "")[:200] or None,
                url=item.url[:4000],
                state=(S.REFUSED if reason else S.PENDING).value,
                attempts=0,
                next_attempt_at=to_db(now),
                last_error=reason,
                created_at=to_db(now),
                done_at=to_db(now) if reason else None,
            )
            .on_conflict_do_nothing()
        )


class RefusedAddress(OSError):
    """The host resolved to an address we must not connect to (final: not retried)."""


class _GuardedResolver(AbstractResolver):
    """Resolves, then refuses a host any of whose addresses is not public (connects to exactly those)."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if not found or any(refused_address(r["host"]) for r in found):
            raise RefusedAddress(f"attachment host {host} resolves to a refused address")
        return found

    async def close(self) -> None:
        await self._inner.close()


def client(cfg: LinkSettings) -> aiohttp.ClientSession:
    if cfg.attachment_allow_private:
        return aiohttp.ClientSession()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_GuardedResolver()))


async def fetch_attachments(service: Any, now: datetime) -> FetchReport:
    """One sweep: claim due attachments, fetch and store them (a few at a time)."""
    report = FetchReport()
    store: ImageStore | None = service.image_store
    if store is None or not await QUEUE.any_due(service.engine, now, S.PENDING, S.FETCHING):
        return report
    async with write_transaction(service.engine) as conn:
        stale = await QUEUE.claim(conn, now, BATCH, state=S.FETCHING, event=E.LEASE_EXPIRED)
        fresh = await QUEUE.claim(conn, now, BATCH - len(stale.ids), state=S.PENDING, event=E.CLAIM)
        rows = [
            dict(r)
            for r in (
                await conn.execute(
                    select(exchange_attachments)
                    .where(exchange_attachments.c.id.in_(stale.ids + fresh.ids))
                    .order_by(exchange_attachments.c.id)
                )
            ).mappings()
        ]
    lease = fresh.lease_until
    gate = asyncio.Semaphore(PARALLEL)
    by_order: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_order.setdefault((row["system"], row["ext_order_no"]), []).append(row)

    async def one_order(items: list[dict[str, Any]]) -> None:
        async with gate:  # orders side by side; one order's attachments in turn (its total is checked in turn)
            for row in items:
                outcome = await _fetch_one(service, store, row, lease, now)
                setattr(report, outcome, getattr(report, outcome) + 1)

    await asyncio.gather(*(one_order(items) for items in by_order.values()))
    return report


async def _fetch_one(service: Any, store: ImageStore, row: dict[str, Any], lease: datetime, now: datetime) -> str:
    link: Link | None = service.links.get(row["system"])
    if link is None:
        return await _step(service, row, lease, E.RETRY, next_attempt_at=to_db(now + timedelta(minutes=10)),
                           last_error="对接平台未启用")
    cfg = link.cfg
    reason = refused(cfg, row["url"])
    if reason is not None:
        return await _refuse(service, row, lease, now, reason)
    attempts = row["attempts"] + 1
    status, data, problem, final = await _download(service, cfg, row["url"])
    if problem is None:
        assert data is not None
        if await _order_bytes(service, row) + len(data) > cfg.attachment_total_bytes:
            return await _refuse(service, row, lease, now, rules.REFUSED_TOTAL, last_status=status, attempts=attempts)
        try:
            stored = await store.store_image(data, owner=OWNER)
        except ImageRefused as exc:
            return await _refuse(service, row, lease, now, f"{rules.REFUSED_TYPE}：{exc}", last_status=status,
                                 attempts=attempts)
        except StorageFull as exc:
            problem, final = f"照片存储空间已满，附件未保存，将稍后重试：{exc}", False
        else:
            return await _step(service, row, lease, E.STORED, attempts=attempts, last_status=status,
                               last_error=None, photo_id=stored.photo_id, content_type=stored.content_type,
                               bytes=stored.bytes, done_at=to_db(now))
    if final:
        return await _refuse(service, row, lease, now, problem, last_status=status, attempts=attempts)
    retry_at = next_attempt(now, attempts, cfg.attachment_max_attempts, cfg.retry_base_s, cfg.retry_max_s)
    event = E.RETRY if retry_at else E.GIVE_UP
    return await _step(service, row, lease, event, attempts=attempts, last_status=status, last_error=problem,
                       next_attempt_at=to_db(retry_at or now), done_at=None if retry_at else to_db(now))


async def _download(service: Any, cfg: LinkSettings, url: str) -> tuple[int | None, bytes | None, str | None, bool]:
    """(status, content, problem, final): content when it is an image within the size limit; else why not,
    and whether that is final (refused) or worth another try."""
    limit = cfg.attachment_max_bytes
    try:
        async with service.attachment_session(cfg).get(
            url, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=cfg.attachment_timeout_s)
        ) as resp:
            status = resp.status
            if 300 <= status < 400:
                return status, None, rules.REFUSED_REDIRECT, True
            if status >= 400:
                return status, None, f"对方返回 HTTP {status}", not rules.transient_status(status)
            if resp.content_length is not None and resp.content_length > limit:
                return status, None, f"{rules.REFUSED_TOO_BIG}（{limit // 1024} KB）", True
            buffer = bytearray()
            async for chunk in resp.content.iter_chunked(CHUNK):
                buffer += chunk
                if len(buffer) > limit:
                    return status, None, f"{rules.REFUSED_TOO_BIG}（{limit // 1024} KB）", True
                if len(buffer) >= 16 and rules.sniff(bytes(buffer[:16])) is None:
                    return status, None, rules.REFUSED_TYPE, True
    except RefusedAddress:
        return None, None, rules.REFUSED_ADDRESS, True
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        cause = exc.__cause__ or getattr(exc, "os_error", None)
        if isinstance(cause, RefusedAddress):
            return None, None, rules.REFUSED_ADDRESS, True
        log.info("attachment %s: %s %s", url[:200], exc.__class__.__name__, exc)
        return None, None, f"连接失败：{exc.__class__.__name__}", False
    if rules.sniff(bytes(buffer[:16])) is None:
        return status, None, rules.REFUSED_TYPE, True
    return status, bytes(buffer), None, False


async def _order_bytes(service: Any, row: Mapping[str, Any]) -> int:
    a = exchange_attachments.c
    async with service.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.coalesce(func.sum(a.bytes), 0)).where(
                        a.system == row["system"],
                        a.ext_order_no == row["ext_order_no"],
                        a.state == S.STORED.value,
                        a.id != row["id"],
                    )
                )
            ).scalar_one()
        )


async def _refuse(service: Any, row: Mapping[str, Any], lease: datetime, now: datetime, reason: str,
                  **values: Any) -> str:
    return await _step(service, row, lease, E.REFUSED, last_error=reason, done_at=to_db(now), **values)


async def _step(service: Any, row: Mapping[str, Any], lease: datetime, event: AttEvent, **values: Any) -> str:
    async with write_transaction(service.engine) as conn:
        moved = await QUEUE.step(conn, row["id"], S(row["state"]), event, fence=lease, **values)
    if moved is None:
        log.warning("exchange attachment %s: lease lost before %s was written", row["id"], event)
        return "lost"
    return {E.STORED: "stored", E.RETRY: "retried", E.GIVE_UP: "failed", E.REFUSED: "refused"}[event]


def view(row: Mapping[str, Any]) -> dict[str, Any]:
    """One attachment as the case view shows it."""
    return {
        "seq": row["seq"],
        "name": row["name"],
        "url": row["url"],
        "state": row["state"],
        "photo_id": row["photo_id"],
        "content_type": row["content_type"],
        "bytes": row["bytes"],
        "attempts": row["attempts"],
        "error": row["last_error"],
    }
