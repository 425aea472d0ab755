"""Upward upload to a higher-level platform (运管服) played by the simulator process (tests/sim12345.py, its
`/upward/{stream}`): the platform is down, answers 500, takes a batch and loses the answer, answers slower
than our timeout — nothing lost, nothing doubled; the cursor moves only after an acknowledgement.
SQLite and PostgreSQL (the db_settings fixture behind `api`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from tests.api_plugin import Api
from tests.integration.exchange_rig import SECRET, sim_process
from tests.sim12345_rig import SimProcess
from ticketing.exchange.export import load_export_profile
from ticketing.exchange.settings import ExportSettings
from ticketing.exchange.tables import exchange_batches, exchange_cursors
from ticketing.exchange.upload import Uploader, resend_rejected, run_upload
from web.keys import CASES, ENGINE


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = sim_process(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as value:
        yield value


def uploader(api: Api, sim: SimProcess, session: aiohttp.ClientSession, secret: str = SECRET) -> Uploader:
    profile = load_export_profile("yunguanfu-http")
    assert profile.upload is not None
    target = profile.upload.model_copy(update={"timeout_s": 0.8, "retry_base_s": 1, "retry_max_s": 4})
    profile = profile.model_copy(update={"batch_size": 2, "upload": target})
    cfg = ExportSettings(enabled=True, profile="yunguanfu-http", endpoint=sim.url, secret=secret)
    return Uploader(api.client.app[ENGINE], profile, cfg, session, time.time)


async def upload(api: Api, up: Uploader, clock, **kw: Any):  # type: ignore[no-untyped-def]
    return await run_upload(up, await api.client.app[CASES].reference(), clock(), **kw)


async def taken(sim: SimProcess) -> dict[str, dict[str, Any]]:
    return (await sim.state_now())["batches"]


def records(batches: dict[str, dict[str, Any]], stream: str) -> list[dict[str, Any]]:
    return [r for b in sorted(batches) if batches[b]["stream"] == stream for r in batches[b]["records"]]


async def cursor(api: Api, stream: str) -> str | None:
    async with api.client.app[ENGINE].connect() as conn:
        return (await conn.execute(select(exchange_cursors.c.value).where(
            exchange_cursors.c.name == f"export:yunguanfu-http:{stream}"))).scalar()


async def batches_in(api: Api) -> list[dict[str, Any]]:
    async with api.client.app[ENGINE].connect() as conn:
        return [dict(r) for r in (await conn.execute(select(exchange_batches).order_by(exchange_batches.c.id)))
                .mappings()]


async def until_done(api: Api, up: Uploader, clock, rounds: int = 20) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        await upload(api, up, clock)
        if all(b["state"] == "acked" for b in await batches_in(api)) and not (
                await upload(api, up, clock)).batches:
            return
        clock.advance(seconds=10)
    raise AssertionError("batches still unacknowledged")


async def test_batches_are_uploaded_once_in_the_platforms_names(api: Api, sim: SimProcess, session, clock) -> None:  # type: ignore[no-untyped-def]
    made = [await api.create(accept=True) for _ in range(3)]
    up = uploader(api, sim, session)
    report = await upload(api, up, clock)
    assert (report.cases, report.events, report.batches) == (3, 6, 5)  # 2 + 1 cases, 2 + 2 + 2 events
    got = await taken(sim)
    assert sorted(r["ajbh"] for r in records(got, "cases")) == sorted(c["case_no"] for c in made)
    assert len(records(got, "events")) == 6 and all(b["repeats"] == 0 for b in got.values())
    first = next(r for r in records(got, "cases") if r["ajbh"] == made[0]["case_no"])
    assert first["xlbm"] == "10118" and first["zt"] == "accepted" and first["zbx"] == "WGS84"
    assert (await upload(api, up, clock)).batches == 0  # nothing changed: nothing sent
    assert (await sim.state_now())["batch_posts"] == 5


async def test_down_500_lost_answers_and_timeouts_lose_nothing_and_double_nothing(
        api: Api, sim: SimProcess, session, clock) -> None:  # type: ignore[no-untyped-def]
    made = [await api.create() for _ in range(5)]
    up = uploader(api, sim, session)
    sim.stop()  # down
    down = await upload(api, up, clock)
    assert down.batches == 0 and down.retried == 2 and "连接失败" in (down.error or "")  # a cases and an events batch
    assert await cursor(api, "cases") is None and await cursor(api, "events") is None  # nothing acknowledged
    frozen, frozen_events = await batches_in(api)
    assert frozen["stream"] == "cases" and frozen["state"] == "pending" and frozen["count"] == 2
    # While it waits, a case of the frozen batch changes: the batch goes out as frozen, the change after it.
    clock.advance(minutes=1)
    status, _ = await api.act(made[0], "accept", "agent01")
    assert status == 200
    sim.start()
    await sim.configure(fail_rate=1.0)  # 500 for everything
    assert (await upload(api, up, clock)).retried == 2 and await cursor(api, "cases") is None
    await sim.configure(lost_answer_rate=1.0)  # takes the batch, then answers 500
    clock.advance(seconds=10)
    lost = await upload(api, up, clock)
    assert lost.retried == 2 and await cursor(api, "cases") is None
    await sim.configure(slow_s=1.5)  # slower than our 0.8 s timeout
    clock.advance(seconds=10)
    slow = await upload(api, up, clock)
    assert slow.batches == 0 and slow.retried == 2
    await sim.configure()
    clock.advance(seconds=10)
    await until_done(api, up, clock)
    got = await taken(sim)
    for batch in (frozen, frozen_events):  # retried after a lost answer and a timeout, taken once
        assert got[batch["batch_id"]]["repeats"] >= 1 and got[batch["batch_id"]]["count"] == batch["count"]
    sent = [r["ajbh"] for r in records(got, "cases")]
    assert Counter(sent) == Counter({c["case_no"]: 1 for c in made} | {made[0]["case_no"]: 2})  # once, and its change
    latest = [r for r in records(got, "cases") if r["ajbh"] == made[0]["case_no"]]
    assert [r["zt"] for r in latest] == ["reported", "accepted"]
    events = [r["sjbh"] for r in records(got, "events")]
    assert len(events) == len(set(events)) == 6  # 5 creates and 1 accept, each once
    assert sum(b["count"] for b in got.values()) == len(sent) + len(events)
    assert {b["state"] for b in await batches_in(api)} == {"acked"}


async def test_a_refused_batch_stops_its_stream_until_resent(api: Api, sim: SimProcess, session, clock) -> None:  # type: ignore[no-untyped-def]
    await api.create()
    wrong = uploader(api, sim, session, secret="not-the-secret")
    refused = await upload(api, wrong, clock)
    assert refused.batches == 0 and len(refused.rejected) == 2 and "401" in (refused.error or "")
    again = await upload(api, wrong, clock)
    assert again.rejected == refused.rejected and await cursor(api, "cases") is None  # stopped, not skipped
    assert await resend_rejected(api.client.app[ENGINE], "yunguanfu-http", clock()) == 2
    report = await upload(api, uploader(api, sim, session), clock)
    assert report.cases == 1 and report.events == 1 and await cursor(api, "cases")
