"""Restarts: Asterisk restarted while idle, and our application restarted while a caller waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.acd import LogIn, SetReady
from callcenter.app import build_runtime
from callcenter.rig import process
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, wait_outcome

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


async def test_after_asterisk_restarts_the_app_reconnects_and_the_next_call_works(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    await asyncio.to_thread(process.stop, asterisk)
    for _ in range(50):
        if not call_runtime.client.connected.is_set():
            break
        await asyncio.sleep(0.1)
    assert not call_runtime.client.connected.is_set()
    await asyncio.to_thread(process.start, asterisk)
    await call_runtime.wait_connected(10)
    path = scenario.write(tmp_path, "after-restart.xml", [("await_bye",)])
    result = await run_sipp(asterisk, path, service="12319", workdir=tmp_path, keys={"caller": "13900000666"},
                            timeout_s=30)
    assert result.returncode == 0, result.stderr[-1500:]
    record = await wait_outcome(call_runtime, caller="13900000666")
    assert record["outcome"] == "blocked"


async def test_a_waiting_caller_survives_a_restart_of_our_app(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    path = scenario.write(tmp_path, "waiting.xml", [("pause", 1500), ("dtmf", "0"), ("pause", 14000), ("bye",)])
    caller = asyncio.create_task(run_sipp(asterisk, path, service="12319", workdir=tmp_path,
                                          keys={"caller": "13800138009"}, timeout_s=40))
    for _ in range(60):
        if call_runtime.acd.queue.calls:
            break
        await asyncio.sleep(0.1)
    first_id = call_runtime.acd.queue.calls[0].call_id
    records = call_runtime.records
    await call_runtime.stop()  # the old instance goes away while the caller waits

    agent = BaresipAgent(asterisk, "8004", tmp_path / "a8004", make_tone(tmp_path))
    second = build_runtime(asterisk, records)
    await second.start()
    try:
        await second.wait_connected()
        await agent_online(second, agent, "8004")
        second.acd.command("8004", LogIn())
        second.acd.command("8004", SetReady())
        result = await caller
        assert result.returncode == 0, result.stderr[-1500:]
        record = await wait_outcome(second, caller="13800138009")
    finally:
        await agent.stop()
        await second.stop()
    assert record["id"] == first_id, "the same call record continues"
    assert record["outcome"] == "answered" and record["agent_id"] == "8004"
    assert record["dtmf_path"].startswith("0")
