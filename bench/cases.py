"""Benchmark: cases created and driven to closed through the HTTP API, against raw SQLAlchemy Core inserts
of the same rows in the same run, on SQLite and (if reachable) PostgreSQL.

    python -m bench.cases [--cases 600] [--concurrency 16] [--no-postgres]

Prints cases/s through the API, commands/s, and the ratio to the raw-insert baseline. Target (issue 2):
>= 300 cases/s created through the API on SQLite on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from config.bootstrap import engine_for
from config.settings import CONFIG_DIR, DATA_DIR, Settings, load_settings
from core import accounts
from core.db.migrate import upgrade
from ticketing.db.tables import case_counters, case_history, case_stages, cases
from ticketing.domain.model import Role
from ticketing.reference import seed_reference

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
STEPS = [("accept", "agent01", {}), ("register", "lead01", {}), ("dispatch", "dispatcher01", {"department": "szs"}),
         ("submit_result", "dept-szs", {"notes": "已修复"}), ("request_check", "agent01", {}),
         ("check_pass", "inspector01", {"photos": ["<photo>"]}), ("close", "lead01", {})]  # one real upload
USERS = [("agent01", Role.AGENT, None), ("lead01", Role.LEAD, None), ("dispatcher01", Role.DISPATCHER, None),
         ("inspector01", Role.INSPECTOR, None), ("dept-szs", Role.DEPARTMENT, "szs")]


async def prepare(settings: Settings) -> dict[str, str]:
    await asyncio.to_thread(upgrade, settings.database_url(), "heads", settings.database.schema_name)
    engine = engine_for(settings)
    tokens = {}
    async with engine.begin() as conn:
        await seed_reference(conn, DATA_DIR)
        for name, role, dept in USERS:
            await accounts.add_user(conn, username=name, display_name=name, role=role, now=datetime.now(UTC),
                                    department_code=dept)
            tokens[name] = await accounts.create_token(conn, name, datetime.now(UTC), days=1)
    await engine.dispose()
    return tokens


async def pooled(count: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> float:
    """Run `job(i)` for i < count with at most `concurrency` in flight; return elapsed seconds."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await job(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


@asynccontextmanager
async def served(settings: Settings, extra_env: Mapping[str, str] | None = None) -> AsyncIterator[str]:
    """`hotline serve` in its own process, as in production (the load generator must not share its core);
    yields the API's base URL once /health answers. `extra_env` adds settings as HOTLINE_* variables."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **_settings_env(settings), **(extra_env or {})}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "config.cli", "serve", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        async with ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{base}/health") as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    await asyncio.sleep(0.05)
        yield base
    finally:
        process.terminate()
        await process.wait()


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {"HOTLINE_DATABASE__URL": settings.database.url, "HOTLINE_DATA_DIR": settings.data_dir,
           "HOTLINE_CONFIG": str(CONFIG_DIR / "defaults.yaml")}  # not the developer's local.yaml
    if settings.database.schema_name:
        env["HOTLINE_DATABASE__SCHEMA_NAME"] = settings.database.schema_name
    return env


async def through_api(settings: Settings, tokens: dict[str, str], n: int, concurrency: int) -> tuple[float, float]:
    created: list[dict[str, Any]] = [{} for _ in range(n)]
    body = {"source": "hotline", "description": "海滨东路120号门口路灯不亮", "category_code": "10118",
            "caller_phone": "13800000000", "address": "海滨东路120号"}
    async with served(settings) as base, ClientSession() as http:
        async def create(i: int) -> None:
            async with http.post(f"{base}/cases", json=body, headers=_auth(tokens, "agent01")) as resp:
                assert resp.status == 201, await resp.text()
                created[i] = await resp.json()

        photo = await _photo(http, base, tokens)

        async def drive(i: int) -> None:
            case = created[i]
            for command, user, params in STEPS:
                url = f"{base}/cases/{case['case_no']}/actions/{command}"
                if "photos" in params:
                    params = {**params, "photos": [photo]}
                async with http.post(url, json={"version": case["version"], **params},
                                     headers=_auth(tokens, user)) as resp:
                    assert resp.status == 200, await resp.text()
                    case = await resp.json()
            assert case["state"] == "closed"

        create_s = await pooled(n, concurrency, create)
        drive_s = await pooled(n, concurrency, drive)
    return create_s, drive_s


async def _photo(http: ClientSession, base: str, tokens: dict[str, str]) -> str:
    """The inspector's one site photo, uploaded once (核查 answers carry a photo; ids are checked)."""
    import io

    from aiohttp import FormData
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(out, "JPEG")
    form = FormData()
    form.add_field("file", out.getvalue(), filename="site.jpg", content_type="image/jpeg")
    async with http.post(f"{base}/photos", data=form, headers=_auth(tokens, "inspector01")) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["photos"][0]["id"]


def _auth(tokens: dict[str, str], user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[user]}"}


async def raw_inserts(settings: Settings, n: int) -> float:
    """The same rows a case creation writes (counter, case, stage clock, history), one transaction each."""
    engine = engine_for(settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    start = time.perf_counter()
    for i in range(n):
        async with engine.begin() as conn:
            await conn.execute(case_counters.insert().values(day=f"r{i:07d}", last=1))
            case_id = (await conn.execute(cases.insert().values(
                case_no=f"9{i:011d}", state="reported", version=1, source="hotline", category_code="10118",
                description="海滨东路120号门口路灯不亮", caller_phone="13800000000", address="海滨东路120号",
                rework_count=0, reopen_count=0, extension_count=0, created_by="agent01", created_at=now,
                updated_at=now).returning(cases.c.id))).scalar_one()
            await conn.execute(case_stages.insert().values(
                case_id=case_id, stage="acceptance", started_at=now, due_at=now + timedelta(minutes=30),
                yellow_at=now + timedelta(minutes=24), limit_value=0.5, limit_unit="working_hours", light="green"))
            await conn.execute(case_history.insert().values(
                case_id=case_id, at=now, actor="agent01", actor_role="agent", command="create",
                from_state="reported", to_state="reported", payload={}))
    elapsed = time.perf_counter() - start
    await engine.dispose()
    return elapsed


async def run_backend(label: str, settings: Settings, n: int, concurrency: int) -> dict[str, float]:
    tokens = await prepare(settings)
    create_s, drive_s = await through_api(settings, tokens, n, concurrency)
    raw_s = await raw_inserts(settings, n)
    result = {"api_cases_per_s": n / create_s, "api_commands_per_s": n * len(STEPS) / drive_s,
              "raw_cases_per_s": n / raw_s, "ratio": (n / create_s) / (n / raw_s)}
    print(f"{label:10} create via API {result['api_cases_per_s']:7.0f} cases/s | raw Core inserts "
          f"{result['raw_cases_per_s']:7.0f} cases/s | ratio {result['ratio']:.2f} | drive to closed "
          f"{result['api_commands_per_s']:6.0f} commands/s ({n} cases, {concurrency} clients)")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = load_settings(files=[CONFIG_DIR / "defaults.yaml"], environ={
            "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{Path(tmp)}/bench.db", "HOTLINE_DATA_DIR": tmp})
        await run_backend("SQLite", sqlite, args.cases, args.concurrency)
    if not args.no_postgres:
        schema = "bench_" + uuid.uuid4().hex[:8]
        await _pg(f'CREATE SCHEMA "{schema}"')
        try:
            pg = load_settings(files=[CONFIG_DIR / "defaults.yaml"], environ={
                "HOTLINE_DATABASE__URL": PG_URL, "HOTLINE_DATABASE__SCHEMA_NAME": schema})
            await run_backend("PostgreSQL", pg, args.cases, args.concurrency)
        finally:
            await _pg(f'DROP SCHEMA "{schema}" CASCADE')


async def _pg(sql: str) -> None:
    from core.db.engine import create_engine

    engine = create_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(sql)
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
