"""A citizen calls 12319 through real SIP peers: IVR, description recording, queue, agent, conversation."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from callcenter.acd import LogIn, SetReady
from callcenter.rig.confgen import recordings_dir
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip.audio import rms, samples, tone_ratio, windows
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, to_alaw, wait_outcome

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


async def test_citizen_reports_a_problem_and_talks_to_an_agent(
    call_runtime: CallRuntime, asterisk: TelephonySettings, audio_fixtures: Path, tmp_path: Path
) -> None:
    agent = BaresipAgent(asterisk, "8001", tmp_path / "agent8001", make_tone(tmp_path))
    await agent_online(call_runtime, agent, "8001")
    call_runtime.acd.command("8001", LogIn())
    call_runtime.acd.command("8001", SetReady())
    to_alaw(audio_fixtures / "callers" / "c01.wav", tmp_path)
    try:
        result = await run_sipp(asterisk, "citizen_report.xml", service="12319", workdir=tmp_path,
                                keys={"caller": "13800138001"})
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        record = await wait_outcome(call_runtime)
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
    assert kinds[:3] == ["enqueued", "ringing", "answered"]
    enqueued = record["events"][0]["detail"]
    assert enqueued["reason"] == "report" and enqueued["ivr_path"].startswith("menu:1>record:")

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
    assert call_runtime.acd.agents["8001"].state.value in ("wrap_up", "ready")
