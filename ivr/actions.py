"""What an IVR session asks the telephony runtime to do: small frozen actions, executed in list order.

Every action is fire-and-forget for the runtime except where an answer event is named:
`Play` → `PromptFinished(play_id)`; `Record` → `RecordingFinished`; `LookupCase` → `CaseStatusLooked`;
`Enqueue` → `QueueInfo` now and then, `AgentAnswered` at the end; `StartTimer` → `Timeout(kind, token)`.
A failure of any of them is reported as `ActionFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.speech import Fragment, prompt_ids


@dataclass(frozen=True)
class Play:
    """Play the fragments one after the other; report `PromptFinished(play_id)` once, at the end.

    `prompt_ids()` expands the fragments into prompt ids (files `ivr/prompts/zh/<id>.wav`, Asterisk media
    `sound:<dir>/<id>`): the runtime needs no knowledge of how Chinese numbers are read.
    """

    play_id: str
    fragments: tuple[Fragment, ...]

    def prompt_ids(self) -> list[str]:
        return prompt_ids(self.fragments)


@dataclass(frozen=True)
class StopPrompts:
    """Stop what is playing and drop queued `Play`s (barge-in); their `PromptFinished` may still arrive."""


@dataclass(frozen=True)
class CollectDigits:
    """Declares that the session now wants up to `max_digits` keys, ended early by `terminator`.

    Informational for the runtime (logs, metrics): it must forward every DTMF key as `Digit` at all times;
    the session buffers the keys itself and arms its own no-input timers with `StartTimer`.
    """

    max_digits: int
    terminator: str | None
    timeout_s: float


@dataclass(frozen=True)
class Record:
    """Record the caller after an optional beep; `#` (the terminator) or `max_seconds` ends it.
    `purpose` is "description", "message" or "survey_reason" (for file naming and retention)."""

    purpose: str
    max_seconds: int = 60
    terminator: str = "#"
    beep: bool = True
    max_silence_seconds: int = 8


@dataclass(frozen=True)
class StartTimer:
    """Arm (or re-arm, replacing the old one) the call's timer of this `kind`; echo the token in `Timeout`."""

    kind: str
    seconds: float
    token: int


@dataclass(frozen=True)
class CancelTimer:
    kind: str


@dataclass(frozen=True)
class LookupCase:
    case_no: str


@dataclass(frozen=True)
class Enqueue:
    """Put the call into the ACD `queue` with `priority`; `reason` says why ("report", "agent", "no_input",
    "invalid_input", "case_query", "direct", "error"). `recording` is the problem description, if any."""

    queue: str
    priority: int
    reason: str
    ivr_path: str
    recording: str | None = None


@dataclass(frozen=True)
class Dequeue:
    """Take the call out of its queue (the caller hung up or chose a callback instead)."""

    reason: str


@dataclass(frozen=True)
class RequestCallback:
    """The waiting caller accepted the callback offer: turn its queue entry into a callback to `number`
    that keeps its place (`callcenter.acd.Queue.to_callback`), then the session hangs up."""

    number: str
    queue: str
    ivr_path: str
    keep_place: bool = True


@dataclass(frozen=True)
class LeaveMessage:
    """Store a voice message (after hours) and schedule a callback to `number` for the next service period."""

    number: str
    path: str
    duration_s: float
    reason: str
    ivr_path: str


@dataclass(frozen=True)
class StoreSurveyAnswer:
    """The answer of a satisfaction survey. `answer` is "satisfied", "basically_satisfied",
    "dissatisfied", or None when the callee gave none (`reason` then says why: "no_input", "hung_up")."""

    case_no: str
    answer: str | None
    ivr_path: str
    reason_recording: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class HangUp:
    reason: str
    ivr_path: str


IvrAction = (
    Play
    | StopPrompts
    | CollectDigits
    | Record
    | StartTimer
    | CancelTimer
    | LookupCase
    | Enqueue
    | Dequeue
    | RequestCallback
    | LeaveMessage
    | StoreSurveyAnswer
    | HangUp
)
