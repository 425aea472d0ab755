"""Inspectors' attendance as evaluation inputs (ticketing/evaluation/domain/attendance.py): time on duty clipped
to the period and at now, duty days, and the trail's length with GPS noise left out, against figures computed
by hand; the scoring of a quantity threshold (日均在岗时长 ≥ 6 小时)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketing.evaluation.domain.attendance import (
    DutyPeriod,
    Fix,
    TrailRule,
    duty_days,
    duty_seconds,
    trail_metres,
)
from ticketing.evaluation.domain.scoring import Figure, score
from ticketing.evaluation.files import load_catalog, load_profiles
from ticketing.geo.domain.geometry import offset_m

TZ = ZoneInfo("Asia/Shanghai")
ORIGIN = (120.945, 30.525)  # lon, lat in 武原街道


def at_local(clock_now: datetime, hour: int, minute: int = 0) -> datetime:
    """An instant of the local day of the tests' clock, as stored (naive UTC)."""
    local = clock_now.astimezone(TZ).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def fix(t0: datetime, seconds: float, east: float, north: float, accuracy: float | None = 5.0, duty: int = 1) -> Fix:
    lon, lat = offset_m(ORIGIN, east, north)
    return Fix(duty, t0 + timedelta(seconds=seconds), lat, lon, accuracy)


def test_duty_is_clipped_to_the_period_and_an_open_duty_at_now(clock) -> None:  # type: ignore[no-untyped-def]
    day_start = at_local(clock(), 0)
    day_end = day_start + timedelta(days=1)
    periods = [
        DutyPeriod(day_start - timedelta(hours=2), day_start + timedelta(hours=1, minutes=30)),  # across the start
        DutyPeriod(day_start + timedelta(hours=8), day_start + timedelta(hours=12)),  # 4 h inside
        DutyPeriod(day_start + timedelta(hours=14), None),  # still on duty
    ]
    now = day_start + timedelta(hours=15, minutes=15)
    # 1 h 30 + 4 h + 1 h 15 (14:00 to now) = 6 h 45
    assert duty_seconds(periods, day_start, day_end, now) == 6.75 * 3600
    # evaluated after the day: the open duty counts up to the period's end (the caller passes end as now)
    assert duty_seconds(periods, day_start, day_end, day_end) == (1.5 + 4 + 10) * 3600
    # a period that ended before the window and one that starts after it add nothing
    assert duty_seconds([DutyPeriod(day_start - timedelta(hours=3), day_start - timedelta(hours=1))],
                        day_start, day_end, now) == 0
    # the duty across midnight touches two local days
    assert duty_days(periods, day_start - timedelta(days=1), day_end, now, TZ) == 2
    assert duty_days(periods, day_start, day_end, now, TZ) == 1


def test_the_trail_leaves_out_a_jump_coarse_fixes_and_jitter(clock) -> None:  # type: ignore[no-untyped-def]
    t0 = at_local(clock(), 9)
    fixes = [
        fix(t0, 0, 0, 0),
        fix(t0, 60, 0, 50),
        fix(t0, 120, 0, 100),
        fix(t0, 180, 2000, 100),  # a jump: 2 km in a minute (120 km/h) is noise
        fix(t0, 240, 0, 150),  # 50 m in 2 min from the last kept fix: counted
        fix(t0, 300, 0, 400, accuracy=500),  # a cell-tower guess: left out
        fix(t0, 360, 3, 152),  # jitter of 3.6 m while standing: not counted
        fix(t0, 420, 0, 200),
    ]
    # 0 → 50 → 100 → 150 → 200 m north: 200 m, nothing of the 2 km jump
    assert trail_metres(fixes) == pytest.approx(200, abs=0.5)


def test_a_real_ride_restarts_the_trail_without_counting_the_ride(clock) -> None:  # type: ignore[no-untyped-def]
    t0 = at_local(clock(), 9)
    fixes = [fix(t0, 0, 0, 0), fix(t0, 60, 0, 50),
             fix(t0, 120, 3000, 50),  # a bus: too fast to be walked ...
             fix(t0, 180, 3000, 110)]  # ... but the next fix agrees with it: the trail goes on from there
    assert trail_metres(fixes) == pytest.approx(50 + 60, abs=0.5)


def test_the_trail_never_bridges_two_duty_periods(clock) -> None:  # type: ignore[no-untyped-def]
    t0 = at_local(clock(), 9)
    fixes = [fix(t0, 0, 0, 0, duty=1), fix(t0, 60, 0, 40, duty=1),
             fix(t0, 3600, 0, 1040, duty=2), fix(t0, 3660, 0, 1070, duty=2)]
    assert trail_metres(fixes) == pytest.approx(40 + 30, abs=0.5)


def test_the_rule_reads_the_catalog_parameters() -> None:
    rule = TrailRule.of(dict(load_catalog().parameters))
    assert (rule.max_speed_kmh, rule.max_accuracy_m, rule.min_step_m) == (30, 100, 10)


def test_a_threshold_on_daily_hours_on_duty_in_hours() -> None:
    catalog = load_catalog()
    profile = load_profiles(catalog).get("inspector")
    assert profile is not None
    daily = catalog.indicators["daily_duty_hours"]
    per_hour = catalog.indicators["reports_per_duty_hour"]
    figures = {
        "valid_report_rate": Figure("valid_report_rate", "有效上报率", 3, 4),
        "verification_on_time_rate": Figure("verification_on_time_rate", "按期核实率", 1, 1),
        "check_on_time_rate": Figure("check_on_time_rate", "按期核查率", 0, 0),
        # 9 h 30 on duty over two days: 4.75 h a day, 1.25 h short of 6 h → 15 − 3 × 1.25 = 11.25
        "daily_duty_hours": Figure(daily.id, daily.name, 570, 2, daily.scale, daily.unit),
        # 4 reports in 570 min = 0.42 per hour, 0.0789 short of 0.5 → 15 − 30 × 0.0789… = 12.63
        "reports_per_duty_hour": Figure(per_hour.id, per_hour.name, 4, 570, per_hour.scale, per_hour.unit),
    }
    result = score(profile, "inspector01", figures)
    parts = {p.indicator: p for p in result.parts}
    assert parts["daily_duty_hours"].points == 11.25
    assert "4.75 小时 低于 6 小时 1.25 小时" in parts["daily_duty_hours"].formula
    assert parts["reports_per_duty_hour"].points == round(15 - 30 * (0.5 - 4 * 60 / 570), 2)
    assert result.points == round(22.5 + 20 + 20 + 11.25 + parts["reports_per_duty_hour"].points, 2)
