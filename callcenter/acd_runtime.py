"""The ACD at run time: the colleague's pure core (`callcenter.acd`) plus the clock, a wake-up signal for
the dispatcher and the agent-event persistence. Single-process state; durable facts go to the database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime

from callcenter.acd import (
    Agent,
    AgentState,
    AgentStateChanged,
    EndWrapUp,
    OfferCall,
    Queue,
    QueueConfig,
    Strategy,
    WaitingCall,
    apply,
    choose_agents,
    wrap_ups_due,
)
from callcenter.domain.agent_session import resume_call
from core.clock import Clock, utc_now

SKILL = "hotline"
AgentListener = Callable[[AgentStateChanged], Awaitable[None] | None]


class AcdRuntime:
    """Agents by extension and one hotline queue. Every change goes through the pure `apply`."""

    def __init__(self, extensions: tuple[str, ...], *, ring_timeout_s: float, wrap_up_s: float,
                 strategy: Strategy = Strategy.LONGEST_IDLE, clock: Clock = utc_now) -> None:
        self.clock = clock
        self.agents = {e: Agent(e, skills={SKILL: 0}, wrap_up_s=wrap_up_s) for e in extensions}
        self.queue = Queue(QueueConfig("hotline", SKILL, strategy=strategy, ring_timeout_s=ring_timeout_s))
        self.changed = asyncio.Event()
        self.listeners: list[Callable[[AgentStateChanged], None]] = []
        self._seq = itertools.count(1)

    def command(self, agent_id: str, command: object) -> list[AgentStateChanged]:
        """Apply an agent command now; raises KeyError (unknown agent) or IllegalAgentCommand."""
        events = apply(self.agents[agent_id], command, self.clock())  # type: ignore[arg-type]
        for event in events:
            for listener in self.listeners:
                listener(event)
        self.changed.set()
        return events

    def resume_call(self, agent_id: str, call_id: str) -> None:
        """The agent's conversation was re-adopted after a restart: on that call again (listeners told)."""
        agent = self.agents[agent_id]
        old = resume_call(agent, call_id, self.clock())
        event = AgentStateChanged(agent_id, old, agent.state, self.clock(), "ResumeCall", None, call_id)
        for listener in self.listeners:
            listener(event)
        self.changed.set()

    def enqueue(self, call_id: str, caller: str, *, arrived_at: datetime, priority: int = 0,
                reason: str = "agent", ivr_path: str = "") -> WaitingCall:
        """Put a call in line (replacing any entry it has); a place held for it since a restart
        (`hold_place`) is taken up with its sequence number, so ties keep the order found."""
        held = self._entry(call_id)
        seq = held.seq if held is not None and held.adopting else next(self._seq)
        self.remove(call_id)
        waiting = WaitingCall(call_id, caller, arrived_at, seq, priority, reason=reason, ivr_path=ivr_path)
        self.requeue(waiting)
        return waiting

    def hold_place(self, call_id: str, caller: str, *, arrived_at: datetime) -> None:
        """A caller found waiting after a restart: its place at its original arrival, held (nobody behind it
        is offered) until its call enqueues it (`enqueue`) or the adoption ends (`release_place`)."""
        if self._entry(call_id) is None:
            self.queue = self.queue.add(WaitingCall(call_id, caller, arrived_at, next(self._seq), adopting=True))

    def release_place(self, call_id: str) -> None:
        """Drop a place still held for an adoption that ended before its call took it up (no-op otherwise)."""
        held = self._entry(call_id)
        if held is not None and held.adopting:
            self.queue = self.queue.remove(call_id)
            self.changed.set()

    def _entry(self, call_id: str) -> WaitingCall | None:
        return next((c for c in self.queue.calls if c.call_id == call_id), None)

    def requeue(self, waiting: WaitingCall) -> None:
        """Put a call back (after a no-answer): its arrival time and sequence keep its place."""
        self.queue = self.queue.add(waiting)
        self.changed.set()

    def remove(self, call_id: str) -> None:
        if any(c.call_id == call_id for c in self.queue.calls):
            self.queue = self.queue.remove(call_id)

    def to_callback(self, call_id: str) -> WaitingCall:
        self.queue = self.queue.to_callback(call_id)
        return self.queue.get(call_id)

    def arm_callback(self, call_id: str, callback_id: int) -> WaitingCall:
        """Mark a callback entry as dialable (raises QueueError when there is no such callback)."""
        self.queue = self.queue.arm_callback(call_id, callback_id)
        self.changed.set()
        return self.queue.get(call_id)

    def add_callback(self, call_id: str, caller: str, *, arrived_at: datetime, callback_id: int) -> WaitingCall:
        """Put an armed callback into the queue at the place its original call's arrival gives it."""
        waiting = WaitingCall(call_id, caller, arrived_at, next(self._seq), callback=True, reason="callback",
                              callback_id=callback_id)
        self.requeue(waiting)
        return waiting

    def ahead_of(self, call_id: str) -> int:
        return self.queue.ahead_of(call_id)

    def next_offer(self) -> tuple[WaitingCall, tuple[str, ...]] | None:
        """Take the first entry ready agents can take (a caller on hold or an armed callback) and offer it:
        to one agent, or to all of them with ring-all (the first to answer wins, the others get CancelRing).
        A callback goes to one agent only: the agent's phone rings before the citizen is dialled."""
        waiting = self.queue.next_offerable()
        if waiting is None:
            return None
        chosen = choose_agents(self.queue, waiting, self.agents.values(), self.clock())
        if not chosen:
            return None
        if waiting.callback or self.queue.config.strategy is not Strategy.RING_ALL:
            chosen = chosen[:1]
        self.queue = self.queue.remove(waiting.call_id).offered_to(chosen[0])
        for agent_id in chosen:
            self.command(agent_id, OfferCall(waiting.call_id))
        return waiting, tuple(chosen)

    def serving_agents(self) -> int:
        return sum(1 for a in self.agents.values() if a.state is not AgentState.LOGGED_OUT)

    def end_due_wrap_ups(self) -> list[str]:
        due = wrap_ups_due(list(self.agents.values()), self.clock())
        for agent_id in due:
            self.command(agent_id, EndWrapUp())
        return due

    def snapshot(self) -> dict[str, object]:
        """Queue and agents as plain data for the API and the wallboard."""
        return {
            "waiting": [{"call_id": c.call_id, "caller": c.caller, "arrived_at": c.arrived_at.isoformat(),
                         "callback": c.callback, "position": i}
                        for i, c in enumerate(self.queue.calls, start=1)],
            "agents": [{"agent_id": a.agent_id, "state": a.state.value, "reason": a.reason,
                        "call_id": a.call_id} for a in self.agents.values()],
            "ready": sum(1 for a in self.agents.values() if a.state is AgentState.READY),
        }
