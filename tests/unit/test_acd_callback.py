"""Callbacks that keep their place: armed with their durable row, offered like a call when first in line."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd import (
    Agent,
    AgentState,
    LogIn,
    OfferCall,
    Queue,
    QueueConfig,
    QueueError,
    SetReady,
    Strategy,
    WaitingCall,
    apply,
)
from callcenter.acd_runtime import AcdRuntime

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONFIG = QueueConfig("hotline", "hotline")


def call(call_id: str, seconds: int, *, callback: bool = False) -> WaitingCall:
    return WaitingCall(call_id, "1380000" + call_id, T0 + timedelta(seconds=seconds), seconds, callback=callback)


def queue_of(*calls: WaitingCall) -> Queue:
    return Queue(CONFIG, calls)


def test_an_unarmed_callback_keeps_its_place_but_lets_later_callers_pass() -> None:
    queue = queue_of(call("a", 1, callback=True), call("b", 2))
    assert queue.position("a") == 1
    assert queue.next_offerable() == queue.get("b")


def test_an_armed_callback_at_the_front_is_offered_first() -> None:
    queue = queue_of(call("a", 1, callback=True), call("b", 2)).arm_callback("a", 41)
    first = queue.next_offerable()
    assert first is not None and (first.call_id, first.callback_id) == ("a", 41)
    assert [c.call_id for c in queue.calls] == ["a", "b"]


def test_arming_a_caller_on_hold_is_refused_and_changes_nothing() -> None:
    queue = queue_of(call("a", 1), call("b", 2, callback=True))
    with pytest.raises(QueueError):
        queue.arm_callback("a", 7)
    with pytest.raises(QueueError):
        queue.arm_callback("zz", 7)
    assert queue.get("a").callback_id is None and queue.get("b").callback_id is None


def test_a_callback_restored_with_its_original_arrival_goes_back_to_its_place() -> None:
    queue = queue_of(call("b", 2), call("c", 3))
    restored = replace(call("a", 1, callback=True), seq=99, callback_id=5)
    queue = queue.add(restored)
    assert [c.call_id for c in queue.calls] == ["a", "b", "c"] and queue.next_offerable() == restored


def test_an_empty_queue_or_only_unarmed_callbacks_offer_nothing() -> None:
    assert Queue(CONFIG).next_offerable() is None
    assert queue_of(call("a", 1, callback=True)).next_offerable() is None


def ready_agents(acd: AcdRuntime, *ids: str) -> None:
    for agent_id in ids:
        acd.command(agent_id, LogIn())
        acd.command(agent_id, SetReady())


async def test_runtime_offers_an_armed_callback_to_one_agent_even_with_ring_all() -> None:
    acd = AcdRuntime(("8001", "8002"), ring_timeout_s=5, wrap_up_s=1, strategy=Strategy.RING_ALL,
                     clock=lambda: T0 + timedelta(minutes=5))
    ready_agents(acd, "8001", "8002")
    acd.add_callback("old", "13800000001", arrived_at=T0, callback_id=3)
    acd.enqueue("new", "13800000002", arrived_at=T0 + timedelta(minutes=1))
    offer = acd.next_offer()
    assert offer is not None
    waiting, agents = offer
    assert (waiting.call_id, waiting.callback, waiting.callback_id, len(agents)) == ("old", True, 3, 1)
    assert acd.agents[agents[0]].state is AgentState.RINGING


async def test_runtime_skips_an_unarmed_callback_until_it_is_armed() -> None:
    acd = AcdRuntime(("8001",), ring_timeout_s=5, wrap_up_s=1, clock=lambda: T0 + timedelta(minutes=5))
    acd.enqueue("old", "13800000001", arrived_at=T0)
    acd.to_callback("old")
    assert acd.next_offer() is None  # nobody ready yet
    acd.enqueue("new", "13800000002", arrived_at=T0 + timedelta(minutes=1))
    acd.arm_callback("old", 9)
    ready_agents(acd, "8001")
    offer = acd.next_offer()
    assert offer is not None and offer[0].call_id == "old"


def test_offering_a_callback_uses_the_plain_agent_transitions() -> None:
    agent = Agent("8001", skills={"hotline": 0})
    for command in (LogIn(), SetReady(), OfferCall("old")):
        apply(agent, command, T0)
    assert (agent.state, agent.call_id) == (AgentState.RINGING, "old")
