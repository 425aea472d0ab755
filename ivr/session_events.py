"""What the telephony runtime tells an IVR session: small frozen events.

Two kinds, and they are treated differently on purpose:
- caller-driven (`Digit`, `CallerHungUp`): the caller can do these at any time, so they are legal in every
  live state; a digit that nobody asked for is ignored (and not recorded in the path);
- runtime-driven (everything else): each answers an action the session emitted (a prompt it asked for
  finished, a recording it started ended, a lookup it requested came back, a timer it armed fired). One that
  does not fit the session's state is a runtime bug and raises `IvrProtocolError`, leaving the session as it
  was. Two races are expected and tolerated, not errors: `PromptFinished` for a prompt that was stopped by
  barge-in, and `Timeout` for a timer that was cancelled or re-armed (its token is stale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DTMF_KEYS = frozenset("0123456789*#")


@dataclass(frozen=True)
class CallStarted:
    """The call is answered and the session may start. `blocked`/`repeat_caller` are facts the runtime
    looked up (blocklist table, recent call records); the flow's own blocklist is checked too."""

    caller: str
    blocked: bool = False
    repeat_caller: bool = False


@dataclass(frozen=True)
class Digit:
    digit: str

    def __post_init__(self) -> None:
        if self.digit not in DTMF_KEYS:
            raise ValueError(f"not a DTMF key: {self.digit!r}")


@dataclass(frozen=True)
class PromptFinished:
    """A `Play` action finished playing (or was stopped): `play_id` is the `Play.play_id`."""

    play_id: str


@dataclass(frozen=True)
class RecordingFinished:
    """A `Record` action ended (terminator, silence, max length). `duration_s` is the recorded length."""

    path: str
    duration_s: float


@dataclass(frozen=True)
class Timeout:
    """A timer armed by `StartTimer(kind, seconds, token)` fired; echo both `kind` and `token`."""

    kind: str
    token: int


@dataclass(frozen=True)
class CaseStatus:
    """A case as the caller may hear it. `state` is the ticketing state value (e.g. "dispatched")."""

    case_no: str
    state: str
    deadline: datetime | None = None


@dataclass(frozen=True)
class CaseStatusLooked:
    """Answer to `LookupCase`: the case, or None when no case has that number."""

    case_no: str
    result: CaseStatus | None


@dataclass(frozen=True)
class QueueInfo:
    """Sent by the runtime while the call waits after `Enqueue`: `ahead` calls will be served first;
    `estimated_wait_s` is None when unknown. Send it when the call is queued and then from time to time."""

    ahead: int
    estimated_wait_s: float | None = None


@dataclass(frozen=True)
class AgentAnswered:
    """An agent picked the queued call up; the IVR is finished with this call."""

    agent_id: str


@dataclass(frozen=True)
class CallerHungUp:
    pass


@dataclass(frozen=True)
class ActionFailed:
    """The runtime could not carry out an action (playback, recording, lookup, enqueue failed)."""

    action: str
    reason: str = ""


IvrEvent = (
    CallStarted
    | Digit
    | PromptFinished
    | RecordingFinished
    | Timeout
    | CaseStatusLooked
    | QueueInfo
    | AgentAnswered
    | CallerHungUp
    | ActionFailed
)
