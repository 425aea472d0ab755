"""Reading inspectors' attendance for a window: duty periods and positions from the inspection tables, turned
into time on duty, duty days and patrol distance by the pure rule of ticketing/evaluation/domain/attendance.py.

Used by the post evaluation (the measures `duty_minutes`, `duty_days`, `trail_m` of the indicator catalog) and
by the lead's day view of one inspector (ticketing/inspection/service.py), so both show the same figures.
Positions are read in one query per window (a few hundred fixes per inspector and day: an inspector sends one
a minute while on duty); only the columns the rule needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import to_db
from ticketing.evaluation.domain.attendance import (
    Attendance,
    DutyPeriod,
    Fix,
    TrailRule,
    duty_days,
    duty_seconds,
    trail_metres,
)
from ticketing.inspection.tables import inspector_duty, inspector_positions

MEASURE_NAMES = ("duty_minutes", "duty_days", "trail_m")  # the catalog's measures this module computes


def _naive(value: datetime) -> datetime:
    stored = to_db(value)
    assert stored is not None
    return stored


async def attendance(conn: AsyncConnection, start: datetime, end: datetime, now: datetime, rule: TrailRule,
                     tz: ZoneInfo, usernames: Sequence[str] | None = None) -> dict[str, Attendance]:
    """Each inspector's attendance in [start, end) as seen at `now` (an open duty counts up to now)."""
    s, e, n = _naive(start), _naive(end), _naive(now)
    d, p = inspector_duty.c, inspector_positions.c
    duty_q = select(d.id, d.username, d.started_at, d.ended_at).where(
        d.started_at < e, or_(d.ended_at.is_(None), d.ended_at > s))
    fix_q = select(p.username, p.duty_id, p.at, p.lat, p.lon, p.accuracy_m).where(p.at >= s, p.at < e, p.at <= n)
    if usernames is not None:
        duty_q = duty_q.where(d.username.in_(list(usernames)))
        fix_q = fix_q.where(p.username.in_(list(usernames)))
    periods: dict[str, list[DutyPeriod]] = {}
    for row in (await conn.execute(duty_q)).all():
        periods.setdefault(row.username, []).append(DutyPeriod(row.started_at, row.ended_at))
    fixes: dict[str, list[Fix]] = {}
    for row in (await conn.execute(fix_q.order_by(p.username, p.at))).all():
        fixes.setdefault(row.username, []).append(Fix(row.duty_id, row.at, row.lat, row.lon, row.accuracy_m))
    out = {}
    for username in sorted(set(periods) | set(fixes)):
        mine = periods.get(username, [])
        out[username] = Attendance(duty_seconds(mine, s, e, n), trail_metres(fixes.get(username, []), rule),
                                   duty_days(mine, s, e, n, tz))
    return out


def measures(found: Attendance) -> dict[str, int]:
    """The catalog's measures of one inspector (whole minutes, days and metres)."""
    return {"duty_minutes": found.duty_minutes, "duty_days": found.duty_days, "trail_m": found.trail_whole_m}
