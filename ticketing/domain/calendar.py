"""Working time: the pure clock that 工作时/工作日 limits run on.

A `WorkCalendar` knows the daily working periods (default 08:30-12:00 and 13:30-17:30), which weekdays are
working days, and the official exceptions: public holidays (法定节假日) and make-up working days (调休上班).
It reads no clock and no files; the adapter in `ticketing/calendar_source.py` builds it from the
`chinese-calendar` package plus the holidays administrators entered.

Definitions (documented in docs/workflow.md):
- N 工作时 = N hours of working time; the clock stops outside the periods, on rest days and holidays.
- N 工作日 = N times the length of one working day (7.5 h with the default periods) of working time.
- 紧急工作时 and 自然小时 run on calendar time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

_MAX_DAYS_SCANNED = 3660  # ten years: a limit that cannot be met within this is a configuration error


class LimitUnit(StrEnum):
    WORKING_HOURS = "working_hours"  # 工作时
    WORKING_DAYS = "working_days"  # 工作日
    EMERGENCY_HOURS = "emergency_hours"  # 紧急工作时 (calendar time)
    CALENDAR_HOURS = "calendar_hours"  # 自然小时

    @property
    def label(self) -> str:
        return {"working_hours": "工作时", "working_days": "工作日", "emergency_hours": "紧急工作时",
                "calendar_hours": "小时"}[self.value]

    @property
    def on_working_time(self) -> bool:
        return self in (LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS)


@dataclass(frozen=True, slots=True)
class Limit:
    """A time limit as the rules state it, e.g. Limit(4, WORKING_HOURS)."""

    value: float
    unit: LimitUnit

    def __post_init__(self) -> None:
        if not self.value > 0:
            raise ValueError("a limit must be positive")

    def describe(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{number}{self.unit.label}"


@dataclass(frozen=True)
class WorkCalendar:
    """Working periods, working weekdays and official exceptions in one time zone.

    `covered_years` are the years whose official calendar is known (from the package or entered by an
    administrator); for other years only the weekday rule applies and `uncovered_years` reports them.
    """

    tz: ZoneInfo
    periods: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    covered_years: frozenset[int] = frozenset()
    _day_minutes: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        total = sum(_minutes_between(a, b) for a, b in self.periods)
        object.__setattr__(self, "_day_minutes", float(total))

    @property
    def day_minutes(self) -> float:
        """Minutes of working time in one full working day."""
        return self._day_minutes

    def is_workday(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.isoweekday() in self.workdays

    def uncovered_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between start and end for which no official holiday calendar is known."""
        first, last = sorted((self._local(start).year, self._local(end).year))
        return [y for y in range(first, last + 1) if y not in self.covered_years]

    def limit_minutes(self, limit: Limit) -> float:
        """The limit in minutes of its own kind of time (working or calendar)."""
        if limit.unit is LimitUnit.WORKING_DAYS:
            return limit.value * self.day_minutes
        return limit.value * 60.0

    def add(self, start: datetime, minutes: float, *, working: bool = True) -> datetime:
        """The instant `minutes` of working (or calendar) time after `start`. Aware in, aware out (UTC)."""
        _require_aware(start)
        if not working:
            return start + timedelta(minutes=minutes)
        if minutes <= 0:
            return start
        remaining = minutes
        for period_start, period_end in self._periods_from(start):
            available = (period_end - period_start).total_seconds() / 60.0
            if remaining <= available:
                return (period_start + timedelta(minutes=remaining)).astimezone(ZoneInfo("UTC"))
            remaining -= available
        raise ValueError("limit too long for the working calendar")

    def between(self, start: datetime, end: datetime, *, working: bool = True) -> float:
        """Minutes of working (or calendar) time from start to end; negative if end is before start."""
        _require_aware(start)
        _require_aware(end)
        if not working:
            return (end - start).total_seconds() / 60.0
        if end < start:
            return -self.between(end, start)
        total = 0.0
        for period_start, period_end in self._periods_from(start):
            if period_start >= end:
                break
            total += (min(period_end, end) - period_start).total_seconds() / 60.0
        return total

    def deadline(self, start: datetime, limit: Limit, fraction: float = 1.0) -> datetime:
        """When `fraction` of `limit` counted from `start` is used up."""
        return self.add(start, self.limit_minutes(limit) * fraction, working=limit.unit.on_working_time)

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def _periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods (aware, local) from `start` on, the first one clipped to start."""
        local = self._local(start)
        day = local.date()
        for _ in range(_MAX_DAYS_SCANNED):
            if self.is_workday(day):
                for a, b in self.periods:
                    begin = datetime.combine(day, a, self.tz)
                    finish = _end_of(day, b, self.tz)
                    if finish <= local:
                        continue
                    yield max(begin, local), finish
            day += timedelta(days=1)


def _end_of(day: date, end: time, tz: ZoneInfo) -> datetime:
    # 24:00 is stored as time(0, 0) of the next day by the settings parser.
    if end == time(0, 0):
        return datetime.combine(day + timedelta(days=1), time(0, 0), tz)
    return datetime.combine(day, end, tz)


def _minutes_between(a: time, b: time) -> int:
    end = 24 * 60 if b == time(0, 0) else b.hour * 60 + b.minute
    return end - (a.hour * 60 + a.minute)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None:
        raise ValueError("datetimes given to the working calendar must carry a time zone")
