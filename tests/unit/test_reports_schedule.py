"""The monthly 通报's rule and timer: first working day of the month (holidays and 调休 from the calendar),
last month due from then on, and the APScheduler job calling the publisher's idempotent sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ticketing.domain.calendar import WorkCalendar
from ticketing.evaluation.domain.periods import period
from web.reports.archive import due_month, first_working_day, issued_at
from web.reports.schedule import running_bulletins

TZ = ZoneInfo("Asia/Shanghai")
# Calendar facts as inputs: 2026-10-01..07 国庆节 holidays, 2026-10-10 a 调休 working Saturday; 2026-11-01 is a
# Sunday.
CAL = WorkCalendar(
    TZ,
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    makeup_workdays=frozenset({date(2026, 10, 10)}),
    covered_years=frozenset({2026}),
)


def local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), TZ).astimezone(UTC)


def test_the_first_working_day_skips_weekends_and_holidays() -> None:
    assert first_working_day(CAL, 2026, 10) == date(2026, 10, 8)  # after 国庆节
    assert first_working_day(CAL, 2026, 11) == date(2026, 11, 2)  # 1 November is a Sunday
    assert first_working_day(CAL, 2026, 12) == date(2026, 12, 1)


def test_last_month_is_due_from_the_first_working_day_on() -> None:
    assert due_month(CAL, local(date(2026, 10, 7), 23)) is None
    assert due_month(CAL, local(date(2026, 10, 8))) == period("month", date(2026, 9, 1))
    assert due_month(CAL, local(date(2026, 10, 31), 23)) == period("month", date(2026, 9, 1))  # caught up later
    assert issued_at(CAL, period("month", date(2026, 9, 1))) == local(date(2026, 10, 8))
    assert issued_at(CAL, period("month", date(2026, 10, 1))) == local(date(2026, 11, 2))


class FakePublisher:
    def __init__(self) -> None:
        self.calls: list[datetime] = []
        self.called = asyncio.Event()

    async def sweep(self, now: datetime) -> dict[str, Any] | None:
        self.calls.append(now)
        self.called.set()
        return None


@pytest.mark.timeout(20)
async def test_the_timer_runs_the_sweep_with_the_app_clock() -> None:
    publisher = FakePublisher()
    now = local(date(2026, 10, 8), 9)
    async with running_bulletins(publisher, lambda: now, delay_s=0):  # type: ignore[arg-type]
        await asyncio.wait_for(publisher.called.wait(), 10)
    assert publisher.calls == [now]
