"""Benchmark: 1,000 work orders pushed by the 12345 simulator and answered back while it fails 30 % of our
deliveries at random; against direct case creation through our API in the same run.

    python -m bench.exchange [--orders 1000] [--rounds 5] [--concurrency 8] [--postgres] [--no-delivery]

The service runs as `hotline serve` in its own process with a 12345 link to the simulator (tests/sim12345.py,
another process). In each round the simulator pushes orders/rounds signed work orders (every tenth one twice)
with `concurrency` in flight, and the benchmark creates as many cases through `POST /api/v1/cases` with the
same concurrency — interleaved, so both see the same machine. Every order is then answered with a
阶段性答复 through the API (its 签收 went out on receipt). The simulator refuses 20 % of deliveries with a 500
before taking them and takes 10 % but answers 500 anyway (the lost answer: our retry must be recognised as
a duplicate), 30 % failed tries in all. Reported: orders and messages lost or doubled (must be 0), time to
drain after the last push, and the cost per inbound order as a ratio to a direct API creation (min and median
over the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import func, select

from bench.cases import PG_URL, _pg, pooled, prepare
from bench.cases import served as cases_served
from config.bootstrap import engine_for
from config.settings import CONFIG_DIR, Settings, load_settings
from tests.sim12345_rig import SimProcess
from ticketing.exchange.tables import exchange_orders, exchange_outbound

SECRET = "bench-secret-12345"
EXTRA_ENV: dict[str, str] = {}  # e.g. {"HOTLINE_EXCHANGE__LOOP_ENABLED": "false"} to push without deliveries


def order(n: int) -> dict[str, Any]:
    return {
        "msgType": "DISPATCH",
        "msgId": f"B-{n}",
        "workOrderNo": f"BENCH{n:06d}",
        "title": "路灯不亮",
        "content": "海滨东路120号门口路灯不亮",
        "appealType": "20",
        "appealCategory": "路灯",
        "address": "海滨东路120号",
        "callerNumber": "13900001111",
        "dispatchTime": "2026-11-20 09:00:00",
    }


@asynccontextmanager
async def served(settings: Settings, sim: SimProcess) -> AsyncIterator[str]:
    """The service in its own process (bench.cases' way) with the 12345 link to the simulator; yields its root URL."""
    link = {
        "HOTLINE_EXCHANGE__LINKS__12345__ENABLED": "true",
        "HOTLINE_EXCHANGE__LINKS__12345__BASE_URL": sim.url,
        "HOTLINE_EXCHANGE__LINKS__12345__SECRET": SECRET,
        "HOTLINE_EXCHANGE__LINKS__12345__RETRY_BASE_S": "0.2",
        "HOTLINE_EXCHANGE__LINKS__12345__RETRY_MAX_S": "1",
        "HOTLINE_EXCHANGE__LINKS__12345__DELIVER_INTERVAL_S": "0.2",
        "HOTLINE_EXCHANGE__LINKS__12345__WAIT_S": "0.2",
        "HOTLINE_EXCHANGE__LINKS__12345__MAX_ATTEMPTS": "100",
        "HOTLINE_EXCHANGE__LINKS__12345__BATCH_SIZE": "500",
        "HOTLINE_EXCHANGE__LINKS__12345__TIMEOUT_S": "5",
        **EXTRA_ENV,
    }
    async with cases_served(settings, link) as api:
        yield api.removesuffix("/api/v1")


async def run(label: str, settings: Settings, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    tokens = await prepare(settings)
    sim = SimProcess(SECRET, tmp / f"sim-{label}.json")
    sim.start()
    try:
        async with served(settings, sim) as base, ClientSession() as http:
            await sim.configure(fail_rate=0.2, lost_answer_rate=0.125)  # 20 % + 80 % × 12.5 % = 30 % of tries
            return await _rounds(label, base, http, sim, tokens, args, settings)
    finally:
        sim.stop()


async def _rounds(
    label: str,
    base: str,
    http: ClientSession,
    sim: SimProcess,
    tokens: dict[str, str],
    args: argparse.Namespace,
    settings: Settings,
) -> dict[str, Any]:
    per = args.orders // args.rounds
    body = {
        "source": "hotline",
        "description": "海滨东路120号门口路灯不亮",
        "category_code": "10118",
        "caller_phone": "13800000000",
        "address": "海滨东路120号",
    }
    agent = {"Authorization": f"Bearer {tokens['agent01']}"}
    push_s, api_s = [], []
    started = time.perf_counter()
    for r in range(args.rounds):
        batch = [order(r * per + i) for i in range(per)]
        t0 = time.perf_counter()
        replies = await sim.call(
            "POST",
            "/control/push",
            {"target": f"{base}/api/v1/exchange/12345/inbound", "messages": batch, "concurrency": args.concurrency},
        )
        push_s.append(time.perf_counter() - t0)
        assert all(x["status"] == 200 for x in replies["replies"]), replies["replies"][:3]

        async def create(_: int) -> None:
            async with http.post(f"{base}/api/v1/cases", json=body, headers=agent) as resp:
                assert resp.status == 201, await resp.text()

        api_s.append(await pooled(per, args.concurrency, create))
        await sim.call(
            "POST",
            "/control/push",
            {
                "target": f"{base}/api/v1/exchange/12345/inbound",
                "messages": batch[::10],
                "concurrency": args.concurrency,
            },
        )
    case_nos = await _case_nos(settings)

    async def progress(i: int) -> None:
        async with http.post(
            f"{base}/api/v1/exchange/cases/{case_nos[i]}/progress", json={"text": "已派养护单位"}, headers=agent
        ) as resp:
            assert resp.status == 202, await resp.text()

    await pooled(len(case_nos), args.concurrency, progress)
    pushed_at = time.perf_counter()
    expected = 2 * len(case_nos)
    while True:
        state = await sim.state_now()
        if len(state["received"]) >= expected and await _unsettled(settings) == 0:
            break
        if time.perf_counter() - pushed_at > args.drain_timeout:
            break
        await asyncio.sleep(0.25)
    drain = time.perf_counter() - pushed_at
    return _report(label, args, state, case_nos, push_s, api_s, drain, time.perf_counter() - started)


async def _case_nos(settings: Settings) -> list[str]:
    engine = engine_for(settings)
    async with engine.connect() as conn:
        rows = list((await conn.execute(select(exchange_orders.c.case_no).order_by(exchange_orders.c.id))).scalars())
    await engine.dispose()
    return rows


async def _unsettled(settings: Settings) -> int:
    engine = engine_for(settings)
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                select(func.count()).select_from(exchange_outbound).where(exchange_outbound.c.state != "acked")
            )
        ).scalar_one()
    await engine.dispose()
    return int(count)


def _report(
    label: str,
    args: argparse.Namespace,
    state: dict[str, Any],
    case_nos: list[str],
    push_s: list[float],
    api_s: list[float],
    drain: float,
    total: float,
) -> dict[str, Any]:
    received = state["received"].values()
    by_step: dict[tuple[str, str], int] = {}
    for message in received:
        key = (message["body"]["workOrderNo"], message["step"])
        by_step[key] = by_step.get(key, 0) + 1
    orders = {f"BENCH{n:06d}" for n in range(args.orders // args.rounds * args.rounds)}
    wanted = (
        {(o, s) for o in orders for s in ("sign", "stage-reply")} if not getattr(args, "no_delivery", False) else set()
    )
    lost = len(wanted - set(by_step)) + len(orders) - len(case_nos)
    doubled = sum(c - 1 for c in by_step.values() if c > 1) + max(0, len(case_nos) - len(orders))
    ratios = [p / a for p, a in zip(push_s, api_s, strict=True)]
    per = args.orders // args.rounds
    result = {
        "lost": lost,
        "doubled": doubled,
        "drain_s": drain,
        "total_s": total,
        "ratio_min": min(ratios),
        "ratio_median": statistics.median(ratios),
        "push_per_s": per / statistics.median(push_s),
        "api_per_s": per / statistics.median(api_s),
        "tries": state["deliveries"],
        "failed_on_purpose": state["failed_on_purpose"],
        "lost_answers": state["lost_answers"],
        "repeats_told_duplicate": sum(m["repeats"] for m in received),
    }
    print(
        f"{label:10} {len(case_nos)} orders, {len(by_step)} answers | lost {lost} | doubled {doubled} | "
        f"drain {drain:.1f} s after the last push ({total:.1f} s in all) | pushed {result['push_per_s']:.0f}/s vs "
        f"API {result['api_per_s']:.0f}/s: cost ratio min {result['ratio_min']:.2f} median "
        f"{result['ratio_median']:.2f} | {result['tries']} tries, {result['failed_on_purpose']} refused, "
        f"{result['lost_answers']} answers lost, {result['repeats_told_duplicate']} repeats told DUPLICATE"
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--no-delivery",
        action="store_true",
        help="push with the delivery loop off: the cost of taking orders alone (answers not drained)",
    )
    args = parser.parse_args()
    if args.no_delivery:
        EXTRA_ENV["HOTLINE_EXCHANGE__LOOP_ENABLED"] = "false"
        args.drain_timeout = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = load_settings(
            files=[CONFIG_DIR / "defaults.yaml"],
            environ={"HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{Path(tmp)}/bench.db", "HOTLINE_DATA_DIR": tmp},
        )
        await run("SQLite", sqlite, args, Path(tmp))
        if args.postgres:
            schema = "bench_" + uuid.uuid4().hex[:8]
            await _pg(f'CREATE SCHEMA "{schema}"')
            try:
                pg = load_settings(
                    files=[CONFIG_DIR / "defaults.yaml"],
                    environ={
                        "HOTLINE_DATABASE__URL": PG_URL,
                        "HOTLINE_DATABASE__SCHEMA_NAME": schema,
                        "HOTLINE_DATA_DIR": tmp,
                    },
                )
                await run("PostgreSQL", pg, args, Path(tmp))
            finally:
                await _pg(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    asyncio.run(main())
