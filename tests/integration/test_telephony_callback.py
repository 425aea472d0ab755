"""A callback that keeps its place, against the real Asterisk: no agent ready → a SIPp caller presses 0, then
1 for a callback, and hangs up → the bus request becomes a callbacks row → an agent (baresip) becomes ready →
the agent's phone rings, then the citizen (SIPp behind the trunk) answers → bridged → the row is answered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.acd import LogIn, SetReady
from callcenter.call import Call
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, free_port, make_tone, run_sipp, start_uas, wait_for
from ticketing.notify import call_requests
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
CALLER = "13800138401"


def notify(rt: CallRuntime) -> NotifyService:
    cases = rt.test_cases  # type: ignore[attr-defined]
    cfg = NotifySettings(scheduler_enabled=False, callback_window=("00:00", "23:59"))
    return NotifyService(cases.engine, cases, cfg, runtime=lambda: rt)


async def caller_asks_for_a_callback(rt: CallRuntime, tel: TelephonySettings, tmp_path: Path) -> None:
    queue = rt.flow.queue.model_copy(update={"offer_after_s": 5})
    rt.flow = rt.flow.model_copy(update={"queue": queue})
    path = scenario.write(tmp_path, "caller.xml", [("pause", 1500), ("dtmf", "0"), ("pause", 10000),
                                                   ("dtmf", "1"), ("await_bye",)])
    result = await run_sipp(tel, path, service=tel.hotline_number, workdir=tmp_path, keys={"caller": CALLER},
                            timeout_s=40)
    assert result.returncode == 0, result.stderr[-2000:]


async def record_requests(service: NotifyService, events: asyncio.Queue[object]) -> int:
    """What the notify subscriber does with the runtime's bus events (ticketing/notify/scheduler.py)."""
    stored = 0
    while not events.empty():
        event = events.get_nowait()
        if call_requests.is_call_request(event):  # type: ignore[arg-type]
            stored += await call_requests.handle(service, event, datetime.now(UTC))  # type: ignore[arg-type]
    return stored


def bridged_callback(rt: CallRuntime) -> Call | None:
    return next((c for c in rt.calls.values() if c.direction == "outbound" and c.bridge_id and c.answered_at),
                None)


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
async def test_callback_keeps_its_place_and_bridges_the_agent_with_the_citizen(
        case_runtime: CallRuntime, asterisk: TelephonySettings, tmp_path: Path) -> None:
    rt, service = case_runtime, notify(case_runtime)
    async with rt.bus.subscribe() as events:
        await caller_asks_for_a_callback(rt, asterisk, tmp_path)
        await wait_for(lambda: not any(c.caller == CALLER for c in rt.calls.values()))
        assert await record_requests(service, events) == 1
    [waiting] = rt.acd.queue.calls
    assert (waiting.caller, waiting.callback, waiting.callback_id) == (CALLER, True, None)
    port = free_port()
    rt.trunk_outbound = f"127.0.0.1:{port}"
    uas = await start_uas(scenario.write_uas(tmp_path, "citizen.xml", []), port, tmp_path, timeout_s=40)
    agent = BaresipAgent(asterisk, "8001", tmp_path / "a8001", make_tone(tmp_path))
    try:
        assert await service.run_due_callbacks(datetime.now(UTC)) == 1
        assert rt.acd.queue.calls[0].callback_id is not None  # armed, waiting for an agent
        await agent_online(rt, agent, "8001")
        rt.acd.command("8001", LogIn())
        rt.acd.command("8001", SetReady())
        call = await wait_for(lambda: bridged_callback(rt), timeout=25)
        await wait_for(lambda: row_state(service, "answered"))
        await rt.client.hangup(call.channel_id)  # the agent hangs up; the citizen gets a BYE
        _out, err = await asyncio.wait_for(uas.communicate(), 20)
    finally:
        await agent.stop()
        await service.close()
    assert uas.returncode == 0, err.decode()[-1500:]
    assert rt.acd.queue.calls == ()
    assert rt.records is not None
    outbound = await rt.records.get(call.id)
    assert outbound is not None and (outbound["called"], outbound["agent_id"]) == (CALLER, "8001")
    started = next(e for e in outbound["events"] if e["kind"] == "callback_started")
    original = await rt.records.get(started["detail"]["original_call_id"])
    assert original is not None and original["caller"] == CALLER and original["outcome"] == "callback"
    assert [e["detail"]["callback_call_id"] for e in original["events"] if e["kind"] == "callback_dialled"] == [
        call.id]


async def row_state(service: NotifyService, state: str) -> bool:
    async with service.engine.connect() as conn:
        return (await conn.execute(select(callbacks.c.state))).scalar_one() == state
