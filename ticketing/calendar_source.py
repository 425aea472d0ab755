"""Builds the WorkCalendar from settings, the `chinese-calendar` package and administrators' entries.

The package carries the State Council's holidays and make-up working days up to its last year (2026 for
1.11.0) and raises NotImplementedError beyond. For later years administrators enter the official days
(`calendar_days` table); a year with neither gets the weekday rule only, and `coverage_warning` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from chinese_calendar import constants as official

from ticketing.domain.calendar import WorkCalendar
from ticketing.settings import WorkingTimeSettings

HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def official_years() -> frozenset[int]:
    return frozenset(d.year for d in official.holidays)


def holiday_name(day: date) -> str | None:
    name = official.holidays.get(day) or official.workdays.get(day)
    return HOLIDAY_NAMES.get(name, name) if name else None


def build_calendar(settings: WorkingTimeSettings, entries: Iterable[tuple[date, str]] = ()) -> WorkCalendar:
    """A calendar from settings, official data (if enabled) and admin entries (kind holiday|workday)."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    covered: set[int] = set()
    if settings.use_official_holidays:
        holidays.update(official.holidays)
        workdays.update(official.workdays)
        covered.update(official_years())
    for day, kind in entries:
        # An administrator's entry wins over the package for the same day.
        (holidays if kind == "holiday" else workdays).add(day)
        (workdays if kind == "holiday" else holidays).discard(day)
        covered.add(day.year)
    return WorkCalendar(
        tz=ZoneInfo(settings.timezone),
        periods=tuple((_parse(a), _parse(b)) for a, b in settings.periods),
        workdays=frozenset(settings.workdays),
        holidays=frozenset(holidays),
        makeup_workdays=frozenset(workdays),
        covered_years=frozenset(covered),
    )


def coverage_warning(calendar: WorkCalendar, start: datetime, end: datetime) -> str | None:
    """A visible warning when a deadline runs through a year without official holiday data."""
    missing = calendar.uncovered_years(start, end)
    if not missing:
        return None
    years = "、".join(str(y) for y in missing)
    return f"{years}年的法定节假日尚未录入，期限暂按周末休息计算；请管理员在“工作日历”中录入。"


def _parse(hhmm: str) -> time:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return time(0, 0) if hours == 24 else time(hours, minutes)
