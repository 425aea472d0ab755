"""Attendance of inspectors as inputs of the post evaluation: time on duty (在岗时长) and the patrol trail's
length (巡查里程), pure functions over the duty records and the positions the phone sent (no I/O, no clock).

Time on duty: each 上岗–下岗 period clipped to the evaluated window [start, end); a period still open counts up
to `now` (the instant of evaluation, never beyond the window's end).

Patrol distance, the rule (docs/evaluation.md has it in words for the lead):
1. The trail is measured within each duty period only (a walk home after 下岗 or a gap between two periods
   is not patrol), over the positions stored in the window.
2. A fix less accurate than `max_accuracy_m` (default 100 m: a cell-tower or Wi-Fi guess) is left out.
3. A step from the last kept fix (the anchor) shorter than `min_step_m` (default 10 m) does not move it:
   standing still with a few metres of jitter adds nothing.
4. A jump: a step faster than `max_speed_kmh` (default 30 km/h, faster than anyone patrols on foot or by
   bicycle) is GPS noise. The fix is set aside and the anchor stays; the next plausible step from the anchor
   is measured as usual. If the next fix agrees with the set-aside one (plausible from it, not from the
   anchor), the inspector did move (a bus ride): the trail restarts at the set-aside fix, the ride itself
   is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ticketing.geo.domain.geometry import distance_m


@dataclass(frozen=True, slots=True)
class DutyPeriod:
    started_at: datetime
    ended_at: datetime | None  # None while on duty


@dataclass(frozen=True, slots=True)
class Fix:
    duty_id: int
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class TrailRule:
    max_speed_kmh: float = 30.0
    max_accuracy_m: float = 100.0
    min_step_m: float = 10.0

    @classmethod
    def of(cls, parameters: dict[str, float] | None) -> TrailRule:
        """The rule with the catalog's parameters (trail_max_speed_kmh, trail_max_accuracy_m, trail_min_step_m)."""
        p = parameters or {}
        d = cls()
        return cls(float(p.get("trail_max_speed_kmh", d.max_speed_kmh)),
                   float(p.get("trail_max_accuracy_m", d.max_accuracy_m)),
                   float(p.get("trail_min_step_m", d.min_step_m)))

    def plausible(self, a: Fix, b: Fix) -> bool:
        """Whether b can follow a: no faster than the maximum speed (a step within min_step_m always can)."""
        seconds = max(0.0, (b.at - a.at).total_seconds())
        return _metres(a, b) <= max(self.min_step_m, self.max_speed_kmh / 3.6 * seconds)


@dataclass(frozen=True, slots=True)
class Attendance:
    """One inspector's attendance in a window."""

    duty_seconds: float
    trail_m: float
    duty_days: int = 0  # local days with some time on duty in the window

    @property
    def duty_minutes(self) -> int:
        return round(self.duty_seconds / 60)

    @property
    def trail_whole_m(self) -> int:
        return round(self.trail_m)


def _metres(a: Fix, b: Fix) -> float:
    return distance_m((a.lon, a.lat), (b.lon, b.lat))


def duty_seconds(periods: Iterable[DutyPeriod], start: datetime, end: datetime, now: datetime) -> float:
    """Seconds on duty inside [start, end): every period clipped to it, an open period clipped at now."""
    hi_window = min(end, now)
    total = 0.0
    for p in periods:
        lo = max(p.started_at, start)
        hi = min(p.ended_at or now, hi_window)
        total += max(0.0, (hi - lo).total_seconds())
    return total


def duty_days(periods: Iterable[DutyPeriod], start: datetime, end: datetime, now: datetime, tz: ZoneInfo) -> int:
    """How many local days of [start, end) hold some time on duty (the divisor of 日均在岗时长). Naive times
    are UTC (as stored)."""
    hi_window = min(end, now)
    days: set[date] = set()
    for p in periods:
        lo, hi = max(p.started_at, start), min(p.ended_at or now, hi_window)
        if hi <= lo:
            continue
        day, last = _local(lo, tz).date(), _local(hi - timedelta(microseconds=1), tz).date()
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return len(days)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz)


def trail_metres(fixes: Sequence[Fix], rule: TrailRule = TrailRule()) -> float:
    """The length of the trail by the rule of this module (fixes in any order; grouped by duty period)."""
    total = 0.0
    by_duty: dict[int, list[Fix]] = {}
    for fix in fixes:
        by_duty.setdefault(fix.duty_id, []).append(fix)
    for group in by_duty.values():
        total += _one_period(sorted(group, key=lambda f: f.at), rule)
    return total


def _one_period(fixes: list[Fix], rule: TrailRule) -> float:
    total = 0.0
    anchor: Fix | None = None
    aside: Fix | None = None  # a fix after a jump, kept to see whether the next one agrees with it
    for fix in fixes:
        if fix.accuracy_m is not None and fix.accuracy_m > rule.max_accuracy_m:
            continue
        if anchor is None:
            anchor = fix
            continue
        if not rule.plausible(anchor, fix):
            if aside is not None and rule.plausible(aside, fix):
                anchor, aside = aside, None  # two fixes agree: a real move; restart there, the ride not counted
            else:
                aside = fix
                continue
        else:
            aside = None
        step = _metres(anchor, fix)
        if step >= rule.min_step_m:
            total += step
            anchor = fix
    return total
