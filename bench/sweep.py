"""Benchmark: one deadline sweep over 100,000 open cases on PostgreSQL, against baselines in the same run.

    python -m bench.sweep [--cases 100000] [--naive 5000]

Loads N dispatched cases with an open handling clock (COPY), 5 % of them now yellow and 2 % red, then times
  1. the first sweep (lights recorded, 督办 to departments, escalations, outbox rows),
  2. a second sweep at the same time (steady state: nothing to do, the per-minute cost),
  3. baseline: `SELECT count(*)` over the same open clocks,
  4. baseline: the naive per-row loop (read each clock, decide in Python, UPDATE it) on `--naive` rows,
     extrapolated to N.
Target (issue 7): the sweep over 100,000 open cases < 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from config.bootstrap import engine_for
from config.settings import DATA_DIR, load_settings
from core.db.migrate import upgrade
from ticketing.db.tables import case_stages
from ticketing.notify.deadlines import sweep_deadlines
from ticketing.notify.domain.deadlines import light
from ticketing.notify.settings import NotifySettings
from ticketing.reference import seed_reference

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
CASE_COLUMNS = ["id", "case_no", "state", "version", "source", "category_code", "description", "department_code",
                "rework_count", "reopen_count", "extension_count", "created_by", "created_at", "updated_at"]
STAGE_COLUMNS = ["id", "case_id", "stage", "started_at", "due_at", "yellow_at", "limit_value", "limit_unit",
                 "light"]


def _rows(n: int) -> tuple[list[tuple], list[tuple]]:
    start = (NOW - timedelta(hours=6)).replace(tzinfo=None)
    case_rows, stage_rows = [], []
    for i in range(1, n + 1):
        share = i % 100
        due_in = timedelta(hours=-1) if share < 2 else timedelta(minutes=30) if share < 7 else timedelta(days=2)
        due = NOW.replace(tzinfo=None) + due_in
        yellow = due - timedelta(hours=1)
        case_rows.append((i, f"2026112{i:05d}", "dispatched", 3, "hotline", "20505", "占道经营", "zfj", 0, 0, 0,
                          "bench", start, start))
        stage_rows.append((i, i, "handling", start, due, yellow, 4.0, "working_hours", "green"))
    return case_rows, stage_rows


async def load(settings, n: int) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(settings)
    case_rows, stage_rows = _rows(n)
    async with engine.begin() as conn:
        await seed_reference(conn, DATA_DIR)
        raw = (await conn.get_raw_connection()).driver_connection
        schema = settings.database.schema_name
        await raw.copy_records_to_table("cases", records=case_rows, columns=CASE_COLUMNS, schema_name=schema)
        await raw.copy_records_to_table("case_stages", records=stage_rows, columns=STAGE_COLUMNS,
                                        schema_name=schema)
        await conn.exec_driver_sql("ANALYZE cases")
        await conn.exec_driver_sql("ANALYZE case_stages")
    await engine.dispose()


async def timed(engine, step) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    await step()
    return time.perf_counter() - began


async def naive(engine, limit: int) -> float:  # type: ignore[no-untyped-def]
    """Per-row: read each open clock, decide its light in Python, write it back one UPDATE at a time."""
    s = case_stages
    began = time.perf_counter()
    async with engine.begin() as conn:
        rows = (await conn.execute(select(s.c.id, s.c.yellow_at, s.c.due_at, s.c.light).where(
            s.c.finished_at.is_(None)).order_by(s.c.id).limit(limit))).all()
        for row in rows:
            target = light(row.yellow_at, row.due_at, NOW.replace(tzinfo=None))
            if target != row.light:
                await conn.execute(update(s).where(s.c.id == row.id).values(light=target))
        await conn.rollback()
    return time.perf_counter() - began


async def main(n: int, naive_rows: int) -> None:
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = engine_for(load_settings(environ={"HOTLINE_DATABASE__URL": PG_URL}))
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    settings = load_settings(environ={"HOTLINE_DATABASE__URL": PG_URL, "HOTLINE_DATABASE__SCHEMA_NAME": schema})
    try:
        await asyncio.to_thread(upgrade, settings.database_url(), "heads", schema)
        await load(settings, n)
        await report(settings, n, naive_rows)
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


async def report(settings, n: int, naive_rows: int) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(settings)
    cfg, tz = NotifySettings(), ZoneInfo("Asia/Shanghai")
    s = case_stages
    try:
        count_s = await timed(engine, lambda: _count(engine))
        naive_s = await naive(engine, naive_rows) * n / naive_rows
        result: list = []
        first = await timed(engine, lambda: _sweep(engine, cfg, tz, result))
        second = await timed(engine, lambda: _sweep(engine, cfg, tz, result))
        async with engine.connect() as conn:
            open_clocks = (await conn.execute(select(func.count()).where(s.c.finished_at.is_(None)))).scalar()
    finally:
        await engine.dispose()
    print(f"open clocks: {open_clocks}; first sweep: {result[0]}; second sweep: {result[1]}")
    print(f"first sweep          {first:7.3f} s   ({first / count_s:6.1f} x count(*), "
          f"{first / naive_s:5.3f} x naive loop)")
    print(f"steady-state sweep   {second:7.3f} s   ({second / count_s:6.1f} x count(*))")
    print(f"baseline count(*)    {count_s:7.3f} s")
    print(f"baseline naive loop  {naive_s:7.3f} s   (extrapolated from {naive_rows} rows)")
    print(f"target < 2 s: {'met' if max(first, second) < 2 else 'NOT met'}")


async def _count(engine) -> None:  # type: ignore[no-untyped-def]
    s = case_stages
    async with engine.connect() as conn:
        await conn.execute(select(func.count()).where(s.c.finished_at.is_(None), s.c.paused_at.is_(None)))


async def _sweep(engine, cfg, tz, result: list) -> None:  # type: ignore[no-untyped-def]
    result.append(await sweep_deadlines(engine, cfg, NOW, tz))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.naive))
