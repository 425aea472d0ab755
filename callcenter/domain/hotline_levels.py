"""Hotline service levels (GB/T 33358-2016) over a period, grouped by day, hour of day, queue or agent (pure).

The call figures are `callcenter.acd.stats.summarize` over the queue call records, the one source the
wallboard also uses; this module only groups the records and adds the non-call figures of the same period:
callbacks (queue / missed-call callbacks: made, reached, how soon), the satisfaction survey (every 回访评价 in
the period, by phone, SMS or agent) and SMS acknowledgements sent within the 3-minute target.

Grouping: `day` = local date of the call's queue entry (of the request, the rating or the SMS for the other
figures), `hour` = local hour of day (0–23) over the whole period, `queue` and `agent` group the calls only
(an agent's row counts the calls that agent answered; callbacks, survey and SMS are not per queue or agent and
appear in the total row). `total` is one row for the whole period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.acd.stats import QueueCallRecord, abandon_buckets, summarize

ANSWER_TARGET_S = 15.0  # GB/T 33358: answer within 15 s
SMS_TARGET_S = 180.0  # 53号文: SMS and other channels answered within 3 minutes
ABANDON_EDGES_S = (15.0, 30.0, 60.0)
SATISFIED = (1, 2)  # 满意, 基本满意 (3 = 不满意)


class GroupBy(StrEnum):
    TOTAL = "total"
    DAY = "day"
    HOUR = "hour"
    QUEUE = "queue"
    AGENT = "agent"

    @property
    def label(self) -> str:
        return {"total": "合计", "day": "按日", "hour": "按时段", "queue": "按队列", "agent": "按坐席"}[self.value]


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    """A queue or missed-call callback: when it was asked for, whether it was dialled and when it got through."""

    requested_at: datetime
    attempts: int
    reached_at: datetime | None  # the citizen answered (state answered)
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Rating:
    at: datetime
    satisfaction: int  # 1 满意, 2 基本满意, 3 不满意


@dataclass(frozen=True, slots=True)
class SmsRecord:
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class LevelsRow:
    key: str
    label: str
    figures: dict[str, Any]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def call_figures(records: Sequence[QueueCallRecord], threshold_s: float = ANSWER_TARGET_S) -> dict[str, Any]:
    stats = summarize(records, threshold_s)
    buckets = abandon_buckets(records, ABANDON_EDGES_S)
    return {
        "offered": stats.offered,
        "answered": stats.answered,
        "answered_within_target": stats.answered_within,
        "answer_rate": stats.answer_rate,
        "service_level": stats.service_level,
        "abandoned": stats.abandoned,
        "abandonment_rate": stats.abandonment_rate,
        "average_abandon_s": stats.average_abandon_s,
        "abandoned_by_wait": [{"up_to_s": edge, "count": n} for edge, n in buckets],
        "queue_callbacks": stats.callbacks,
        "average_wait_s": stats.average_wait_s,
        "average_handle_s": stats.average_handle_s,
    }


def callback_figures(records: Sequence[CallbackRecord]) -> dict[str, Any]:
    delays = [(r.reached_at - r.requested_at).total_seconds() for r in records if r.reached_at is not None]
    return {
        "callbacks_requested": len(records),
        "callbacks_made": sum(1 for r in records if r.attempts > 0),
        "callbacks_reached": len(delays),
        "callbacks_failed": sum(1 for r in records if r.failed),
        "callback_average_delay_s": _mean(delays),
        "callback_max_delay_s": max(delays, default=None),
    }


def survey_figures(ratings: Sequence[Rating]) -> dict[str, Any]:
    n = {v: sum(1 for r in ratings if r.satisfaction == v) for v in (1, 2, 3)}
    return {
        "surveys": len(ratings),
        "satisfied": n[1],
        "basically_satisfied": n[2],
        "unsatisfied": n[3],
        "satisfaction_rate": _ratio(n[1] + n[2], len(ratings)),
    }


def sms_figures(records: Sequence[SmsRecord], target_s: float = SMS_TARGET_S) -> dict[str, Any]:
    sent = [r for r in records if r.sent_at is not None]
    fast = sum(1 for r in sent if r.sent_at is not None and (r.sent_at - r.created_at).total_seconds() <= target_s)
    return {
        "sms": len(records),
        "sms_sent": len(sent),
        "sms_within_target": fast,
        "sms_within_target_rate": _ratio(fast, len(records)),
    }


def _groups(items: Iterable[Any], key: Callable[[Any], str | None]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        k = key(item)
        if k is not None:
            out.setdefault(k, []).append(item)
    return out


def levels(
    calls: Sequence[QueueCallRecord],
    callbacks: Sequence[CallbackRecord],
    ratings: Sequence[Rating],
    sms: Sequence[SmsRecord],
    *,
    by: GroupBy,
    tz: ZoneInfo,
    first: date,
    end: date,
    threshold_s: float = ANSWER_TARGET_S,
) -> list[LevelsRow]:
    """Rows of figures for the period [first, end) grouped `by`; days and hours with nothing get zero rows."""
    if by is GroupBy.TOTAL:
        return [
            LevelsRow(
                "total",
                "合计",
                {
                    **call_figures(calls, threshold_s),
                    **callback_figures(callbacks),
                    **survey_figures(ratings),
                    **sms_figures(sms),
                },
            )
        ]
    if by in (GroupBy.QUEUE, GroupBy.AGENT):
        pick = (lambda r: r.queue or "default") if by is GroupBy.QUEUE else (lambda r: r.agent)
        grouped = _groups(calls, pick)
        return [
            LevelsRow(k, k if by is GroupBy.AGENT else _queue_label(k), call_figures(grouped[k], threshold_s))
            for k in sorted(grouped)
        ]
    if by is GroupBy.DAY:
        days = [first + timedelta(days=i) for i in range((end - first).days)]
        keys = [(d.isoformat(), f"{d.month}月{d.day}日") for d in days]

        def key_of(at: datetime) -> str:
            return at.astimezone(tz).date().isoformat()
    else:
        keys = [(f"{h:02d}", f"{h:02d}:00–{h:02d}:59") for h in range(24)]

        def key_of(at: datetime) -> str:
            return f"{at.astimezone(tz).hour:02d}"

    parts = (
        _groups(calls, lambda r: key_of(r.enqueued_at)),
        _groups(callbacks, lambda r: key_of(r.requested_at)),
        _groups(ratings, lambda r: key_of(r.at)),
        _groups(sms, lambda r: key_of(r.created_at)),
    )
    return [
        LevelsRow(
            k,
            label,
            {
                **call_figures(parts[0].get(k, []), threshold_s),
                **callback_figures(parts[1].get(k, [])),
                **survey_figures(parts[2].get(k, [])),
                **sms_figures(parts[3].get(k, [])),
            },
        )
        for k, label in keys
    ]


def _queue_label(queue: str) -> str:
    return "默认队列" if queue == "default" else queue


FIGURE_LABELS: dict[str, str] = {
    "offered": "呼入量（进入队列）",
    "answered": "接通量",
    "answered_within_target": "15秒内接通",
    "answer_rate": "接通率",
    "service_level": "15秒接通率",
    "abandoned": "放弃量",
    "abandonment_rate": "放弃率",
    "average_abandon_s": "平均放弃前等待（秒）",
    "queue_callbacks": "转回拨",
    "average_wait_s": "平均等待（秒）",
    "average_handle_s": "平均处理时长（秒）",
    "callbacks_requested": "回拨请求",
    "callbacks_made": "已回拨",
    "callbacks_reached": "回拨接通",
    "callbacks_failed": "回拨失败",
    "callback_average_delay_s": "平均回拨用时（秒）",
    "callback_max_delay_s": "最长回拨用时（秒）",
    "surveys": "回访评价数",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意",
    "satisfaction_rate": "满意率",
    "sms": "短信（应发）",
    "sms_sent": "短信已发",
    "sms_within_target": "3分钟内发出",
    "sms_within_target_rate": "3分钟内发出率",
}
RATE_FIGURES = frozenset(
    {"answer_rate", "service_level", "abandonment_rate", "satisfaction_rate", "sms_within_target_rate"}
)
