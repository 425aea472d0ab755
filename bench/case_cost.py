"""Work per API case creation, counted instead of timed: Python function calls (cProfile) and SQL statements.

    python -m bench.case_cost [--cases 320] [--concurrency 16]

Counts do not move with the load of a shared machine (timings here move 3x between two runs), so this is the
figure to compare two trees with: run it from each checkout. The service runs in this process (aiohttp test
server on a loopback port, temp SQLite, the same app `hotline serve` builds); after five warm-up creations,
N cases are created through `POST /api/v1/cases` by C concurrent clients, with the profiler and a statement
counter on for the creations and one second after (so the notify loop's reactions to them are counted too).
Baseline in the same run: the statements of the raw Core insert of the same rows (bench.cases: 4 per case).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.cases import prepare
from config.bootstrap import create_app
from config.settings import CONFIG_DIR, load_settings

RAW_STATEMENTS = 4  # counter upsert, case, stage clock, history: bench.cases.raw_inserts


async def measure(cases: int, concurrency: int) -> tuple[float, Counter[str]]:
    statements: Counter[str] = Counter()
    counting = False

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if counting:
            statements[" ".join(statement.split())[:100]] += 1

    event.listen(Engine, "before_cursor_execute", seen)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(files=[CONFIG_DIR / "defaults.yaml"], environ={
            "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{Path(tmp)}/cost.db", "HOTLINE_DATA_DIR": tmp})
        tokens = await prepare(settings)
        server = TestServer(create_app(settings))
        await server.start_server()
        url = f"http://127.0.0.1:{server.port}/api/v1/cases"
        body = {"source": "hotline", "description": "海滨东路120号门口路灯不亮", "category_code": "10118",
                "caller_phone": "13800000000", "address": "海滨东路120号"}
        headers = {"Authorization": f"Bearer {tokens['agent01']}"}
        try:
            async with ClientSession() as http:
                async def create(n: int) -> None:
                    for _ in range(n):
                        async with http.post(url, json=body, headers=headers) as resp:
                            assert resp.status == 201, await resp.text()

                await create(5)
                await asyncio.sleep(0.5)
                profile = cProfile.Profile()
                counting = True
                profile.enable()
                await asyncio.gather(*(create(cases // concurrency) for _ in range(concurrency)))
                await asyncio.sleep(1.0)
                profile.disable()
                counting = False
        finally:
            await server.close()
            event.remove(Engine, "before_cursor_execute", seen)
    created = cases // concurrency * concurrency
    return pstats.Stats(profile).total_calls / created, Counter({k: v / created for k, v in statements.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    calls, statements = asyncio.run(measure(args.cases, args.concurrency))
    total = sum(statements.values())
    print(f"per API case creation ({args.concurrency} clients): {calls:,.0f} Python calls, {total:.2f} SQL statements "
          f"(ratio {total / RAW_STATEMENTS:.2f} to the raw insert's {RAW_STATEMENTS})")
    for statement, count in statements.most_common():
        print(f"  {count:5.2f}  {statement}")


if __name__ == "__main__":
    main()
