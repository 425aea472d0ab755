"""The lifecycle of one webhook delivery (a signed POST of a case event to a department's system).

A due `pending` delivery is claimed by a sweep (`sending`, with a lease in `next_attempt_at`); a 2xx answer
makes it `delivered`, anything else sends it back to `pending` with a backoff, or to `failed` once the tries
are used up. A delivery still `sending` after its lease (the sender died mid-way) is claimed again.
"""

from __future__ import annotations

from enum import StrEnum

from ticketing.notify.domain.lifecycle import Lifecycle


class WebhookState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sweep; `next_attempt_at` holds the lease
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEvent(StrEnum):
    CLAIM = "claim"
    LEASE_EXPIRED = "lease_expired"  # claimed again: its sender died before writing the outcome
    DELIVERED = "delivered"  # the receiver answered 2xx
    RETRY = "retry"  # no answer or not 2xx, tries are left
    GIVE_UP = "give_up"  # no answer or not 2xx, no tries left


S, E = WebhookState, WebhookEvent

TRANSITIONS: dict[tuple[WebhookState, WebhookEvent], WebhookState] = {
    (S.PENDING, E.CLAIM): S.SENDING,
    (S.SENDING, E.LEASE_EXPIRED): S.SENDING,
    (S.SENDING, E.DELIVERED): S.DELIVERED,
    (S.SENDING, E.RETRY): S.PENDING,
    (S.SENDING, E.GIVE_UP): S.FAILED,
}

LIFECYCLE = Lifecycle("webhook delivery", S.PENDING, TRANSITIONS)
TERMINAL = frozenset({S.DELIVERED, S.FAILED})


def apply(state: WebhookState, event: WebhookEvent) -> WebhookState:
    """The delivery's next state, or IllegalTransition (nothing changes)."""
    return LIFECYCLE.apply(state, event)
