"""Waiting calls, queue ordering, priorities, position and estimated wait. Pure values, no I/O.

Ordering: higher `priority` first, then earlier `arrived_at`, then lower `seq` (a tie-breaker the runtime
assigns in arrival order). A call taken out to ring an agent and put back after a no-answer keeps its
`arrived_at`/`seq`, so it gets its old place back; a queue callback is the same `WaitingCall` with
`callback=True`, so it keeps its place too. A callback is offered to agents (and dialled) only once it is
armed with the id of its durable callbacks row: before that it keeps its place but lets later callers pass.

A caller adopted after a restart of the service holds its place from the moment the runtime finds it in
Asterisk (`adopting=True`, at its original arrival) until its call takes the place up: such an entry is not
offered and nobody behind it is offered either (agents wait for it), so the callers found waiting after a
restart are served strictly in their original order. The wait is the runtime's own bookkeeping (the caller
is on the line), so it is short; the runtime drops the entry if the adoption ends first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class Strategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    RING_ALL = "ring_all"


class QueueError(Exception):
    """A queue operation does not fit the queue's content (duplicate or unknown call); nothing changed."""

    code = "queue_error"


@dataclass(frozen=True)
class QueueConfig:
    """A queue: the skill it needs, how it picks agents, how long it rings, its service-level target."""

    name: str
    skill: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout_s: float = 15.0
    service_level_s: float = 15.0
    max_wait_s: float = 180.0  # beyond this the IVR offers a callback


@dataclass(frozen=True)
class WaitingCall:
    call_id: str
    caller: str
    arrived_at: datetime
    seq: int
    priority: int = 0
    callback: bool = False  # the caller hung up and asked to be called back, keeping this place
    reason: str = "agent"
    ivr_path: str = ""
    callback_id: int | None = None  # the durable callbacks row; set when the callback may be dialled
    adopting: bool = False  # a caller found after a restart, its call not running yet: holds the line

    @property
    def offerable(self) -> bool:
        """True for a caller on hold and for an armed callback: both may be offered to an agent now."""
        return not self.adopting and (not self.callback or self.callback_id is not None)

    def sort_key(self) -> tuple[int, datetime, int]:
        return (-self.priority, self.arrived_at, self.seq)

    def as_callback(self) -> WaitingCall:
        """The same place in line, now a callback to `caller` instead of a caller on hold."""
        return replace(self, callback=True)


@dataclass(frozen=True)
class Queue:
    """A queue's configuration and its live content. Every change returns a new `Queue`."""

    config: QueueConfig
    calls: tuple[WaitingCall, ...] = ()
    last_agent_id: str | None = None  # round-robin cursor
    _ids: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.calls, key=WaitingCall.sort_key))
        object.__setattr__(self, "calls", ordered)
        object.__setattr__(self, "_ids", frozenset(c.call_id for c in ordered))
        if len(self._ids) != len(ordered):
            raise QueueError(f"queue {self.config.name} holds a call twice")

    def add(self, call: WaitingCall) -> Queue:
        """Add a call (or put one back after a no-answer: its original arrival keeps its place)."""
        if call.call_id in self._ids:
            raise QueueError(f"call {call.call_id} is already in queue {self.config.name}")
        return replace(self, calls=(*self.calls, call))

    def remove(self, call_id: str) -> Queue:
        self.get(call_id)
        return replace(self, calls=tuple(c for c in self.calls if c.call_id != call_id))

    def get(self, call_id: str) -> WaitingCall:
        for call in self.calls:
            if call.call_id == call_id:
                return call
        raise QueueError(f"call {call_id} is not in queue {self.config.name}")

    def to_callback(self, call_id: str) -> Queue:
        """Turn a waiting caller into a callback that keeps the same place."""
        call = self.get(call_id).as_callback()
        return replace(self, calls=tuple(call if c.call_id == call_id else c for c in self.calls))

    def arm_callback(self, call_id: str, callback_id: int) -> Queue:
        """Attach the durable callback row to a callback entry so it is dialled when its turn comes.

        Raises QueueError (nothing changed) for an unknown call or a caller still on hold."""
        call = self.get(call_id)
        if not call.callback:
            raise QueueError(f"call {call_id} in queue {self.config.name} is a caller on hold, not a callback")
        armed = replace(call, callback_id=callback_id)
        return replace(self, calls=tuple(armed if c.call_id == call_id else c for c in self.calls))

    def next_offerable(self) -> WaitingCall | None:
        """The first entry in line that may be offered now (callers on hold and armed callbacks alike);
        an unarmed callback keeps its place without holding up the callers behind it; a caller still being
        adopted after a restart holds them up (None until its call takes its place up)."""
        for call in self.calls:
            if call.adopting:
                return None
            if call.offerable:
                return call
        return None

    def head(self) -> WaitingCall | None:
        return self.calls[0] if self.calls else None

    def position(self, call_id: str) -> int:
        """1-based place in line (1 = next to be served)."""
        for index, call in enumerate(self.calls, start=1):
            if call.call_id == call_id:
                return index
        raise QueueError(f"call {call_id} is not in queue {self.config.name}")

    def ahead_of(self, call_id: str) -> int:
        """How many calls will be served before this one ("您前面还有 N 位")."""
        return self.position(call_id) - 1

    def offered_to(self, agent_id: str) -> Queue:
        """Move the round-robin cursor after offering a call to `agent_id`."""
        return replace(self, last_agent_id=agent_id)


def average_handle_time_s(recent_handle_times_s: Sequence[float]) -> float | None:
    """Mean handle time (talk + wrap-up, seconds) of recent calls; None when there is no history."""
    if not recent_handle_times_s:
        return None
    return sum(recent_handle_times_s) / len(recent_handle_times_s)


def estimated_wait_s(position: int, recent_handle_times_s: Sequence[float], serving_agents: int) -> float | None:
    """Expected wait for the call at 1-based `position`.

    `serving_agents` agents (logged in with the queue's skill) free a place every AHT / agents seconds on
    average, so the wait is position × AHT / agents. None when unknown (no history or nobody serving).
    """
    if position < 1:
        raise ValueError("position is 1-based")
    aht = average_handle_time_s(recent_handle_times_s)
    if aht is None or serving_agents <= 0:
        return None
    return position * aht / serving_agents
