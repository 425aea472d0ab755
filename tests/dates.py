"""Date-dependent expectations, computed from the clock a test controls and the app's own calendar and policy.

The shared `clock` fixture may start at any instant (HOTLINE_TEST_NOW): on a holiday, a 调休 Saturday, a minute
before local midnight. Tests never write down the date or the time a deadline falls on; they ask these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ticketing.domain.caseno import day_key
from ticketing.domain.model import Stage
from ticketing.notify.domain.window import next_in_window
from ticketing.notify.service import NotifyService
from ticketing.services import CaseService

# Test tokens outlive the furthest a test moves the clock: a deadline across 春节 is some ten days away.
TOKEN_DAYS = 30


@dataclass(frozen=True)
class Marks:
    """Where a stage clock started at `start` turns yellow and falls due (aware, UTC)."""

    yellow: datetime
    due: datetime


async def marks(cases: CaseService, start: datetime, category: str, stage: Stage = Stage.HANDLING) -> Marks:
    """The marks the workflow stamps on `stage` of a `category` case when the stage opens at `start`."""
    reference, calendar = await cases.reference(), await cases.calendar()
    policy = cases.policy(reference, calendar, reference.categories[category])
    limit = policy.handling_limit if stage is Stage.HANDLING else policy.stage_limits[stage]
    return Marks(calendar.deadline(start, limit, policy.yellow_fraction), calendar.deadline(start, limit))


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def case_no_prefix(instant: datetime, tz: ZoneInfo) -> str:
    """The date part of the number a case created at `instant` gets (the local date)."""
    return day_key(local_day(instant, tz))


def next_local(after: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after `after` whose local time of day is `at`."""
    local = after.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tz)
    return candidate.astimezone(after.tzinfo)


def callable_at(service: NotifyService, at: datetime) -> datetime:
    """`at`, or the next opening of the service's calling window (its window, its time zone)."""
    return next_in_window(at, service.window, service.tz)


def naive_utc(instant: datetime) -> datetime:
    """As the database hands instants back (naive UTC)."""
    return instant.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


async def working_morning(cases: CaseService, clock: Any, *, days_left: int, following_workdays: int = 0) -> datetime:
    """Move `clock` to 09:00 local of the first working day at or after it (by the app's calendar) whose next
    `following_workdays` days are working days too and whose month has more than `days_left` days left after
    it; return that instant. For scenarios that need a plain working stretch inside one month."""
    calendar = await cases.calendar()
    tz = ZoneInfo(cases.settings.working_time.timezone)
    day = local_day(clock.now, tz)
    if datetime.combine(day, time(9), tz) < clock.now:
        day += timedelta(days=1)
    while True:
        start = datetime.combine(day, time(9), tz)
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        if (all(calendar.is_workday(day + timedelta(days=i)) for i in range(following_workdays + 1))
                and (next_month - day).days > days_left):
            clock.now = start.astimezone(clock.now.tzinfo)
            return clock.now
        day += timedelta(days=1)
