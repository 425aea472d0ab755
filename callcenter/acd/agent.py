"""Agent state: one transition table, one `apply` (h11 `_state.py` style, no I/O, no clock reads).

An agent is in exactly one `AgentState`. Commands come from the agent console (log in, ready, not ready),
from the ACD (offer a call, the ring timed out, the ring was cancelled) and from the call runtime (answered,
call ended, wrap-up elapsed). `apply(agent, command, now)` looks the pair (state, command type) up in
`TRANSITIONS`; a pair that is not there raises `IllegalAgentCommand` and leaves the agent untouched.
On success the agent is updated in place and the events to publish/persist are returned.

Times are whatever the caller passes as `now` (timezone-aware datetimes in this project); this module only
compares and subtracts them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

NO_ANSWER_REASON = "no_answer"
"""`not_ready` reason set by the ACD when an agent lets an offered call ring out."""


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class IllegalAgentCommand(Exception):
    """The command is not allowed in the agent's current state (or its guard failed); nothing changed."""

    code = "agent_command_illegal"


# ---- commands (imperative) ----
@dataclass(frozen=True)
class LogIn:
    pass


@dataclass(frozen=True)
class LogOut:
    pass


@dataclass(frozen=True)
class SetReady:
    pass


@dataclass(frozen=True)
class SetNotReady:
    reason: str = "break"


@dataclass(frozen=True)
class OfferCall:
    """The ACD rings this agent for `call_id` (ring-all offers the same call to several agents)."""

    call_id: str


@dataclass(frozen=True)
class AnswerCall:
    call_id: str


@dataclass(frozen=True)
class RingNoAnswer:
    """The ring timed out or the agent declined: the agent goes not_ready(`no_answer`)."""

    call_id: str


@dataclass(frozen=True)
class CancelRing:
    """The caller hung up, or another agent answered a ring-all offer: back to ready."""

    call_id: str


@dataclass(frozen=True)
class StartOutbound:
    """The agent dials out (e.g. a callback) from ready or not_ready."""

    call_id: str


@dataclass(frozen=True)
class EndCall:
    call_id: str


@dataclass(frozen=True)
class EndWrapUp:
    """Wrap-up is over: sent by a sweep once `now >= agent.wrap_up_until`, or early by the agent."""

    early: bool = False


AgentCommand = (
    LogIn
    | LogOut
    | SetReady
    | SetNotReady
    | OfferCall
    | AnswerCall
    | RingNoAnswer
    | CancelRing
    | StartOutbound
    | EndCall
    | EndWrapUp
)


@dataclass(frozen=True)
class AgentStateChanged:
    """The one event kind: what changed, why, and when (append it to the agent's history)."""

    agent_id: str
    old: AgentState
    new: AgentState
    at: datetime
    command: str
    reason: str | None = None
    call_id: str | None = None


@dataclass
class Agent:
    """An agent's live state. `skills` maps skill name -> penalty (0 = preferred, higher = fallback)."""

    agent_id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    wrap_up_s: float = 10.0
    state: AgentState = AgentState.LOGGED_OUT
    reason: str | None = None
    call_id: str | None = None
    state_since: datetime | None = None
    idle_since: datetime | None = None  # when the agent last became free; longest-idle sorts on it
    wrap_up_until: datetime | None = None
    calls_handled: int = 0  # since log-in; fewest-calls sorts on it


S = AgentState
TRANSITIONS: dict[AgentState, dict[type, frozenset[AgentState]]] = {
    S.LOGGED_OUT: {LogIn: frozenset({S.NOT_READY})},
    S.NOT_READY: {
        SetReady: frozenset({S.READY}),
        SetNotReady: frozenset({S.NOT_READY}),  # change the reason
        StartOutbound: frozenset({S.ON_CALL}),
        LogOut: frozenset({S.LOGGED_OUT}),
    },
    S.READY: {
        SetNotReady: frozenset({S.NOT_READY}),
        OfferCall: frozenset({S.RINGING}),
        StartOutbound: frozenset({S.ON_CALL}),
        LogOut: frozenset({S.LOGGED_OUT}),
    },
    S.RINGING: {
        AnswerCall: frozenset({S.ON_CALL}),
        RingNoAnswer: frozenset({S.NOT_READY}),
        CancelRing: frozenset({S.READY}),
    },
    # wrap_up_s == 0 skips wrap-up.
    S.ON_CALL: {EndCall: frozenset({S.WRAP_UP, S.READY})},
    S.WRAP_UP: {
        EndWrapUp: frozenset({S.READY}),
        SetNotReady: frozenset({S.NOT_READY}),
        LogOut: frozenset({S.LOGGED_OUT}),
    },
}
"""state -> command type -> the states it may lead to. The docs diagram is generated from this table."""

INITIAL_STATE = S.LOGGED_OUT


@dataclass(frozen=True)
class _Change:
    state: AgentState
    reason: str | None = None
    call_id: str | None = None
    idle_since: datetime | None = None
    wrap_up_until: datetime | None = None
    calls_handled: int = 0


def apply(agent: Agent, command: AgentCommand, now: datetime) -> list[AgentStateChanged]:
    """Apply `command` at `now`; return the events, or raise `IllegalAgentCommand` leaving `agent` unchanged."""
    allowed = TRANSITIONS[agent.state].get(type(command))
    if allowed is None:
        raise IllegalAgentCommand(f"{type(command).__name__} is not allowed when agent is {agent.state}")
    change = _HANDLERS[type(command)](agent, command, now)
    if change.state not in allowed:  # a handler bug, not a caller error
        raise AssertionError(f"{agent.state} -> {change.state} is not in the table")
    event = AgentStateChanged(
        agent.agent_id, agent.state, change.state, now, type(command).__name__, change.reason, change.call_id
    )
    _commit(agent, change, now)
    return [event]


def _commit(agent: Agent, change: _Change, now: datetime) -> None:
    agent.state = change.state
    agent.reason = change.reason
    agent.call_id = change.call_id
    agent.state_since = now
    agent.idle_since = change.idle_since
    agent.wrap_up_until = change.wrap_up_until
    agent.calls_handled = change.calls_handled


def _keep(agent: Agent, state: AgentState, **kw: object) -> _Change:
    values: dict[str, object] = {"idle_since": agent.idle_since, "calls_handled": agent.calls_handled}
    values.update(kw)
    return _Change(state, **values)  # type: ignore[arg-type]


def _same_call(agent: Agent, call_id: str) -> None:
    if agent.call_id != call_id:
        raise IllegalAgentCommand(f"agent {agent.agent_id} has call {agent.call_id!r}, not {call_id!r}")


def _log_in(agent: Agent, cmd: LogIn, now: datetime) -> _Change:
    # Agents start not ready: a log-in must not pull a call before the agent has said "ready".
    return _Change(S.NOT_READY, reason="logged_in", idle_since=None, calls_handled=0)


def _log_out(agent: Agent, cmd: LogOut, now: datetime) -> _Change:
    return _Change(S.LOGGED_OUT)


def _ready(agent: Agent, cmd: SetReady, now: datetime) -> _Change:
    return _keep(agent, S.READY, idle_since=now)


def _not_ready(agent: Agent, cmd: SetNotReady, now: datetime) -> _Change:
    if not cmd.reason:
        raise IllegalAgentCommand("not_ready needs a reason")
    return _keep(agent, S.NOT_READY, reason=cmd.reason, idle_since=None)


def _offer(agent: Agent, cmd: OfferCall, now: datetime) -> _Change:
    return _keep(agent, S.RINGING, call_id=cmd.call_id)


def _answer(agent: Agent, cmd: AnswerCall, now: datetime) -> _Change:
    _same_call(agent, cmd.call_id)
    return _keep(agent, S.ON_CALL, call_id=cmd.call_id, idle_since=None)


def _no_answer(agent: Agent, cmd: RingNoAnswer, now: datetime) -> _Change:
    _same_call(agent, cmd.call_id)
    return _keep(agent, S.NOT_READY, reason=NO_ANSWER_REASON, idle_since=None)


def _cancel_ring(agent: Agent, cmd: CancelRing, now: datetime) -> _Change:
    # The agent did nothing wrong: keep its idle time so it stays first in line for longest-idle.
    _same_call(agent, cmd.call_id)
    return _keep(agent, S.READY)


def _outbound(agent: Agent, cmd: StartOutbound, now: datetime) -> _Change:
    return _keep(agent, S.ON_CALL, call_id=cmd.call_id, idle_since=None)


def _end_call(agent: Agent, cmd: EndCall, now: datetime) -> _Change:
    _same_call(agent, cmd.call_id)
    handled = agent.calls_handled + 1
    if agent.wrap_up_s <= 0:
        return _Change(S.READY, idle_since=now, calls_handled=handled)
    until = now + timedelta(seconds=agent.wrap_up_s)
    return _Change(S.WRAP_UP, wrap_up_until=until, calls_handled=handled)


def _end_wrap_up(agent: Agent, cmd: EndWrapUp, now: datetime) -> _Change:
    if not cmd.early and agent.wrap_up_until is not None and now < agent.wrap_up_until:
        raise IllegalAgentCommand(f"wrap-up of {agent.agent_id} lasts until {agent.wrap_up_until}")
    return _keep(agent, S.READY, idle_since=now)


_HANDLERS: dict[type, Callable[[Agent, object, datetime], _Change]] = {  # type: ignore[dict-item]
    LogIn: _log_in,
    LogOut: _log_out,
    SetReady: _ready,
    SetNotReady: _not_ready,
    OfferCall: _offer,
    AnswerCall: _answer,
    RingNoAnswer: _no_answer,
    CancelRing: _cancel_ring,
    StartOutbound: _outbound,
    EndCall: _end_call,
    EndWrapUp: _end_wrap_up,
}


def wrap_ups_due(agents: list[Agent], now: datetime) -> list[str]:
    """Ids of agents whose wrap-up has elapsed at `now`: a sweep sends each `EndWrapUp()`."""
    return [
        a.agent_id for a in agents if a.state is S.WRAP_UP and a.wrap_up_until is not None and a.wrap_up_until <= now
    ]
