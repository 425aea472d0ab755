"""Restarts: Asterisk restarted while idle or killed during a call, and our application restarted while a
caller waits (kill -9 of `hotline serve` in every call state: test_telephony_crash.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from callcenter.acd import AgentState, LogIn, SetReady
from callcenter.app import build_runtime
from callcenter.rig import process
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, wait_for, wait_outcome

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


async def test_asterisk_killed_during_a_call_the_app_reconnects_within_2_s_and_ends_the_cut_call(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    """Asterisk dies (SIGKILL: no BYE, no last events) while a caller talks to agent 8006: once it answers
    again the runtime is connected within 2 s, the cut call's row ends from its lifecycle (answered), the
    agent is free again after wrap-up, and the next call works."""
    agent = BaresipAgent(asterisk, "8006", tmp_path / "a8006", make_tone(tmp_path))
    try:
        await agent_online(call_runtime, agent, "8006")
        call_runtime.acd.command("8006", LogIn())
        call_runtime.acd.command("8006", SetReady())
        path = scenario.write(tmp_path, "cut.xml", [("pause", 1500), ("dtmf", "0"), ("pause", 60000), ("bye",)])
        caller = asyncio.create_task(run_sipp(asterisk, path, service="12319", workdir=tmp_path,
                                              keys={"caller": "13800138011"}, timeout_s=90))
        await wait_for(lambda: call_runtime.acd.agents["8006"].state is AgentState.ON_CALL, timeout=20)
        os.kill(process._read_pid(asterisk) or 0, signal.SIGKILL)
        await asyncio.to_thread(process.stop, asterisk)  # reaps it and removes the pid file
        await wait_for(lambda: not call_runtime.client.connected.is_set(), timeout=10)
        await asyncio.to_thread(process.start, asterisk)  # returns once ARI answers
        answering = time.monotonic()
        await call_runtime.wait_connected(10)
        reconnect_s = time.monotonic() - answering
        print(f"\nAsterisk answering -> app reconnected in {reconnect_s:.2f} s")
        assert reconnect_s < 2.0
        record = await wait_outcome(call_runtime, caller="13800138011", timeout=10)
        assert record["outcome"] == "answered" and record["agent_id"] == "8006"
        await wait_for(lambda: call_runtime.acd.agents["8006"].state is AgentState.READY, timeout=10)
        caller.cancel()
        path = scenario.write(tmp_path, "next.xml", [("await_bye",)])
        result = await run_sipp(asterisk, path, service="12319", workdir=tmp_path,
                                keys={"caller": "13900000666"}, timeout_s=30)
        assert result.returncode == 0, result.stderr[-1500:]
        assert (await wait_outcome(call_runtime, caller="13900000666"))["outcome"] == "blocked"
    finally:
        await agent.stop()
