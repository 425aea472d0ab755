"""The calling window for callbacks (e.g. 09:00–20:00 local time). Pure; instants are aware datetimes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

Window = tuple[time, time]
END_OF_DAY = time(0)  # as a window's end: midnight at the end of the day ("24:00")


def parse_window(value: tuple[str, str]) -> Window:
    """("09:00", "20:00") → (time(9), time(20)); the start must come before the end (same day).
    An end of "24:00" is the end of the day (stored as time(0), as for the working periods): ("00:00", "24:00")
    is open all day."""
    try:
        start_text, end_text = value
        start = time.fromisoformat(start_text)
        end = END_OF_DAY if end_text == "24:00" else time.fromisoformat(end_text)
    except ValueError as exc:
        raise ValueError(f"calling window {value!r} must be two HH:MM times") from exc
    if end_text != "24:00" and not start < end:
        raise ValueError(f"calling window {value!r}: the start must be before the end")
    return start, end


def in_window(at: datetime, window: Window, tz: ZoneInfo) -> bool:
    local = at.astimezone(tz).time()
    start, end = window
    return start <= local and (end == END_OF_DAY or local < end)


def next_in_window(at: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """`at` itself if inside the window, else the next opening of the window (returned in `at`'s zone)."""
    if in_window(at, window, tz):
        return at
    local = at.astimezone(tz)
    day = local.date() if local.time() < window[0] else local.date() + timedelta(days=1)
    opening = datetime.combine(day, window[0], tz)
    return opening.astimezone(at.tzinfo)
