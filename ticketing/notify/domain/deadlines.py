"""Which deadline thresholds a stage clock has passed, and what a 督办 says. Pure; `now` is an argument."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_THRESHOLD = re.compile(r"^(yellow|due)(?:([+-])(\d+(?:\.\d+)?)h)?$")
LEVEL_ESCALATION = "escalation"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A reminder point on a stage clock: its yellow mark or due time, shifted by `offset` (calendar time)."""

    name: str  # as configured, e.g. "due+24h"; also the urge level stored
    mark: str  # "yellow" | "due"
    offset: timedelta

    def cutoff(self, now: datetime) -> datetime:
        """The threshold is passed for a clock whose mark is at or before this instant."""
        return now - self.offset


def parse_threshold(text: str) -> Threshold:
    """Parse "yellow", "due", "due+24h", "due-2h" (hours may be fractional); ValueError otherwise."""
    match = _THRESHOLD.match(text.strip())
    if match is None:
        raise ValueError(f"reminder threshold {text!r} must look like yellow, due, due+24h or due-2h")
    mark, sign, hours = match.groups()
    offset = timedelta(hours=float(hours or 0)) * (-1 if sign == "-" else 1)
    return Threshold(text.strip(), mark, offset)


def passed(threshold: Threshold, yellow_at: datetime, due_at: datetime, now: datetime) -> bool:
    """Whether an open clock with these marks has passed the threshold at `now`."""
    mark = yellow_at if threshold.mark == "yellow" else due_at
    return mark <= threshold.cutoff(now)


def light(yellow_at: datetime, due_at: datetime, now: datetime) -> str:
    """The traffic light the sweep records (same rule as StageClock.light): red strictly past due."""
    if now > due_at:
        return "red"
    return "yellow" if now >= yellow_at else "green"


def urge_text(level: str, case_no: str, due_local: str) -> str:
    """The 督办 message to a department (or the escalation to the shift lead) for one threshold."""
    if level == LEVEL_ESCALATION:
        return f"【超期上报】案件{case_no}已超过处置时限（{due_local}），请值班长督办。"
    if level == "yellow":
        return f"【督办】案件{case_no}即将到期（{due_local}），请抓紧处置。"
    if level.startswith("due+"):
        return f"【督办】案件{case_no}已超期（时限{due_local}），请立即处置并反馈。"
    if level.startswith("due-"):
        return f"【督办】案件{case_no}将于{due_local}到期，请抓紧处置。"
    return f"【督办】案件{case_no}已到处置时限（{due_local}），请立即处置。"
