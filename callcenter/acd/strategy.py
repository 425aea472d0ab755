"""Which agents to ring for a waiting call. Pure: queue + call + agents + now -> agent ids.

Eligible agents are `ready` and have the queue's skill. Skill penalties work as in Asterisk's app_queue:
only the agents with the lowest penalty among the eligible ones are considered; higher-penalty agents are
rung only when no lower-penalty agent is ready. Among them the queue's strategy picks:

- longest_idle: the agent free for the longest time (earliest `idle_since`);
- round_robin: the next agent id after the queue's `last_agent_id` (ids in sorted order, wrapping);
- fewest_calls: the agent with the fewest calls since log-in (ties: longest idle);
- ring_all: all of them at once (the first to answer wins; the runtime cancels the other rings).

Every tie is broken by agent id so the result never depends on dict or list order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from callcenter.acd.agent import Agent, AgentState
from callcenter.acd.queue import Queue, Strategy, WaitingCall


def eligible_agents(queue: Queue, agents: Iterable[Agent]) -> list[Agent]:
    """Ready agents with the queue's skill, restricted to the lowest skill penalty present."""
    skill = queue.config.skill
    ready = [a for a in agents if a.state is AgentState.READY and skill in a.skills]
    if not ready:
        return []
    best = min(a.skills[skill] for a in ready)
    return sorted((a for a in ready if a.skills[skill] == best), key=lambda a: a.agent_id)


def choose_agents(queue: Queue, waiting_call: WaitingCall, agents: Iterable[Agent], now: datetime) -> list[str]:
    """Agent ids to ring for `waiting_call` now (empty: nobody can take it; keep it waiting).

    `waiting_call` is passed so that strategies may use it (all current ones ignore it); `now` stands in for
    agents whose `idle_since` is unknown.
    """
    pool = eligible_agents(queue, agents)
    if not pool:
        return []
    strategy = queue.config.strategy
    if strategy is Strategy.RING_ALL:
        return [a.agent_id for a in pool]
    if strategy is Strategy.ROUND_ROBIN:
        return [_next_after(queue.last_agent_id, [a.agent_id for a in pool])]
    if strategy is Strategy.FEWEST_CALLS:
        return [min(pool, key=lambda a: (a.calls_handled, _idle_key(a, now), a.agent_id)).agent_id]
    return [min(pool, key=lambda a: (_idle_key(a, now), a.agent_id)).agent_id]


def _idle_key(agent: Agent, now: datetime) -> datetime:
    return agent.idle_since or agent.state_since or now


def _next_after(last: str | None, ids: list[str]) -> str:
    if last is not None:
        for agent_id in ids:
            if agent_id > last:
                return agent_id
    return ids[0]
