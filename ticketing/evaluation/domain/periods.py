"""Evaluation periods: day, week, month, quarter, year or any range of local days, as [start, end) instants.

Pure: the caller gives the dates and the time zone (the working calendar's, Asia/Shanghai by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_RANGE_DAYS = 3 * 366


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"

    @property
    def label(self) -> str:
        labels = {"day": "日", "week": "周", "month": "月", "quarter": "季度", "year": "年", "range": "自定义"}
        return labels[self.value]


@dataclass(frozen=True, slots=True)
class Period:
    """Local days [first, end) of one period; `end` is the day after the last day."""

    kind: PeriodKind
    first: date
    end: date

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware UTC instants: local midnight of the first day to local midnight after the last."""
        return _midnight(self.first, tz), _midnight(self.end, tz)

    @property
    def label(self) -> str:
        f = self.first
        match self.kind:
            case PeriodKind.DAY:
                return f"{f.year}年{f.month}月{f.day}日"
            case PeriodKind.WEEK:
                year, week, _ = f.isocalendar()
                return f"{year}年第{week}周"
            case PeriodKind.MONTH:
                return f"{f.year}年{f.month}月"
            case PeriodKind.QUARTER:
                return f"{f.year}年第{(f.month - 1) // 3 + 1}季度"
            case PeriodKind.YEAR:
                return f"{f.year}年"
        return f"{f.isoformat()} 至 {self.last.isoformat()}"

    def previous(self) -> Period:
        """The period of the same kind just before this one (a range: the same number of days before)."""
        if self.kind is PeriodKind.RANGE:
            days = self.end - self.first
            return Period(self.kind, self.first - days, self.first)
        return period(self.kind, self.first - timedelta(days=1))


def period(kind: PeriodKind | str, start: date, end: date | None = None) -> Period:
    """The period of `kind` containing `start`; for a range, the days `start`..`end` (both included)."""
    kind = PeriodKind(kind)
    match kind:
        case PeriodKind.DAY:
            return Period(kind, start, start + timedelta(days=1))
        case PeriodKind.WEEK:
            first = start - timedelta(days=start.isoweekday() - 1)
            return Period(kind, first, first + timedelta(days=7))
        case PeriodKind.MONTH:
            first = start.replace(day=1)
            return Period(kind, first, _add_months(first, 1))
        case PeriodKind.QUARTER:
            first = date(start.year, (start.month - 1) // 3 * 3 + 1, 1)
            return Period(kind, first, _add_months(first, 3))
        case PeriodKind.YEAR:
            return Period(kind, date(start.year, 1, 1), date(start.year + 1, 1, 1))
    if end is None:
        raise ValueError("自定义区间须给出结束日期 end")
    if end < start:
        raise ValueError("结束日期 end 不能早于开始日期 start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"自定义区间不超过 {MAX_RANGE_DAYS} 天")
    return Period(kind, start, end + timedelta(days=1))


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
