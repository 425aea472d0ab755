"""The lifecycle of one callback row (回访 survey, queue or missed-call callback): one transition table.

A due `pending` row is claimed by a sweep and dialled (`calling`, with a lease in `due_at`). When the call
ends — the runtime reports an answer or none, the originate fails, or a later sweep finds the lease run out —
the row moves to `deciding` with the answer and a new lease (exactly one reporter wins that compare-and-set),
and the decision moves it on: another try (`pending`), `answered`, an SMS survey (`sms`) or `failed`; a row still
`deciding` after its lease (the process died while writing the outcome) is decided again from the stored
answer. Without telephony a claimed row goes straight to `sms` or `failed`; a survey whose case was reopened
meanwhile is `cancelled`.
"""

from __future__ import annotations

from enum import StrEnum

from ticketing.notify.domain.lifecycle import Lifecycle


class CallbackState(StrEnum):
    PENDING = "pending"  # waiting for its due time (in the calling window)
    CALLING = "calling"  # claimed and dialled; `due_at` holds the lease
    DECIDING = "deciding"  # the call ended (answer stored); the outcome is being written; `due_at` holds the lease
    ANSWERED = "answered"
    SMS = "sms"  # no call got through: the SMS survey was sent instead
    FAILED = "failed"
    CANCELLED = "cancelled"  # the case was reopened before its survey call


class CallbackEvent(StrEnum):
    CLAIM = "claim"  # a sweep takes a due row and dials it
    LEASE_EXPIRED = "lease_expired"  # a sweep takes a row whose lease ran out (its dialler or decider died)
    CALL_ENDED = "call_ended"  # answer or none reported, the originate failed, or the lease ran out
    RETRY = "retry"  # nobody answered, tries are left
    ANSWER = "answer"  # the answer is recorded (and the case rated / reopened)
    SMS_SURVEY = "sms_survey"  # no call (more) possible: the survey goes out by SMS
    GIVE_UP = "give_up"  # no call (more) possible and no SMS: an agent calls back by hand
    CANCEL = "cancel"  # the case is no longer closed: no survey


S, E = CallbackState, CallbackEvent

TRANSITIONS: dict[tuple[CallbackState, CallbackEvent], CallbackState] = {
    (S.PENDING, E.CLAIM): S.CALLING,
    (S.CALLING, E.LEASE_EXPIRED): S.CALLING,
    (S.CALLING, E.CALL_ENDED): S.DECIDING,
    (S.CALLING, E.SMS_SURVEY): S.SMS,
    (S.CALLING, E.GIVE_UP): S.FAILED,
    (S.CALLING, E.CANCEL): S.CANCELLED,
    (S.DECIDING, E.LEASE_EXPIRED): S.DECIDING,
    (S.DECIDING, E.RETRY): S.PENDING,
    (S.DECIDING, E.ANSWER): S.ANSWERED,
    (S.DECIDING, E.SMS_SURVEY): S.SMS,
    (S.DECIDING, E.GIVE_UP): S.FAILED,
}

LIFECYCLE = Lifecycle("callback", S.PENDING, TRANSITIONS)
TERMINAL = frozenset({S.ANSWERED, S.SMS, S.FAILED, S.CANCELLED})


def apply(state: CallbackState, event: CallbackEvent) -> CallbackState:
    """The callback's next state, or IllegalTransition (nothing changes)."""
    return LIFECYCLE.apply(state, event)
