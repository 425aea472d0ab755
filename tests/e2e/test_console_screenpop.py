"""In Chromium: a call offered to the agent's extension pops up in the console within a second, with the
caller's earlier cases (repeat caller), and the agent's state follows the agent events. The service runs
in-process so the test can publish the telephony runtime's events on the app's bus (no Asterisk here)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.screenpop import CHROMIUM, pop_once, ringing, running_console
from core.bus import BusEvent
from core.db.timeutil import from_db
from tests.dates import case_no_prefix
from tests.e2e.conftest import ARTIFACTS
from ticketing.db.tables import cases
from web.keys import BUS, CASES, ENGINE

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
async def test_ringing_call_pops_up_with_the_callers_earlier_cases(tmp_path: Path) -> None:
    async with running_console(tmp_path) as console:
        page = console.page
        # 13948876554 reported a case in the demo data: a repeat caller.
        started = time.monotonic()
        console.app[BUS].publish(ringing("e2e-call-1", "13948876554"))
        await page.wait_for_selector("#screen-pop[data-call-id='e2e-call-1']", state="visible", timeout=1000)
        assert time.monotonic() - started < 1.0
        assert await page.inner_text("#pop-number") == "13948876554"
        await page.wait_for_selector("#pop-repeat:not([hidden])", timeout=5000)
        history = await page.inner_text("#pop-history")
        async with console.app[ENGINE].connect() as conn:
            earlier = (await conn.execute(select(cases.c.case_no, cases.c.created_at)
                                          .where(cases.c.caller_phone == "13948876554"))).all()
        tz = (await console.app[CASES].calendar()).tz
        assert earlier and all(no in history for no, _ in earlier)
        # Numbers carry the local date the case was created on (the demo data is seeded on the wall clock).
        assert all(no.startswith(case_no_prefix(from_db(at), tz)) for no, at in earlier)
        assert await page.input_value("#f-phone") == "13948876554"

        # What callcenter/live_speech.py publishes: live segments per speaker, then the suggestions.
        console.app[BUS].publish(BusEvent("transcript", "segment", datetime.now(UTC), {
            "call_id": "e2e-call-1", "speaker": "caller", "seq": 0, "start": 0.4, "end": 2.9,
            "text": "海滨东路120号的路灯坏了", "is_final": True}))
        await page.wait_for_function("() => document.querySelector('#pop-live').textContent.includes('市民：海滨东路')")
        assert await page.input_value("#f-desc") == "海滨东路120号的路灯坏了"
        console.app[BUS].publish(BusEvent("transcript", "description", datetime.now(UTC), {
            "call_id": "e2e-call-1", "text": "海滨东路120号的路灯坏了",
            "suggested_class": {"code": "10118", "name": "路灯", "confidence": 0.86},
            "suggested_place": {"road": "海滨东路", "address": "海滨东路120号", "lat": 30.52, "lon": 120.94}}))
        await page.wait_for_selector("#pop-hints:not([hidden])")
        hints = await page.inner_text("#pop-hint-list")
        assert "类别：路灯" in hints and "地点：海滨东路120号" in hints
        console.app[BUS].publish(BusEvent("agent", "state_changed", datetime.now(UTC), {
            "agent_id": "8001", "old": "ringing", "new": "on_call", "reason": None, "call_id": "e2e-call-1"}))
        await page.wait_for_selector("#state-pill[data-state='on_call']")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-screen-pop.png"))

        # Another agent's call is not sent to this console.
        console.app[BUS].publish(BusEvent("call", "ringing", datetime.now(UTC), {
            "call_id": "other", "caller": "13700000000", "agent_id": "8002"}))
        painted, _ = await pop_once(console, 1)
        assert painted < 1000
        assert await page.get_attribute("#screen-pop", "data-call-id") == "bench00001"
