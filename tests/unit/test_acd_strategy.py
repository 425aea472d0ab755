"""Routing strategies and skill penalties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd import Agent, AgentState, Queue, QueueConfig, Strategy, WaitingCall, choose_agents

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CALL = WaitingCall("c1", "13800000000", T0, 1)


def agent(
    agent_id: str,
    idle_min: int,
    calls: int = 0,
    penalty: int = 0,
    state: AgentState = AgentState.READY,
    skill: str = "hotline",
) -> Agent:
    return Agent(
        agent_id, {skill: penalty}, state=state, idle_since=T0 - timedelta(minutes=idle_min), calls_handled=calls
    )


def queue(strategy: Strategy, last: str | None = None) -> Queue:
    return Queue(QueueConfig("hotline", "hotline", strategy), last_agent_id=last)


AGENTS = [agent("a", idle_min=5, calls=3), agent("b", idle_min=20, calls=7), agent("c", idle_min=1, calls=1)]


def test_longest_idle() -> None:
    assert choose_agents(queue(Strategy.LONGEST_IDLE), CALL, AGENTS, T0) == ["b"]


def test_fewest_calls() -> None:
    assert choose_agents(queue(Strategy.FEWEST_CALLS), CALL, AGENTS, T0) == ["c"]


def test_fewest_calls_tie_goes_to_longest_idle() -> None:
    agents = [agent("a", 5, calls=1), agent("b", 9, calls=1)]
    assert choose_agents(queue(Strategy.FEWEST_CALLS), CALL, agents, T0) == ["b"]


def test_ring_all() -> None:
    assert choose_agents(queue(Strategy.RING_ALL), CALL, AGENTS, T0) == ["a", "b", "c"]


@pytest.mark.parametrize(("last", "expected"), [(None, "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("bb", "c")])
def test_round_robin_follows_the_cursor(last: str | None, expected: str) -> None:
    assert choose_agents(queue(Strategy.ROUND_ROBIN, last), CALL, AGENTS, T0) == [expected]


def test_round_robin_cursor_moves_with_offers() -> None:
    q = queue(Strategy.ROUND_ROBIN)
    picked = []
    for _ in range(4):
        (agent_id,) = choose_agents(q, CALL, AGENTS, T0)
        picked.append(agent_id)
        q = q.offered_to(agent_id)
    assert picked == ["a", "b", "c", "a"]


def test_only_ready_agents_with_the_skill_are_chosen() -> None:
    agents = [
        agent("busy", 60, state=AgentState.ON_CALL),
        agent("away", 60, state=AgentState.NOT_READY),
        agent("other", 60, skill="billing"),
        agent("ok", 1),
    ]
    assert choose_agents(queue(Strategy.RING_ALL), CALL, agents, T0) == ["ok"]
    assert choose_agents(queue(Strategy.LONGEST_IDLE), CALL, agents[:3], T0) == []


def test_lower_penalty_agents_are_preferred_even_if_less_idle() -> None:
    agents = [agent("expert", 1, penalty=0), agent("backup", 30, penalty=5), agent("backup2", 40, penalty=5)]
    assert choose_agents(queue(Strategy.LONGEST_IDLE), CALL, agents, T0) == ["expert"]
    assert choose_agents(queue(Strategy.RING_ALL), CALL, agents, T0) == ["expert"]


def test_higher_penalty_agents_take_calls_when_nobody_better_is_ready() -> None:
    agents = [
        agent("expert", 1, penalty=0, state=AgentState.WRAP_UP),
        agent("backup", 30, penalty=5),
        agent("backup2", 40, penalty=5),
    ]
    assert choose_agents(queue(Strategy.LONGEST_IDLE), CALL, agents, T0) == ["backup2"]
    assert choose_agents(queue(Strategy.RING_ALL), CALL, agents, T0) == ["backup", "backup2"]


def test_unknown_idle_time_counts_as_just_now() -> None:
    fresh = Agent("fresh", {"hotline": 0}, state=AgentState.READY)
    assert choose_agents(queue(Strategy.LONGEST_IDLE), CALL, [fresh, agent("old", 1)], T0) == ["old"]
