"""Working time: periods, lunch break, weekends, official holidays, 调休 make-up days, emergency limits."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ticketing.calendar_source import build_calendar, coverage_warning, holiday_name
from ticketing.domain.calendar import Limit, LimitUnit, WorkCalendar
from ticketing.settings import WorkingTimeSettings

pytestmark = pytest.mark.dates  # fixed dates are this module's inputs, not the machine's date
TZ = ZoneInfo("Asia/Shanghai")
CAL = build_calendar(WorkingTimeSettings())


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def local(value: datetime) -> datetime:
    return value.astimezone(TZ)


def test_working_hours_skip_the_lunch_break() -> None:
    assert local(CAL.deadline(at(2026, 11, 23, 11), Limit(2, LimitUnit.WORKING_HOURS))) == at(2026, 11, 23, 14, 30)


def test_working_hours_skip_the_weekend() -> None:
    friday_4pm = at(2026, 11, 27, 16)
    assert local(CAL.deadline(friday_4pm, Limit(4, LimitUnit.WORKING_HOURS))) == at(2026, 11, 30, 11, 0)


def test_start_outside_hours_counts_from_the_next_period() -> None:
    assert local(CAL.deadline(at(2026, 11, 23, 20), Limit(1, LimitUnit.WORKING_HOURS))) == at(2026, 11, 24, 9, 30)
    assert local(CAL.deadline(at(2026, 11, 23, 12, 30), Limit(1, LimitUnit.WORKING_HOURS))) == at(2026, 11, 23, 14, 30)


def test_a_working_day_is_one_days_working_time() -> None:
    assert CAL.day_minutes == 450
    assert local(CAL.deadline(at(2026, 11, 23, 9), Limit(1, LimitUnit.WORKING_DAYS))) == at(2026, 11, 24, 9)


def test_national_day_holidays_are_skipped() -> None:
    # 2026-09-30 (Wed) 16:30 + 2 working hours: Oct 1-7 are holidays; first working day is Thu Oct 8.
    assert holiday_name(date(2026, 10, 1)) == "国庆节"
    assert not CAL.is_workday(date(2026, 10, 5))
    assert local(CAL.deadline(at(2026, 9, 30, 16, 30), Limit(2, LimitUnit.WORKING_HOURS))) == at(2026, 10, 8, 9, 30)


def test_make_up_working_saturday_counts() -> None:
    saturday = date(2026, 10, 10)
    assert saturday.isoweekday() == 6 and CAL.is_workday(saturday)
    assert local(CAL.deadline(at(2026, 10, 9, 17), Limit(1, LimitUnit.WORKING_HOURS))) == at(2026, 10, 10, 9)


def test_emergency_limits_run_on_calendar_time() -> None:
    sunday_night = at(2026, 11, 29, 23)
    assert local(CAL.deadline(sunday_night, Limit(3, LimitUnit.EMERGENCY_HOURS))) == at(2026, 11, 30, 2)


def test_between_counts_only_working_time() -> None:
    assert CAL.between(at(2026, 11, 27, 17), at(2026, 11, 30, 9)) == 60
    assert CAL.between(at(2026, 11, 30, 9), at(2026, 11, 27, 17)) == -60


def test_years_beyond_the_package_fall_back_to_weekends_with_a_warning() -> None:
    start = at(2026, 12, 30, 9)
    due = CAL.deadline(start, Limit(5, LimitUnit.WORKING_DAYS))  # runs into 2027, no crash
    assert local(due) == at(2027, 1, 6, 9)  # Jan 1 2027 (Fri) counts as a working day until entered
    warning = coverage_warning(CAL, start, due)
    assert warning is not None and "2027" in warning


def test_administrator_entries_cover_a_year_and_win() -> None:
    cal = build_calendar(WorkingTimeSettings(), [(date(2027, 1, 1), "holiday"), (date(2026, 10, 10), "holiday")])
    assert not cal.is_workday(date(2027, 1, 1)) and not cal.is_workday(date(2026, 10, 10))
    assert coverage_warning(cal, at(2027, 1, 1), at(2027, 1, 8)) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add(datetime(2026, 1, 1), 10)


def test_custom_periods_and_workdays() -> None:
    cal = WorkCalendar(tz=TZ, workdays=frozenset({1, 2, 3, 4, 5, 6}))
    assert cal.is_workday(date(2026, 11, 28))
