"""The loop against the real Asterisk: a closed case's 回访 reaches a SIPp citizen who presses 3 → the case is
reopened (重办) and back in the department's list; a citizen SMS over SIP MESSAGE arrives at SIPp."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.runtime import CallRuntime
from tests.sip import scenario
from tests.sip.peers import free_port, start_uas
from ticketing.notify.fakes import department, drive, new_case, to_closed
from ticketing.notify.outbox import OutboxMessage, enqueue
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks, outbox
from ticketing.queries import CaseFilter, ViewContext, list_cases

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
ALWAYS = ("00:00", "23:59")


def loop_service(rt: CallRuntime, **cfg: object) -> NotifyService:
    cases = rt.test_cases  # type: ignore[attr-defined]
    settings = NotifySettings(scheduler_enabled=False, callback_delay_min=0, callback_window=ALWAYS, **cfg)
    return NotifyService(cases.engine, cases, settings, runtime=lambda: rt)


async def test_callback_reaches_the_citizen_and_dtmf_3_reopens_the_case(
        case_runtime: CallRuntime, tmp_path: Path) -> None:
    port = free_port()
    case_runtime.trunk_outbound = f"127.0.0.1:{port}"
    uas = await start_uas(scenario.write_uas(tmp_path, "survey.xml", [
        ("pause", 3000), ("dtmf", "3"), ("pause", 9000), ("dtmf", "#")]), port, tmp_path, timeout_s=90)
    service = loop_service(case_runtime)
    cases = service.cases
    case_no = await new_case(cases, phone="13800138201")
    await drive(cases, case_no, to_closed())
    now = datetime.now(UTC)
    await service.on_case_event("CaseClosed", {"case_no": case_no}, now, now)
    try:
        assert await service.run_due_callbacks(datetime.now(UTC)) == 1
        async with cases.engine.connect() as conn:  # started, not failed at once
            row = (await conn.execute(select(callbacks))).mappings().one()
        assert (row["state"], row["attempts"]) == ("calling", 1), row["last_error"]
        _out, err = await asyncio.wait_for(uas.communicate(), 100)
        assert uas.returncode == 0, err.decode()[-1500:]
        await wait_for_state(service, "answered")
    finally:
        await service.close()
    ctx = ViewContext(await cases.reference(), await cases.calendar(), datetime.now(UTC))
    async with cases.engine.connect() as conn:
        listed = await list_cases(conn, CaseFilter(), department("zfj"), ctx)
        answer = (await conn.execute(select(callbacks.c.answer))).scalar_one()
    assert answer == 3
    assert next(i for i in listed["items"] if i["case_no"] == case_no)["state"] == "dispatched"


async def wait_for_state(service: NotifyService, state: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.2)):
        async with service.engine.connect() as conn:
            if (await conn.execute(select(callbacks.c.state))).scalar_one() == state:
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"callback never reached {state}")


async def test_citizen_sms_over_sip_message_arrives_with_its_text(case_runtime: CallRuntime,
                                                                 tmp_path: Path) -> None:
    port = free_port()
    uas = await start_uas(scenario.write_message_uas(tmp_path), port, tmp_path, timeout_s=20)
    service = loop_service(case_runtime, sms_channel="sip", sip_to_template=f"sip:{{number}}@127.0.0.1:{port}")
    body = "【海盐县12319】您反映的问题（案件编号202611260001）已办结。"
    now = datetime.now(UTC)
    try:
        await enqueue(service.engine, OutboxMessage("it:1", None, "closed", "sms", "citizen", "13800138202", body,
                                                    now))
        assert (await service.deliver_outbox(now)).sent == 1
    finally:
        await service.close()
    _out, err = await asyncio.wait_for(uas.communicate(), 20)
    assert uas.returncode == 0, err.decode()[-1500:]
    trace = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.glob("*_messages.log"))
    assert "MESSAGE sip:13800138202@127.0.0.1" in trace and body in trace
    async with service.engine.connect() as conn:
        assert (await conn.execute(select(outbox.c.provider))).scalar_one() == "sip"
