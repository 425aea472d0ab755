"""Call control against the real Asterisk: blind transfer, click-to-call, survey calls, SIP MESSAGE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from callcenter.acd import LogIn, SetReady
from callcenter.call import Call
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip import scenario
from tests.sip.peers import (
    BaresipAgent,
    agent_online,
    free_port,
    make_tone,
    run_sipp,
    start_uas,
    wait_for,
    wait_outcome,
)

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]


def ready(rt: CallRuntime, *exts: str) -> None:
    for ext in exts:
        rt.acd.command(ext, LogIn())
        rt.acd.command(ext, SetReady())


def connected(rt: CallRuntime, caller: str, agent_id: str | None = None) -> Call | None:
    for call in rt.calls.values():
        live = call.caller == caller and call.bridge_id and call.agent_channel and call.answered_at
        if live and agent_id in (None, call.agent_id):
            return call
    return None


async def bridge_size(rt: CallRuntime, bridge_id: str) -> int:
    return next((len(b.channels) for b in await rt.client.list_bridges() if b.id == bridge_id), 0)


async def bridge_has(rt: CallRuntime, bridge_id: str, size: int) -> bool:
    return await bridge_size(rt, bridge_id) == size


@asynccontextmanager
async def caller_to_agent(
    rt: CallRuntime, asterisk: TelephonySettings, tmp_path: Path, number: str,
    phones: tuple[str, ...] = ("8001",), talk_ms: int = 16000,
) -> AsyncIterator[asyncio.Task[Any]]:
    """Agent phones online (the first one ready), and a SIPp citizen who presses 0 for an agent, talks for
    `talk_ms` and hangs up; yields the citizen's task. The phones are stopped afterwards."""
    agents = [BaresipAgent(asterisk, ext, tmp_path / f"a{ext}", make_tone(tmp_path)) for ext in phones]
    for agent, ext in zip(agents, phones, strict=True):
        await agent_online(rt, agent, ext)
    ready(rt, phones[0])
    path = scenario.write(tmp_path, f"c{number}.xml", [("pause", 1500), ("dtmf", "0"), ("pause", talk_ms), ("bye",)])
    caller = asyncio.create_task(run_sipp(asterisk, path, service=asterisk.hotline_number, workdir=tmp_path,
                                          keys={"caller": number}, timeout_s=40))
    try:
        yield caller
    finally:
        for agent in agents:
            await agent.stop()


async def test_blind_transfer_to_another_agent(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    async with caller_to_agent(call_runtime, asterisk, tmp_path, "13800138101", ("8001", "8002")) as caller:
        call = await wait_for(lambda: connected(call_runtime, "13800138101", "8001"))
        ready(call_runtime, "8002")
        await call_runtime.transfer(call.id, "agent", "8002", actor="agent01")
        await wait_for(lambda: connected(call_runtime, "13800138101", "8002"))
        # connected() holds once the new leg answered, a moment before it joins the bridge: wait for both.
        assert await wait_for(lambda: bridge_has(call_runtime, call.bridge_id, 2))
        result = await caller
        record = await wait_outcome(call_runtime, caller="13800138101")
    assert result.returncode == 0, result.stderr[-1500:]
    assert record["outcome"] == "answered" and record["agent_id"] == "8002"
    trail = [(e["kind"], e["agent_id"]) for e in record["events"]]
    assert trail[-3:] == [("transferred", None), ("ringing", "8002"), ("answered", "8002")]
    assert record["events"][-3]["detail"] == {"to": "agent", "target": "8002", "actor": "agent01"}
    assert call_runtime.acd.agents["8001"].state.value in ("wrap_up", "ready")


async def test_blind_transfer_to_the_queue_reaches_the_next_ready_agent(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    async with caller_to_agent(call_runtime, asterisk, tmp_path, "13800138103", ("8001", "8002")) as caller:
        call = await wait_for(lambda: connected(call_runtime, "13800138103", "8001"))
        ready(call_runtime, "8002")
        await call_runtime.transfer(call.id, "queue", "hotline", actor="agent01")
        await wait_for(lambda: connected(call_runtime, "13800138103", "8002"))
        result = await caller
        record = await wait_outcome(call_runtime, caller="13800138103")
    assert result.returncode == 0, result.stderr[-1500:]
    assert record["outcome"] == "answered" and record["agent_id"] == "8002"
    kinds = [e["kind"] for e in record["events"]]
    assert "transferred" in kinds and kinds[-1] == "answered"
    assert record["events"][kinds.index("transferred")]["detail"]["to"] == "queue"


async def test_blind_transfer_to_an_outside_number_goes_through_the_trunk(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    port = free_port()
    call_runtime.trunk_outbound = f"127.0.0.1:{port}"
    uas = await start_uas(scenario.write_uas(tmp_path, "outside.xml", []), port, tmp_path)
    try:
        async with caller_to_agent(call_runtime, asterisk, tmp_path, "13800138104", talk_ms=12000) as caller:
            call = await wait_for(lambda: connected(call_runtime, "13800138104", "8001"))
            await call_runtime.transfer(call.id, "number", "057386000000", actor="agent01")

            async def outside_joined() -> bool:  # the caller and the outside party, the agent gone
                return call.agent_id is None and await bridge_size(call_runtime, call.bridge_id or "") == 2

            await wait_for(outside_joined)
            result = await caller
            _out, err = await asyncio.wait_for(uas.communicate(), 20)
    finally:
        if uas.returncode is None:
            uas.kill()
            await uas.wait()
    assert result.returncode == 0, result.stderr[-1500:]
    assert uas.returncode == 0, err.decode()[-1500:]
    record = await wait_outcome(call_runtime, caller="13800138104")
    transferred = next(e for e in record["events"] if e["kind"] == "transferred")
    assert transferred["detail"] == {"to": "number", "target": "057386000000", "actor": "agent01"}
    await wait_for(lambda: call_runtime.acd.agents["8001"].state.value in ("wrap_up", "ready"))


async def test_hold_takes_the_caller_out_to_music_and_resume_brings_them_back(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    async with caller_to_agent(call_runtime, asterisk, tmp_path, "13800138105", talk_ms=14000) as caller:
        call = await wait_for(lambda: connected(call_runtime, "13800138105", "8001"))
        assert await call_runtime.hold(call.id, True, actor="agent01") is True

        async def caller_out() -> bool:  # only the agent's leg (and the recorder) stay in the bridge
            bridges = {b.id: b for b in await call_runtime.client.list_bridges()}
            return call.channel_id not in bridges[call.bridge_id or ""].channels

        await wait_for(caller_out)
        assert await call_runtime.hold(call.id, True, actor="agent01") is True  # idempotent
        assert await call_runtime.hold(call.id, False, actor="agent01") is False

        async def caller_back() -> bool:
            bridges = {b.id: b for b in await call_runtime.client.list_bridges()}
            return call.channel_id in bridges[call.bridge_id or ""].channels

        await wait_for(caller_back)
        result = await caller
        record = await wait_outcome(call_runtime, caller="13800138105")
    assert result.returncode == 0, result.stderr[-1500:]
    kinds = [e["kind"] for e in record["events"]]
    assert kinds.count("held") == 1 and kinds.count("resumed") == 1
    assert record["outcome"] == "answered"


async def test_click_to_call_rings_the_agent_then_the_citizen_and_bridges_them(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    agent = BaresipAgent(asterisk, "8003", tmp_path / "a8003", make_tone(tmp_path))
    await agent_online(call_runtime, agent, "8003")
    call_runtime.acd.command("8003", LogIn())  # not ready: an agent may still call out
    port = free_port()
    call_runtime.trunk_outbound = f"127.0.0.1:{port}"
    uas = await start_uas(scenario.write_uas(tmp_path, "callee.xml", []), port, tmp_path)
    try:
        call_id = await call_runtime.originate("8003", "13800138102")
        assert call_runtime.acd.agents["8003"].state.value == "on_call"
        call = call_runtime.calls[call_id]
        await wait_for(lambda: call.answered_at)
        assert await wait_for(lambda: bridge_size(call_runtime, call.bridge_id or "")) == 2
        await call_runtime.client.hangup(call.channel_id)  # the agent hangs up; the citizen gets a BYE
        _out, err = await asyncio.wait_for(uas.communicate(), 20)
    finally:
        await agent.stop()
    assert uas.returncode == 0, err.decode()[-1500:]
    record = await wait_outcome(call_runtime, caller="8003")
    assert record["direction"] == "outbound" and record["called"] == "13800138102"
    assert record["outcome"] == "answered" and record["answered_at"] is not None
    await wait_for(lambda: call_runtime.acd.agents["8003"].state.value in ("wrap_up", "ready"))


async def test_survey_call_reports_the_key_the_citizen_pressed(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    port = free_port()
    call_runtime.trunk_outbound = f"127.0.0.1:{port}"
    # 3 (不满意) during the question, then # ends the optional voice reason at once.
    uas = await start_uas(scenario.write_uas(tmp_path, "survey.xml", [
        ("pause", 3000), ("dtmf", "3"), ("pause", 8000), ("dtmf", "#")]), port, tmp_path)
    answers: list[tuple[int, int | None, str | None]] = []

    async def on_answer(callback_id: int, answer: int | None, recording: str | None) -> None:
        answers.append((callback_id, answer, recording))

    case_no = "202611260001"  # an input handed to the survey and read back from the call row, not today's date
    await call_runtime.start_survey(callback_id=7, number="13800138103", case_no=case_no,
                                    state="dispatched", result_text="已派遣至市政所", on_answer=on_answer)
    _out, err = await asyncio.wait_for(uas.communicate(), 60)
    assert uas.returncode == 0, err.decode()[-1500:]
    await wait_for(lambda: answers)
    await asyncio.sleep(0.5)
    assert answers == [(7, 3, None)], "on_answer is called exactly once"
    record = await wait_outcome(call_runtime, caller=asterisk.hotline_number)
    assert record["direction"] == "survey" and record["case_no"] == case_no
    stored = [e["detail"] for e in record["events"] if e["kind"] == "survey_answer"]
    assert stored[0]["answer"] == "dissatisfied"


async def test_unanswered_survey_call_reports_no_answer_once(
    call_runtime: CallRuntime, asterisk: TelephonySettings
) -> None:
    call_runtime.trunk_outbound = f"127.0.0.1:{free_port()}"  # nobody listens there
    call_runtime.survey_ring_s = 5
    answers: list[tuple[int, int | None, str | None]] = []

    async def on_answer(callback_id: int, answer: int | None, recording: str | None) -> None:
        answers.append((callback_id, answer, recording))

    await call_runtime.start_survey(callback_id=8, number="13800138104", case_no="202611260002",
                                    state="closed", result_text=None, on_answer=on_answer)
    await wait_for(lambda: answers, timeout=40)
    await asyncio.sleep(0.5)
    assert answers == [(8, None, None)]


async def test_sip_message_reaches_the_citizen_with_its_body(
    call_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path
) -> None:
    port = free_port()
    uas = await start_uas(scenario.write_message_uas(tmp_path), port, tmp_path, timeout_s=20)
    body = "您反映的问题（案件202611260001）已办结，感谢您的监督。"
    await call_runtime.send_sip_message(to_endpoint_or_uri=f"sip:13800138105@127.0.0.1:{port}", body=body,
                                        sender="12319")
    _out, err = await asyncio.wait_for(uas.communicate(), 20)
    assert uas.returncode == 0, err.decode()[-1500:]
    trace = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.glob("*_messages.log"))
    assert "MESSAGE sip:13800138105@127.0.0.1" in trace
    assert body in trace
    assert "12319" in trace.split("From:", 1)[1].splitlines()[0]
