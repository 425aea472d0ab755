"""Wallboard figures: today's calls from call records (pure), the queue snapshot, and the page's access."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import insert

from callcenter.tables import calls
from core.db.timeutil import to_db
from tests.api_plugin import Api
from tests.dates import next_local
from web.keys import CASES, ENGINE
from web.pages.wallboard import call_figures, queue_figures

pytestmark = pytest.mark.dates
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # an input of the pure figures, not the machine's date


def _call(queued_s: float | None, answered_after_s: float | None, outcome: str | None) -> dict[str, object]:
    enqueued = T0 + timedelta(seconds=queued_s) if queued_s is not None else None
    answered = (enqueued or T0) + timedelta(seconds=answered_after_s) if answered_after_s is not None else None
    return {"arrived_at": T0, "enqueued_at": enqueued, "answered_at": answered, "outcome": outcome}


def test_service_level_counts_answers_within_15_s_of_entering_the_queue() -> None:
    rows = [_call(20, 5, "answered"), _call(20, 15, "answered"), _call(20, 16, "answered"),
            _call(20, None, "abandoned"), _call(None, None, "abandoned"), _call(None, None, "query")]
    figures = call_figures(rows)
    # The IVR time (20 s) does not count; a caller who hung up in the IVR did not abandon the queue.
    assert figures == {"total": 6, "answered": 3, "answered_within_target": 2, "target_s": 15,
                       "offered": 4, "abandoned": 1, "service_level": 50}
    assert call_figures([])["service_level"] is None


def test_a_caller_who_left_the_queue_for_a_callback_was_offered_and_not_answered() -> None:
    figures = call_figures([_call(0, 5, "answered"), _call(0, None, "callback"), _call(0, None, None)])
    # acd/stats.py: a callback is offered (not abandoned), a call still waiting is left out of the ratio.
    assert (figures["offered"], figures["abandoned"], figures["service_level"]) == (2, 0, 50)


def test_queue_figures_give_the_longest_wait() -> None:
    snapshot = {"waiting": [{"call_id": "a", "caller": "1", "arrived_at": (T0 - timedelta(seconds=42)).isoformat(),
                             "callback": False, "position": 1}],
                "agents": [{"agent_id": "8001", "state": "ready", "reason": None, "call_id": None}], "ready": 1}
    figures = queue_figures(snapshot, T0)
    assert figures["enabled"] and figures["waiting"] == 1 and figures["longest_wait_s"] == 42
    assert queue_figures(None, T0) == {"enabled": False, "waiting": 0, "longest_wait_s": 0, "calls": [],
                                       "agents": [], "ready": 0}


async def test_wallboard_page_is_for_leads_dispatchers_and_admins(api: Api) -> None:
    for user, status in (("lead01", 200), ("dispatcher01", 200), ("admin", 200), ("agent01", 403),
                         ("dept-szs", 403)):
        got, _ = await api.call("GET", "/api/v1/wallboard/summary", user=user)
        assert got == status, user


async def test_today_is_the_local_day_of_the_app_clock(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    tz = (await api.client.app[CASES].calendar()).tz
    midnight = next_local(clock() + timedelta(microseconds=1), time(0), tz)  # the next local midnight
    await api.create(accept=True)
    clock.now = midnight - timedelta(seconds=1)
    async with api.client.app[ENGINE].begin() as conn:
        await conn.execute(insert(calls).values(id="late", arrived_at=to_db(clock()), outcome="query"))
    _, data = await api.call("GET", "/api/v1/wallboard/summary", user="lead01")
    assert (data["cases_today_total"], data["calls"]["total"]) == (1, 1)
    clock.now = midnight
    await api.create()
    _, data = await api.call("GET", "/api/v1/wallboard/summary", user="lead01")
    assert (data["cases_today_total"], data["calls"]["total"]) == (1, 0)  # yesterday's case and call are gone
    assert {s["state"]: s["count"] for s in data["cases_today"]}["reported"] == 1
    assert sum(s["count"] for s in data["open"]) == 2  # open cases are counted whatever their day
    # Without telephony the trunk is not watched: the wallboard says so instead of showing a state.
    assert data["trunk"]["monitored"] is False and data["trunk"]["label"] == "未监测"
