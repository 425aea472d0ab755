"""Service-level statistics as pure functions over queue call records (GB/T 33358: answer within 15 s).

Definitions (over the records passed in; filter by queue and period before calling). Calls still waiting
are counted apart (`waiting`) and left out of every ratio, so a busy moment is not reported as missed calls.
- offered: calls that entered a queue and have left it;
- answered: an agent picked up (`answered_at` set);
- abandoned: the caller hung up while waiting (`outcome == ABANDONED`);
- callback: the caller left the queue asking for a callback (not counted as abandoned);
- service level: answered within `threshold_s` / (offered − abandoned within `short_abandon_s`);
- abandonment rate: abandoned / offered;
- answer rate (接通率): answered / offered;
- average wait: over answered calls, enqueue → answer; average handle time: talk + wrap-up of answered calls.
Ratios are None when their denominator is zero, so "no calls" is never shown as 0 % or 100 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    CALLBACK = "callback"
    WAITING = "waiting"


@dataclass(frozen=True)
class QueueCallRecord:
    call_id: str
    queue: str
    enqueued_at: datetime
    outcome: Outcome
    left_queue_at: datetime | None = None  # answered, abandoned or turned into a callback
    ended_at: datetime | None = None  # the agent leg ended
    wrap_up_s: float = 0.0
    agent: str | None = None  # the agent who answered (answered calls)

    @property
    def wait_s(self) -> float | None:
        if self.left_queue_at is None:
            return None
        return (self.left_queue_at - self.enqueued_at).total_seconds()

    @property
    def handle_s(self) -> float | None:
        """Talk time plus wrap-up, for answered calls that have ended."""
        if self.outcome is not Outcome.ANSWERED or self.left_queue_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.left_queue_at).total_seconds() + self.wrap_up_s


@dataclass(frozen=True)
class ServiceStats:
    offered: int
    waiting: int
    answered: int
    abandoned: int
    callbacks: int
    service_level: float | None
    abandonment_rate: float | None
    answer_rate: float | None
    average_wait_s: float | None
    average_handle_s: float | None
    answered_within: int = 0  # answered within the threshold
    average_abandon_s: float | None = None  # how long abandoning callers waited before hanging up


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _settled(records: Sequence[QueueCallRecord]) -> list[QueueCallRecord]:
    return [r for r in records if r.outcome is not Outcome.WAITING]


def _answered(records: Sequence[QueueCallRecord]) -> list[QueueCallRecord]:
    return [r for r in records if r.outcome is Outcome.ANSWERED]


def service_level(
    records: Sequence[QueueCallRecord], threshold_s: float = 15.0, short_abandon_s: float = 0.0
) -> float | None:
    """Share of calls answered within `threshold_s`; abandons shorter than `short_abandon_s` are left out."""
    records = _settled(records)
    fast = answered_within(records, threshold_s)
    short = sum(1 for r in records if r.outcome is Outcome.ABANDONED and (r.wait_s or 0.0) < short_abandon_s)
    return _ratio(fast, len(records) - short)


def answered_within(records: Sequence[QueueCallRecord], threshold_s: float = 15.0) -> int:
    """How many calls an agent answered within `threshold_s` of entering the queue."""
    return sum(1 for r in _answered(records) if (r.wait_s or 0.0) <= threshold_s)


def abandon_waits_s(records: Sequence[QueueCallRecord]) -> list[float]:
    """How long each abandoning caller waited before hanging up."""
    return [w for r in records if r.outcome is Outcome.ABANDONED and (w := r.wait_s) is not None]


def abandon_buckets(records: Sequence[QueueCallRecord], edges_s: Sequence[float] = (15.0, 30.0, 60.0)
                    ) -> list[tuple[float | None, int]]:
    """Abandoned calls by wait: (upper edge, count) for ≤ each edge in turn, then (None, count) above the last."""
    waits = abandon_waits_s(records)
    out: list[tuple[float | None, int]] = []
    lower = -1.0
    for edge in edges_s:
        out.append((edge, sum(1 for w in waits if lower < w <= edge)))
        lower = edge
    out.append((None, sum(1 for w in waits if w > lower)))
    return out


def abandonment_rate(records: Sequence[QueueCallRecord]) -> float | None:
    records = _settled(records)
    return _ratio(sum(1 for r in records if r.outcome is Outcome.ABANDONED), len(records))


def answer_rate(records: Sequence[QueueCallRecord]) -> float | None:
    records = _settled(records)
    return _ratio(len(_answered(records)), len(records))


def average_wait_s(records: Sequence[QueueCallRecord]) -> float | None:
    return _mean([w for r in _answered(records) if (w := r.wait_s) is not None])


def average_handle_s(records: Sequence[QueueCallRecord]) -> float | None:
    return _mean(recent_handle_times_s(records))


def recent_handle_times_s(records: Sequence[QueueCallRecord], limit: int | None = None) -> list[float]:
    """Handle times of ended answered calls, most recent last; feed them to `estimated_wait_s`."""
    done = sorted((r for r in records if r.handle_s is not None), key=lambda r: r.ended_at or r.enqueued_at)
    times = [r.handle_s for r in done if r.handle_s is not None]
    return times[-limit:] if limit else times


def summarize(
    records: Sequence[QueueCallRecord], threshold_s: float = 15.0, short_abandon_s: float = 0.0
) -> ServiceStats:
    settled = _settled(records)
    return ServiceStats(
        offered=len(settled),
        waiting=len(records) - len(settled),
        answered=len(_answered(records)),
        abandoned=sum(1 for r in records if r.outcome is Outcome.ABANDONED),
        callbacks=sum(1 for r in records if r.outcome is Outcome.CALLBACK),
        service_level=service_level(records, threshold_s, short_abandon_s),
        abandonment_rate=abandonment_rate(records),
        answer_rate=answer_rate(records),
        average_wait_s=average_wait_s(records),
        average_handle_s=average_handle_s(records),
        answered_within=answered_within(records, threshold_s),
        average_abandon_s=_mean(abandon_waits_s(records)),
    )
