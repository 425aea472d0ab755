"""The calling window for callbacks (e.g. 09:00–20:00 local time). Pure; instants are aware datetimes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[time, time]


def parse_window(value: tuple[str, str]) -> Window:
    """("09:00", "20:00") → (time(9), time(20)); the start must come before the end (same day)."""
    try:
        start, end = (time.fromisoformat(v) for v in value)
    except ValueError as exc:
        raise ValueError(f"calling window {value!r} must be two HH:MM times") from exc
    if not start < end:
        raise ValueError(f"calling window {value!r}: the start must be before the end")
    return start, end


def in_window(at: datetime, window: Window, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz).time()
    return window[0] <= local < window[1]


def next_in_window(at: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """`at` itself if inside the window, else the next opening of the window (returned in `at`'s zone)."""
    if in_window(at, window, tz):
        return at
    local = at.astimezone(tz)
    day = local.date() if local.time() < window[0] else local.date() + timedelta(days=1)
    opening = datetime.combine(day, window[0], tz)
    return opening.astimezone(at.tzinfo)
