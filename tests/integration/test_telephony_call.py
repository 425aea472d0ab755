"""A citizen calls 12319 through real SIP peers: IVR, description recording, queue, agent, conversation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.acd import LogIn, SetReady
from callcenter.ari.client import AriClient
from callcenter.records import SqlCallRecords
from callcenter.rig.confgen import ari_password, recordings_dir
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from callcenter.tables import TABLES
from tests.sip.audio import rms, samples, tone_ratio, windows
from tests.sip.peers import BaresipAgent, run_sipp, to_alaw
from ticketing.db.base import metadata

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


@pytest.fixture
async def runtime(asterisk: TelephonySettings, tmp_path: Path) -> AsyncIterator[CallRuntime]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=list(TABLES))
    client = AriClient(asterisk.ari_url, asterisk.ari_user, ari_password(asterisk), asterisk.app_name)
    rt = CallRuntime(asterisk, client, records=SqlCallRecords(engine), announce_s=8)
    await rt.start()
    await rt.wait_connected()
    yield rt
    await rt.stop()
    await engine.dispose()


async def agent_online(rt: CallRuntime, agent: BaresipAgent, ext: str) -> None:
    await agent.start()
    for _ in range(50):
        if await rt.client.endpoint_state("PJSIP", ext) == "online":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent {ext} did not register")


async def wait_outcome(rt: CallRuntime, timeout: float = 15) -> dict:
    assert rt.records
    for _ in range(int(timeout * 10)):
        rows = await rt.records.recent(5)
        if rows and rows[0]["outcome"]:
            return await rt.records.get(rows[0]["id"]) or {}
        await asyncio.sleep(0.1)
    raise AssertionError("no finished call record")


async def test_citizen_reports_a_problem_and_talks_to_an_agent(
    runtime: CallRuntime, asterisk: TelephonySettings, audio_fixtures: Path, tmp_path: Path
) -> None:
    tone = tmp_path / "agent-tone.wav"
    await (await asyncio.create_subprocess_exec(
        "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tone), "synth", "120", "sine", "1000",
        "vol", "0.3")).wait()
    agent = BaresipAgent(asterisk, "8001", tmp_path / "agent8001", tone)
    await agent_online(runtime, agent, "8001")
    runtime.acd.command("8001", LogIn())
    runtime.acd.command("8001", SetReady())
    to_alaw(audio_fixtures / "callers" / "c01.wav", tmp_path)
    try:
        result = await run_sipp(asterisk, "citizen_report.xml", service="12319", workdir=tmp_path,
                                keys={"caller": "13800138001"})
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        record = await wait_outcome(runtime)
    finally:
        await agent.stop()

    assert record["outcome"] == "answered" and record["agent_id"] == "8001"
    assert record["caller"] == "13800138001" and record["dtmf_path"].startswith("1")
    stamps = [record[k] for k in ("arrived_at", "ivr_exit_at", "enqueued_at", "ring_at", "answered_at",
                                  "ended_at")]
    assert all(isinstance(s, datetime) for s in stamps) and stamps == sorted(stamps)
    assert (record["answered_at"] - record["enqueued_at"]).total_seconds() < 15
    assert record["hangup_by"] == "caller"
    kinds = [e["kind"] for e in record["events"]]
    assert kinds[:2] == ["ringing", "answered"]

    description = recordings_dir(asterisk) / record["description_recording"]
    desc, rate = samples(description)
    assert len(desc) / rate > 3, "the caller's description was recorded"
    assert max(rms(w) for w in windows(desc, rate)) > 300

    conversation, rate = samples(recordings_dir(asterisk) / record["call_recording"])
    parts = windows(conversation, rate)
    # Both voices are in the bridge recording: the agent's 1 kHz tone, and the caller's speech on top.
    assert sum(tone_ratio(w, rate, 1000) > 0.3 for w in parts) >= 4
    assert any(rms(w) > 1.3 * rms(parts[0]) for w in parts) or max(rms(w) for w in parts) > 2000
    heard = agent.heard()
    assert heard, "the agent phone dumped what it received"
    got, rate = samples(heard[0])
    assert max(rms(w) for w in windows(got, rate)) > 300, "the agent heard the caller"
    await asyncio.sleep(0.2)
    assert runtime.acd.agents["8001"].state.value in ("wrap_up", "ready")
