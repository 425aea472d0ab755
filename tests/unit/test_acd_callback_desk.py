"""start_callback's bookkeeping on a call context with stub call records: the callback is put back at its
original place, armed once, and a malformed number is refused before anything changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from callcenter.acd_runtime import AcdRuntime
from callcenter.callback_desk import CallbackDesk
from callcenter.context import CallContext, CallOptions, CallRows, Routes
from callcenter.legs import TelephonyError
from callcenter.settings import TelephonySettings
from core.bus import EventBus
from ivr.flow_spec import InboundFlow, SurveyFlow

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class StubRecords:
    async def get(self, call_id: str) -> dict[str, Any] | None:
        return {"arrived_at": T0.replace(tzinfo=None)} if call_id == "old" else None


class Stub:
    """A call context whose only outside parts are the stub records (no ARI: nothing is dialled here)."""

    def __init__(self) -> None:
        self.acd = AcdRuntime(("8001",), ring_timeout_s=5, wrap_up_s=1, clock=self.now)
        rows = CallRows(StubRecords(), EventBus(), self.now)  # type: ignore[arg-type]
        options = CallOptions("127.0.0.1:5070", 20.0, 30, InboundFlow(), SurveyFlow())
        self.ctx = CallContext(None, rows, self.acd, self.now, TelephonySettings(), Routes(),  # type: ignore[arg-type]
                               options)

    def now(self) -> datetime:
        return T0 + timedelta(minutes=30)


async def no_answer(callback_id: int, answer: int | None, recording: str | None) -> None:
    raise AssertionError("nothing is dialled here")


async def test_after_a_restart_the_callback_goes_back_to_its_original_place() -> None:
    rt = Stub()
    desk = CallbackDesk(rt.ctx)
    rt.acd.enqueue("later", "13800000002", arrived_at=T0 + timedelta(minutes=10))
    await desk.start(callback_id=4, number="13800000001", call_id="old", on_answer=no_answer)
    assert [(c.call_id, c.callback_id) for c in rt.acd.queue.calls] == [("old", 4), ("later", None)]
    assert rt.acd.queue.get("old").arrived_at == T0
    await desk.start(callback_id=4, number="13800000001", call_id="old", on_answer=no_answer)  # a retry
    assert len(rt.acd.queue.calls) == 2


async def test_a_callback_without_a_call_record_waits_from_now() -> None:
    rt = Stub()
    desk = CallbackDesk(rt.ctx)
    await desk.start(callback_id=5, number="13800000003", call_id=None, on_answer=no_answer)
    [entry] = rt.acd.queue.calls
    assert (entry.call_id, entry.arrived_at, entry.callback) == ("callback-5", rt.now(), True)


async def test_a_malformed_number_is_refused_and_nothing_is_queued() -> None:
    rt = Stub()
    desk = CallbackDesk(rt.ctx)
    with pytest.raises(TelephonyError):
        await desk.start(callback_id=6, number="anonymous", call_id="old", on_answer=no_answer)
    assert rt.acd.queue.calls == () and desk.armed == {}
