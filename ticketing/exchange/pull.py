"""Pull: poll the platform's 待办 list from a durable cursor, take each message like a pushed one.

The cursor moves only after every message of a page is stored (created, applied, held, recorded or refused
with a log row); a crash in between makes the next poll read the page again, and the messages' keys make
that harmless. A platform that is down, slow or answers 5xx leaves the cursor where it was.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import select

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from ticketing.exchange.domain import signing
from ticketing.exchange.domain.profile import dig
from ticketing.exchange.tables import exchange_cursors
from ticketing.notify.sql import insert_ignore

log = logging.getLogger("hotline.exchange")
MAX_PAGES = 50  # per poll, so one poll cannot run forever against a platform that always says "more"


@dataclass
class PollReport:
    pages: int = 0
    messages: int = 0
    results: dict[str, int] | None = None
    error: str | None = None


async def read_cursor(engine: Any, name: str) -> str:
    async with engine.connect() as conn:
        return (
            await conn.execute(select(exchange_cursors.c.value).where(exchange_cursors.c.name == name))
        ).scalar() or ""


async def write_cursor(engine: Any, name: str, value: str, now: datetime) -> None:
    async with write_transaction(engine) as conn:
        stmt = insert_ignore(conn, exchange_cursors).values(name=name, value=value, updated_at=to_db(now))
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": to_db(now)})
        )


async def poll(service: Any, system: str, now: datetime) -> PollReport:
    link = service.link(system)
    name = f"{system}:pull"
    cursor = await read_cursor(service.engine, name)
    report = PollReport(results={})
    for _ in range(MAX_PAGES):
        page, error = await _fetch(service, link, cursor)
        if error is not None:
            report.error = error
            log.warning("exchange %s: poll failed: %s", system, error)
            break
        items, next_cursor = page
        report.pages += 1
        for item in items:
            answer = await service.receive(link, item, "pull")
            report.messages += 1
            report.results[answer.result] = report.results.get(answer.result, 0) + 1  # type: ignore[index]
        if next_cursor and next_cursor != cursor:
            await write_cursor(service.engine, name, next_cursor, now)
            cursor = next_cursor
        if not items:
            break
    return report


async def _fetch(service: Any, link: Any, cursor: str) -> tuple[tuple[list[Any], str], str | None]:
    pull, sig = link.profile.pull, link.profile.signing
    params = {pull.cursor_param: cursor, pull.limit_param: str(link.cfg.poll_limit)}
    stamp = str(int(service.wall()))
    query = f"{pull.cursor_param}={cursor}&{pull.limit_param}={link.cfg.poll_limit}".encode()
    headers = {
        sig.timestamp_header: stamp,
        sig.app_header: link.cfg.app_key,
        sig.signature_header: signing.sign(sig.scheme, link.cfg.secret, stamp, query),
    }
    try:
        async with service.session().get(
            link.cfg.base_url.rstrip("/") + pull.path,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=link.cfg.timeout_s),
        ) as resp:
            text = await resp.text()
            if resp.status != 200:
                return ([], cursor), f"待办接口返回 HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return ([], cursor), f"待办接口连接失败：{exc.__class__.__name__} {exc}"
    try:
        data = json.loads(text)
    except ValueError:
        return ([], cursor), "待办接口应答不是 JSON"
    items = dig(data, pull.items)
    if not isinstance(items, list):
        return ([], cursor), f"待办接口应答缺少列表 {pull.items}"
    return (items, str(dig(data, pull.next_cursor) or cursor)), None
