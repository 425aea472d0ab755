"""The lifecycle of one outbox message (SMS to a citizen, internal message to a department or lead).

A due `pending` message is claimed by a delivery sweep (`sending`, with a lease in `next_attempt_at`); the
try ends `sent`, `suppressed` (the number opted out), back in `pending` (rate limited, or failed with tries
left, due again later) or `failed` (tries used up). A message still `sending` after its lease (the sender
died mid-way) is claimed again by a later sweep.
"""

from __future__ import annotations

from enum import StrEnum

from ticketing.notify.domain.lifecycle import Lifecycle


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sweep; `next_attempt_at` holds the lease
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class OutboxEvent(StrEnum):
    CLAIM = "claim"
    LEASE_EXPIRED = "lease_expired"  # claimed again: its sender died before writing the outcome
    SENT = "sent"
    OPTED_OUT = "opted_out"
    RATE_LIMITED = "rate_limited"  # waits for the rate window, without using a try
    RETRY = "retry"  # the channel failed, tries are left
    GIVE_UP = "give_up"  # the channel failed, no tries left


S, E = OutboxState, OutboxEvent

TRANSITIONS: dict[tuple[OutboxState, OutboxEvent], OutboxState] = {
    (S.PENDING, E.CLAIM): S.SENDING,
    (S.SENDING, E.LEASE_EXPIRED): S.SENDING,
    (S.SENDING, E.SENT): S.SENT,
    (S.SENDING, E.OPTED_OUT): S.SUPPRESSED,
    (S.SENDING, E.RATE_LIMITED): S.PENDING,
    (S.SENDING, E.RETRY): S.PENDING,
    (S.SENDING, E.GIVE_UP): S.FAILED,
}

LIFECYCLE = Lifecycle("outbox message", S.PENDING, TRANSITIONS)
TERMINAL = frozenset({S.SENT, S.SUPPRESSED, S.FAILED})


def apply(state: OutboxState, event: OutboxEvent) -> OutboxState:
    """The message's next state, or IllegalTransition (nothing changes)."""
    return LIFECYCLE.apply(state, event)
