"""Citizens' texts by SIP MESSAGE through the real Asterisk: the trunk's MESSAGE reaches our ARI application
(TextMessageReceived), a 不满意 answer rates the case and reopens it, `查询` is answered by SIP MESSAGE."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.runtime import TEXT_SOURCE, CallRuntime
from tests.sip import scenario
from tests.sip.peers import free_port, run_sipp, start_uas, wait_for
from ticketing.db.tables import cases
from ticketing.notify.fakes import drive, new_case, to_closed
from ticketing.notify.inbound_sms import sip_text_inbox
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import sms_inbound

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]
PHONE = "13800138203"
TEXT = Path(__file__).resolve().parents[1] / "sip" / "citizen_text.xml"


async def texted(rt: CallRuntime, tmp: Path, body: str) -> None:
    result = await run_sipp(rt.tel, TEXT, service=PHONE, workdir=tmp, keys={"text": body}, timeout_s=20)
    assert result.returncode == 0, result.stderr[-1500:]


async def test_a_texted_answer_rates_and_reopens_and_a_query_is_answered(
    case_runtime: CallRuntime, tmp_path: Path
) -> None:
    port = free_port()
    cases_service = case_runtime.test_cases  # type: ignore[attr-defined]
    service = NotifyService(
        cases_service.engine,
        cases_service,
        NotifySettings(scheduler_enabled=False, sms_channel="sip", sip_to_template=f"sip:{{number}}@127.0.0.1:{port}"),
        runtime=lambda: case_runtime,
    )
    case_runtime.text_inbox = sip_text_inbox(service, lambda: datetime.now(UTC))
    await wait_for(lambda: TEXT_SOURCE in case_runtime.client._subscriptions)
    try:
        case_no = await new_case(cases_service, phone=PHONE)
        await drive(cases_service, case_no, to_closed())
        await texted(case_runtime, tmp_path, "3 路灯晚上还是不亮")

        async def reopened() -> bool:
            async with service.engine.connect() as conn:
                row = (
                    await conn.execute(select(cases.c.state, cases.c.satisfaction).where(cases.c.case_no == case_no))
                ).first()
            return row is not None and tuple(row) == ("dispatched", 3)

        await wait_for(reopened, timeout=20)
        uas = await start_uas(scenario.write_message_uas(tmp_path), port, tmp_path, timeout_s=30)
        await texted(case_runtime, tmp_path, f"查询 {case_no}")

        async def logged() -> bool:
            async with service.engine.connect() as conn:
                return len((await conn.execute(select(sms_inbound.c.kind))).all()) == 2

        await wait_for(logged, timeout=20)
        assert (await service.deliver_outbox(datetime.now(UTC))).sent == 1
        _out, err = await asyncio.wait_for(uas.communicate(), 30)
        assert uas.returncode == 0, err.decode()[-1500:]
        trace = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.glob("*_messages.log"))
        assert f"MESSAGE sip:{PHONE}@127.0.0.1" in trace and case_no in trace
        async with service.engine.connect() as conn:
            kinds = sorted((await conn.execute(select(sms_inbound.c.kind, sms_inbound.c.channel))).all())
        assert kinds == [("query", "sip"), ("rating", "sip")]
    finally:
        case_runtime.text_inbox = None
        await service.close()
