"""Service-level statistics over queue call records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd import Outcome, QueueCallRecord, summarize
from callcenter.acd.stats import recent_handle_times_s, service_level

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def rec(
    call_id: str, outcome: Outcome, wait: float | None, talk: float | None = None, wrap: float = 0.0
) -> QueueCallRecord:
    left = T0 + timedelta(seconds=wait) if wait is not None else None
    ended = left + timedelta(seconds=talk) if left is not None and talk is not None else None
    return QueueCallRecord(call_id, "hotline", T0, outcome, left, ended, wrap)


RECORDS = [
    rec("1", Outcome.ANSWERED, 5, talk=100, wrap=20),
    rec("2", Outcome.ANSWERED, 15, talk=200),
    rec("3", Outcome.ANSWERED, 40, talk=60),
    rec("4", Outcome.ABANDONED, 3),
    rec("5", Outcome.ABANDONED, 60),
    rec("6", Outcome.CALLBACK, 90),
    rec("7", Outcome.WAITING, None),
]


def test_summary() -> None:
    s = summarize(RECORDS)
    assert (s.offered, s.waiting, s.answered, s.abandoned, s.callbacks) == (6, 1, 3, 2, 1)
    assert s.service_level == pytest.approx(2 / 6)
    assert s.abandonment_rate == pytest.approx(2 / 6)
    assert s.answer_rate == pytest.approx(3 / 6)
    assert s.average_wait_s == pytest.approx(20.0)
    assert s.average_handle_s == pytest.approx((120 + 200 + 60) / 3)


def test_short_abandons_can_be_left_out_of_service_level() -> None:
    assert service_level(RECORDS, 15, short_abandon_s=5) == pytest.approx(2 / 5)


def test_threshold_is_inclusive() -> None:
    assert service_level([rec("1", Outcome.ANSWERED, 15, talk=1)], 15) == 1.0


def test_no_calls_gives_unknown_not_zero() -> None:
    s = summarize([])
    assert s.offered == 0
    assert None is s.service_level is s.abandonment_rate is s.answer_rate is s.average_wait_s
    assert s.average_handle_s is None


def test_recent_handle_times_most_recent_last() -> None:
    records = [
        rec("a", Outcome.ANSWERED, 0, talk=300),
        rec("b", Outcome.ANSWERED, 0, talk=50),
        rec("c", Outcome.ANSWERED, 10, talk=10),
    ]
    assert recent_handle_times_s(records) == [10.0, 50.0, 300.0]
    assert recent_handle_times_s(records, limit=2) == [50.0, 300.0]
    assert recent_handle_times_s([rec("x", Outcome.ANSWERED, 5)]) == []
