"""After a restart, callers found waiting are served strictly in their original order: each has its place
held (at its original arrival) before any adoption runs, and agents wait for a held place rather than take
the callers behind it (callcenter/acd/queue.py, callcenter/acd_runtime.py)."""

from __future__ import annotations

from datetime import timedelta

from callcenter.acd import LogIn, Queue, QueueConfig, SetReady, WaitingCall
from callcenter.acd_runtime import AcdRuntime
from core.clock import utc_now

NOW = utc_now()


def ready(acd: AcdRuntime, *ids: str) -> None:
    for agent_id in ids:
        acd.command(agent_id, LogIn())
        acd.command(agent_id, SetReady())


def test_a_held_place_is_not_offered_and_holds_up_everyone_behind_it() -> None:
    held = WaitingCall("a", "13800000001", NOW, 1, adopting=True)
    queue = Queue(QueueConfig("hotline", "hotline"), (WaitingCall("b", "13800000002", NOW + timedelta(seconds=5), 2),
                                                      held))
    assert [c.call_id for c in queue.calls] == ["a", "b"] and queue.position("b") == 2
    assert not held.offerable and queue.next_offerable() is None


def test_agents_freed_by_a_restart_take_the_adopted_callers_in_their_original_order() -> None:
    acd = AcdRuntime(("8001", "8002"), ring_timeout_s=5, wrap_up_s=1, clock=lambda: NOW + timedelta(minutes=1))
    ready(acd, "8001", "8002")
    arrivals = {f"c{n}": NOW + timedelta(seconds=n) for n in range(4)}
    for call_id, arrived in arrivals.items():  # the reconciler: every place held before any adoption runs
        acd.hold_place(call_id, "1380000" + call_id, arrived_at=arrived)
    offered: list[str] = []
    for call_id in ("c3", "c1", "c0", "c2"):  # adoptions finish in any order
        acd.enqueue(call_id, "1380000" + call_id, arrived_at=arrivals[call_id], reason="adopted")
        while (offer := acd.next_offer()) is not None:
            offered.append(offer[0].call_id)
    assert offered == ["c0", "c1"]
    assert [c.call_id for c in acd.queue.calls] == ["c2", "c3"]


def test_an_adoption_that_ends_before_its_call_is_queued_gives_its_place_back() -> None:
    acd = AcdRuntime(("8001",), ring_timeout_s=5, wrap_up_s=1, clock=lambda: NOW + timedelta(minutes=1))
    ready(acd, "8001")
    acd.hold_place("gone", "13800000001", arrived_at=NOW)
    acd.enqueue("later", "13800000002", arrived_at=NOW + timedelta(seconds=3))
    assert acd.next_offer() is None
    acd.release_place("gone")
    offer = acd.next_offer()
    assert offer is not None and offer[0].call_id == "later"


def test_taking_up_a_held_place_keeps_its_sequence_and_release_leaves_a_queued_call_alone() -> None:
    acd = AcdRuntime(("8001",), ring_timeout_s=5, wrap_up_s=1, clock=lambda: NOW)
    acd.hold_place("a", "13800000001", arrived_at=NOW)
    acd.hold_place("b", "13800000002", arrived_at=NOW)  # same arrival: the order found decides
    acd.enqueue("b", "13800000002", arrived_at=NOW)
    acd.enqueue("a", "13800000001", arrived_at=NOW)
    assert [(c.call_id, c.adopting) for c in acd.queue.calls] == [("a", False), ("b", False)]
    acd.release_place("a")
    assert [c.call_id for c in acd.queue.calls] == ["a", "b"]
