"""The call's lifecycle: one transition table, one `apply`, and the one place a call's outcome is decided.

Every call (inbound, click-to-call, callback, survey) starts in `NEW` and is driven by the facts the
runtime observes (`Arrived`, `Enqueued`, `Answered`, `HungUp`, ...). The features no longer pick outcome
strings: they report what happened, and the call's end event (`HungUp`, `IvrHungUp`, `NotAnswered`,
`Failed`) turns the lifecycle's state and facts into the call record's `outcome` and `hangup_by`.

`apply(call, event)` looks the pair (state, event type) up in `TRANSITIONS`; a pair that is not there
raises `IllegalCallEvent` and leaves the lifecycle untouched. No I/O, no clock reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum


class Outcome(StrEnum):
    """The call record's `outcome` column: the one vocabulary of how a call ended."""

    ANSWERED = "answered"  # a person (agent, citizen, surveyed citizen) talked on it
    ABANDONED = "abandoned"  # the caller hung up while in the IVR or waiting in the queue
    CALLBACK = "callback"  # the caller left asking to be called back (keeps the queue place)
    MESSAGE = "message"  # the caller left a voice message
    QUERY = "query"  # the caller only heard a case's progress in the IVR
    AFTER_HOURS = "after_hours"
    BLOCKED = "blocked"
    NO_ANSWER = "no_answer"  # a call we placed was not answered
    FAILED = "failed"  # our side failed; the caller was handed to the fallback dialplan


class Party(StrEnum):
    """Who ended the call (`hangup_by`). On calls we place the agent's phone is the first leg."""

    CALLER = "caller"
    AGENT = "agent"
    CALLEE = "callee"
    SYSTEM = "system"


class CallState(StrEnum):
    NEW = "new"
    IVR = "ivr"  # an inbound caller talks to the IVR
    DIALLING = "dialling"  # a call we place: our legs ring
    QUEUED = "queued"
    RINGING = "ringing"  # agents' phones ring for the queued caller
    CONNECTED = "connected"
    TRANSFERRING = "transferring"  # the agent left; the transfer target rings, the caller hears music
    ENDED = "ended"


class IllegalCallEvent(Exception):
    """The event is not allowed in the call's current state; nothing changed."""


# ---- events (facts the runtime observed) ----
@dataclass(frozen=True)
class Arrived:
    """An inbound call reached our application (also an adopted or direct-to-queue one)."""


@dataclass(frozen=True)
class Placed:
    """We started a call: click-to-call, callback or survey."""


@dataclass(frozen=True)
class Enqueued:
    reason: str = "agent"


@dataclass(frozen=True)
class Dequeued:
    """The IVR took the caller out of the queue (e.g. to leave a message)."""


@dataclass(frozen=True)
class AgentRinging:
    agent_id: str


@dataclass(frozen=True)
class RingEnded:
    """No ringing agent answered (timeout, declined, cancelled): the caller waits on."""


@dataclass(frozen=True)
class Answered:
    """A person answered: an agent for a queued caller or transfer, the citizen for a call we placed."""


@dataclass(frozen=True)
class Transferred:
    kind: str  # "agent" | "queue" | "number"


@dataclass(frozen=True)
class CaseFound:
    """The IVR read a case's progress to the caller."""


@dataclass(frozen=True)
class MessageLeft:
    pass


@dataclass(frozen=True)
class CallbackChosen:
    pass


@dataclass(frozen=True)
class IvrHungUp:
    """The IVR ended the call (`reason`: blocked, after_hours, callback, error, done...)."""

    reason: str = ""


@dataclass(frozen=True)
class HungUp:
    by: Party


@dataclass(frozen=True)
class NotAnswered:
    """A call we placed was not answered (or declined)."""

    by: Party = Party.SYSTEM


@dataclass(frozen=True)
class Failed:
    """Our side failed (a bug, Asterisk refused): the call ends as failed."""


CallEvent = (Arrived | Placed | Enqueued | Dequeued | AgentRinging | RingEnded | Answered | Transferred | CaseFound
             | MessageLeft | CallbackChosen | IvrHungUp | HungUp | NotAnswered | Failed)


@dataclass(frozen=True)
class CallLifecycle:
    state: CallState = CallState.NEW
    wish: Outcome | None = None  # what the caller asked for: a callback or a message (the last one counts)
    case_found: bool = False
    was_queued: bool = False
    outcome: Outcome | None = None  # set once, by the end event
    hangup_by: Party | None = None


S = CallState
_END = {HungUp: frozenset({S.ENDED}), Failed: frozenset({S.ENDED})}
_WISHES = {MessageLeft: frozenset({S.IVR}), CallbackChosen: frozenset({S.IVR})}
TRANSITIONS: dict[CallState, dict[type, frozenset[CallState]]] = {
    S.NEW: {Arrived: frozenset({S.IVR}), Placed: frozenset({S.DIALLING}), **_END},
    S.IVR: {Enqueued: frozenset({S.QUEUED}), CaseFound: frozenset({S.IVR}), **_WISHES,
            IvrHungUp: frozenset({S.ENDED}), **_END},
    S.QUEUED: {Enqueued: frozenset({S.QUEUED}), Dequeued: frozenset({S.IVR}), AgentRinging: frozenset({S.RINGING}),
               Answered: frozenset({S.CONNECTED}), MessageLeft: frozenset({S.QUEUED}),
               CallbackChosen: frozenset({S.QUEUED}), IvrHungUp: frozenset({S.ENDED}), **_END},
    S.RINGING: {AgentRinging: frozenset({S.RINGING}), RingEnded: frozenset({S.QUEUED}),
                Answered: frozenset({S.CONNECTED}), Dequeued: frozenset({S.IVR}),
                MessageLeft: frozenset({S.RINGING}), CallbackChosen: frozenset({S.RINGING}),
                IvrHungUp: frozenset({S.ENDED}), **_END},
    S.CONNECTED: {Transferred: frozenset({S.TRANSFERRING}), **_END},
    S.TRANSFERRING: {Answered: frozenset({S.CONNECTED}), Enqueued: frozenset({S.QUEUED}), **_END},
    S.DIALLING: {Answered: frozenset({S.CONNECTED}), NotAnswered: frozenset({S.ENDED}), **_END},
    S.ENDED: {},
}
"""state -> event type -> the states it may lead to. docs/telephony.md's call diagram is generated from it."""

INITIAL_STATE = S.NEW
TERMINAL_STATES = frozenset({S.ENDED})
IVR_HANGUP_OUTCOMES = {"blocked": Outcome.BLOCKED, "after_hours": Outcome.AFTER_HOURS,
                       "callback": Outcome.CALLBACK, "error": Outcome.FAILED}
"""How the IVR's HangUp reasons read in the call record (other reasons: the caller's wish, or abandoned)."""


def apply(call: CallLifecycle, event: CallEvent) -> CallLifecycle:
    """The lifecycle after `event`, or `IllegalCallEvent` (the given lifecycle is immutable, so unchanged)."""
    allowed = TRANSITIONS[call.state].get(type(event))
    if allowed is None:
        raise IllegalCallEvent(f"{type(event).__name__} is not allowed when the call is {call.state}")
    after = _HANDLERS.get(type(event), _move)(call, event)
    if after.state not in allowed:  # a handler bug, not a caller error
        raise AssertionError(f"{call.state} -> {after.state} is not in the table")
    return after


def _target(call: CallLifecycle, event: CallEvent) -> CallState:
    (target,) = TRANSITIONS[call.state][type(event)]
    return target


def _move(call: CallLifecycle, event: CallEvent) -> CallLifecycle:
    target = _target(call, event)
    return replace(call, state=target, was_queued=call.was_queued or target is S.QUEUED)


def _wish(outcome: Outcome) -> Callable[[CallLifecycle, CallEvent], CallLifecycle]:
    return lambda call, event: replace(_move(call, event), wish=outcome)


def _case_found(call: CallLifecycle, event: CallEvent) -> CallLifecycle:
    return replace(call, case_found=True)


def _ended(call: CallLifecycle, outcome: Outcome, by: Party) -> CallLifecycle:
    return replace(call, state=S.ENDED, outcome=outcome, hangup_by=by)


def _hung_up(call: CallLifecycle, event: HungUp) -> CallLifecycle:
    """The one place an outcome is decided for a hang-up."""
    if call.state is S.CONNECTED:
        return _ended(call, Outcome.ANSWERED, event.by)
    if call.state is S.DIALLING:
        return _ended(call, Outcome.NO_ANSWER, event.by)
    if call.wish is not None:
        return _ended(call, call.wish, event.by)
    only_query = call.case_found and not call.was_queued
    return _ended(call, Outcome.QUERY if only_query else Outcome.ABANDONED, event.by)


def _ivr_hung_up(call: CallLifecycle, event: IvrHungUp) -> CallLifecycle:
    outcome = call.wish or IVR_HANGUP_OUTCOMES.get(event.reason, Outcome.ABANDONED)
    return _ended(call, outcome, Party.SYSTEM)


_HANDLERS: dict[type, Callable[[CallLifecycle, CallEvent], CallLifecycle]] = {  # type: ignore[dict-item]
    MessageLeft: _wish(Outcome.MESSAGE),
    CallbackChosen: _wish(Outcome.CALLBACK),
    CaseFound: _case_found,
    HungUp: _hung_up,
    IvrHungUp: _ivr_hung_up,
    NotAnswered: lambda call, event: _ended(call, Outcome.NO_ANSWER, event.by),  # type: ignore[attr-defined]
    Failed: lambda call, event: _ended(call, Outcome.FAILED, Party.SYSTEM),
}


def replayed(direction: str, *, queued: bool, answered: bool) -> CallLifecycle:
    """The lifecycle a call had reached by what its row says (after a restart of the runtime): arrived (or
    placed, for calls we make), queued, answered. The adopted call goes on from there, and a call nothing
    is left of ends from there, so its outcome is still decided here."""
    call = apply(CallLifecycle(), Arrived() if direction == "inbound" else Placed())
    if queued and direction == "inbound":
        call = apply(call, Enqueued("adopted"))
    return apply(call, Answered()) if answered else call
