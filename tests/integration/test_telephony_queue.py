"""Queue behaviour with real SIP peers: announcements and callback, no-answer, blocklist, progress query."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.acd import LogIn, Queue, QueueConfig, SetReady, Strategy
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, wait_outcome

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


def ready(rt: CallRuntime, *exts: str) -> None:
    for ext in exts:
        rt.acd.command(ext, LogIn())
        rt.acd.command(ext, SetReady())


async def call(tel: TelephonySettings, tmp_path: Path, caller: str, steps: list[tuple[str, ...]]) -> None:
    path = scenario.write(tmp_path, f"{caller}.xml", steps)
    result = await run_sipp(tel, path, service=tel.hotline_number, workdir=tmp_path, keys={"caller": caller},
                            timeout_s=40)
    assert result.returncode == 0, result.stderr[-2000:]


async def test_no_agent_ready_announces_position_and_takes_a_callback(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    plays: list[str] = []
    original = call_runtime.client.play

    async def spy(target: str, media: str | list[str], playback_id: str | None = None):  # type: ignore[no-untyped-def]
        plays.extend([media] if isinstance(media, str) else media)
        return await original(target, media, playback_id)

    call_runtime.client.play = spy  # type: ignore[method-assign]
    queue = call_runtime.flow.queue.model_copy(update={"offer_after_s": 8})
    call_runtime.flow = call_runtime.flow.model_copy(update={"queue": queue})
    # 0 during the greeting: straight to the queue; after the announcement and the offer, press 1.
    await call(asterisk, tmp_path, "13800138002",
               [("pause", 1500), ("dtmf", "0"), ("pause", 14000), ("dtmf", "1"), ("await_bye",)])
    record = await wait_outcome(call_runtime, caller="13800138002")
    assert record["outcome"] == "callback"
    assert any(p.endswith("/queue_next") for p in plays)
    assert any(p.endswith("/callback_offer") for p in plays)
    assert any(p.endswith("/callback_confirmed") for p in plays)
    assert [e["kind"] for e in record["events"]] == ["enqueued", "callback_requested"]
    waiting = call_runtime.acd.queue.calls
    assert [w.caller for w in waiting if w.callback] == ["13800138002"]


async def test_agent_who_does_not_answer_is_skipped_and_the_call_keeps_its_place(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    sleepy = BaresipAgent(asterisk, "8002", tmp_path / "a8002", make_tone(tmp_path), auto_answer=False)
    awake = BaresipAgent(asterisk, "8003", tmp_path / "a8003", make_tone(tmp_path))
    await agent_online(call_runtime, sleepy, "8002")
    await agent_online(call_runtime, awake, "8003")
    ready(call_runtime, "8002")
    try:
        caller = asyncio.create_task(call(asterisk, tmp_path, "13800138003", [
            ("pause", 1500), ("dtmf", "0"), ("pause", 16000), ("bye",)]))
        for _ in range(100):  # the first offer goes to 8002, which lets it ring out (5 s)
            if call_runtime.acd.agents["8002"].state.value == "ringing":
                break
            await asyncio.sleep(0.1)
        ready(call_runtime, "8003")
        await caller
        record = await wait_outcome(call_runtime, caller="13800138003")
    finally:
        await sleepy.stop()
        await awake.stop()
    trail = [(e["kind"], e["agent_id"]) for e in record["events"] if e["kind"] != "enqueued"]
    assert trail == [("ringing", "8002"), ("no_answer", "8002"), ("ringing", "8003"), ("answered", "8003")]
    assert record["outcome"] == "answered" and record["agent_id"] == "8003"
    assert call_runtime.acd.agents["8002"].reason == "no_answer"


async def test_blocklisted_number_hears_the_notice_and_is_hung_up(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    await call(asterisk, tmp_path, "13900000666", [("await_bye",)])
    record = await wait_outcome(call_runtime, caller="13900000666")
    assert record["outcome"] == "blocked" and record["enqueued_at"] is None



async def test_ring_all_rings_every_ready_agent_and_the_first_answer_wins(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    call_runtime.acd.queue = Queue(QueueConfig("hotline", "hotline", strategy=Strategy.RING_ALL, ring_timeout_s=5))
    quick = BaresipAgent(asterisk, "8006", tmp_path / "a8006", make_tone(tmp_path))
    slow = BaresipAgent(asterisk, "8007", tmp_path / "a8007", make_tone(tmp_path), auto_answer=False)
    await agent_online(call_runtime, quick, "8006")
    await agent_online(call_runtime, slow, "8007")
    ready(call_runtime, "8006", "8007")
    try:
        await call(asterisk, tmp_path, "13800138005", [("pause", 1500), ("dtmf", "0"), ("pause", 5000), ("bye",)])
        record = await wait_outcome(call_runtime, caller="13800138005")
    finally:
        await quick.stop()
        await slow.stop()
    rung = sorted(e["agent_id"] for e in record["events"] if e["kind"] == "ringing")
    assert rung == ["8006", "8007"]
    assert record["outcome"] == "answered" and record["agent_id"] == "8006"
    assert "no_answer" not in [e["kind"] for e in record["events"]]
    slow_agent = call_runtime.acd.agents["8007"]
    assert slow_agent.state.value == "ready" and slow_agent.calls_handled == 0  # cancelled, not penalised
