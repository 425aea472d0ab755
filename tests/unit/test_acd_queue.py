"""Waiting-call order, re-queue in place, callbacks keeping their place, priorities, estimated wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd import Queue, QueueConfig, QueueError, WaitingCall, estimated_wait_s

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONFIG = QueueConfig("hotline", "hotline")


def call(call_id: str, seconds: int, priority: int = 0) -> WaitingCall:
    return WaitingCall(call_id, "1380000" + call_id, T0 + timedelta(seconds=seconds), seconds, priority)


def ids(queue: Queue) -> list[str]:
    return [c.call_id for c in queue.calls]


def test_priority_first_then_arrival() -> None:
    queue = Queue(CONFIG).add(call("a", 1)).add(call("b", 2, priority=10)).add(call("c", 3))
    assert ids(queue) == ["b", "a", "c"]
    assert queue.position("a") == 2 and queue.ahead_of("c") == 2 and queue.head() == queue.get("b")


def test_same_arrival_is_broken_by_sequence() -> None:
    first = WaitingCall("x", "1", T0, seq=1)
    second = WaitingCall("y", "2", T0, seq=2)
    assert ids(Queue(CONFIG, (second, first))) == ["x", "y"]


def test_requeue_after_no_answer_keeps_the_original_place() -> None:
    queue = Queue(CONFIG).add(call("a", 1)).add(call("b", 2)).add(call("c", 3))
    ringing = queue.get("a")
    queue = queue.remove("a").add(call("d", 4))
    queue = queue.add(ringing)
    assert ids(queue) == ["a", "b", "c", "d"]


def test_queue_callback_keeps_its_place() -> None:
    queue = Queue(CONFIG).add(call("a", 1)).add(call("b", 2)).add(call("c", 3)).to_callback("b")
    assert ids(queue) == ["a", "b", "c"] and queue.get("b").callback


def test_duplicate_and_unknown_calls_are_refused() -> None:
    queue = Queue(CONFIG).add(call("a", 1))
    with pytest.raises(QueueError):
        queue.add(call("a", 5))
    with pytest.raises(QueueError):
        queue.remove("zz")
    with pytest.raises(QueueError):
        queue.position("zz")
    with pytest.raises(QueueError):
        Queue(CONFIG, (call("a", 1), call("a", 2)))
    assert ids(queue) == ["a"] and Queue(CONFIG).head() is None


def test_estimated_wait_from_recent_handle_times() -> None:
    assert estimated_wait_s(1, [100.0, 200.0], 1) == 150.0
    assert estimated_wait_s(4, [120.0], 2) == 240.0
    assert estimated_wait_s(1, [], 2) is None
    assert estimated_wait_s(1, [120.0], 0) is None
    with pytest.raises(ValueError):
        estimated_wait_s(0, [120.0], 1)
