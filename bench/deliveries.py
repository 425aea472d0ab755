"""Benchmark: outbox delivery sweeps (claim with lease, one outcome write per message) on PostgreSQL and SQLite.

    python -m bench.deliveries [--messages 3000] [--batch 100] [--backend postgres|sqlite|both]

Queues N internal messages (no channel I/O, so only the queue's own database work is timed), then times
  1. the claims alone: `_claim` until the queue is empty (every row leased),
  2. full sweeps: `deliver_outbox(now)` until nothing is due (claim + one compare-and-set per message),
after the lease has run out, so the second pass re-claims every row as its sender had died.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from config.bootstrap import engine_for
from config.settings import load_settings
from core.db.engine import write_transaction
from core.db.migrate import upgrade
from ticketing.notify import outbox
from ticketing.notify.channels import LogChannel
from ticketing.notify.settings import NotifySettings

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


async def queue(engine: AsyncEngine, n: int) -> None:
    messages = [outbox.OutboxMessage(f"bench-{i}", None, "bench", "internal", "lead", "lead01", "督办", NOW)
                for i in range(n)]
    async with write_transaction(engine) as conn:
        await outbox.enqueue_many(conn, messages)


async def measure(engine: AsyncEngine, n: int, batch: int) -> tuple[float, float]:
    cfg = NotifySettings(batch_size=batch)
    await queue(engine, n)
    began = time.perf_counter()
    while await outbox._claim(engine, cfg, NOW) not in ([], ([], NOW + outbox.LEASE)):
        pass
    claims = time.perf_counter() - began
    later, sent, began = NOW + outbox.LEASE, 0, time.perf_counter()  # every lease has run out
    while (report := await outbox.deliver_outbox(engine, cfg, LogChannel(), later)).sent:
        sent += report.sent
    sweeps = time.perf_counter() - began
    assert sent == n, sent
    return claims, sweeps


async def on_postgres(n: int, batch: int) -> tuple[float, float]:
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = engine_for(load_settings(environ={"HOTLINE_DATABASE__URL": PG_URL}))
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    settings = load_settings(environ={"HOTLINE_DATABASE__URL": PG_URL, "HOTLINE_DATABASE__SCHEMA_NAME": schema})
    try:
        await asyncio.to_thread(upgrade, settings.database_url(), "heads", schema)
        engine = engine_for(settings)
        try:
            return await measure(engine, n, batch)
        finally:
            await engine.dispose()
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


async def on_sqlite(n: int, batch: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = engine_for(load_settings(environ={"HOTLINE_DATABASE__URL": url}))
        try:
            return await measure(engine, n, batch)
        finally:
            await engine.dispose()


async def main(n: int, batch: int, backends: list[str]) -> None:
    for backend in backends:
        claims, sweeps = await (on_postgres if backend == "postgres" else on_sqlite)(n, batch)
        print(f"{backend:8} {n} messages, batch {batch}: claims {claims:6.3f} s ({claims / n * 1e6:5.0f} µs/msg), "
              f"re-claim + deliver {sweeps:6.3f} s ({sweeps / n * 1e6:5.0f} µs/msg)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.batch, ["postgres", "sqlite"] if args.backend == "both" else [args.backend]))
