"""Delivery decisions shared by the outbox and webhooks: backoff, giving up, rate limits, de-duplication."""

from __future__ import annotations

from datetime import datetime, timedelta


def backoff(attempts: int, base_s: float, max_s: float) -> timedelta:
    """Delay before the next try after `attempts` failed tries: base·2^(attempts-1), capped at max_s."""
    if attempts < 1:
        return timedelta(0)
    return timedelta(seconds=min(max_s, base_s * 2 ** min(attempts - 1, 30)))


def next_attempt(now: datetime, attempts: int, max_attempts: int, base_s: float, max_s: float) -> datetime | None:
    """When to try again after a failure, or None when `attempts` has used up the allowance (give up)."""
    if attempts >= max_attempts:
        return None
    return now + backoff(attempts, base_s, max_s)


def rate_limited(sent_in_window: int, limit: int) -> bool:
    """A number that already got `limit` messages in the window gets no more until the window slides."""
    return sent_in_window >= limit


def dedup_key(case_no: str | None, event: str, recipient: str) -> str:
    """One message per case, event and recipient, whoever enqueues it and however often."""
    return f"{case_no or '-'}:{event}:{recipient}"[:200]
