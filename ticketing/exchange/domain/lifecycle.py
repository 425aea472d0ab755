"""The lifecycle of one outbound exchange message (签收, 退回, 延期申请, 阶段性答复, 办结 to 12345).

A due `pending` message is claimed by the delivery sweep (`sending`, lease in `next_attempt_at`). The try ends
`acked` (the platform confirmed it, or said it already had this message id), back in `pending` (no answer, 5xx
or 429 with tries left; or `wait`: an earlier message of the same work order is not acked yet, which uses no
try), `failed` (tries used up) or `rejected` (the platform refused it as a business error: a person must look).
"""

from __future__ import annotations

from enum import StrEnum

from ticketing.notify.domain.lifecycle import Lifecycle


class OutState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    ACKED = "acked"
    FAILED = "failed"
    REJECTED = "rejected"


class OutEvent(StrEnum):
    CLAIM = "claim"
    LEASE_EXPIRED = "lease_expired"
    ACKED = "acked"
    WAIT = "wait"  # an earlier message of the same work order is still unacknowledged
    RETRY = "retry"
    GIVE_UP = "give_up"
    REJECTED = "rejected"
    RESEND = "resend"  # a person sends a failed or rejected message again


S, E = OutState, OutEvent

TRANSITIONS: dict[tuple[OutState, OutEvent], OutState] = {
    (S.PENDING, E.CLAIM): S.SENDING,
    (S.SENDING, E.LEASE_EXPIRED): S.SENDING,
    (S.SENDING, E.ACKED): S.ACKED,
    (S.SENDING, E.WAIT): S.PENDING,
    (S.SENDING, E.RETRY): S.PENDING,
    (S.SENDING, E.GIVE_UP): S.FAILED,
    (S.SENDING, E.REJECTED): S.REJECTED,
    (S.FAILED, E.RESEND): S.PENDING,
    (S.REJECTED, E.RESEND): S.PENDING,
}

LIFECYCLE = Lifecycle("exchange message", S.PENDING, TRANSITIONS)
DONE = frozenset({S.ACKED})


def apply(state: OutState, event: OutEvent) -> OutState:
    """The message's next state, or IllegalTransition (nothing changes)."""
    return LIFECYCLE.apply(state, event)
