"""The call runtime's durable "call me back" requests: a port, and its SQL writer.

A waiting caller who chooses a callback (keeping their place) or leaves a voice message must never be lost.
The runtime therefore writes the request through `CallbackRequests` *before* it publishes anything; the bus
event that follows only wakes readers (consoles, the notify subscriber, which finds the row already there).
`SqlCallbackRequests` stores it as the notify feature's `callbacks` row (one per call id, kind `queue` or
`missed`, due at once or at the next opening of the calling window).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ticketing.notify import call_requests
from ticketing.notify.service import NotifyService

log = logging.getLogger(__name__)


class RequestKind(StrEnum):
    CALLBACK = "callback_requested"  # keep my place in the queue and call me back
    MESSAGE = "message_left"  # I left a voice message: call me back


@dataclass(frozen=True)
class CallbackRequest:
    kind: RequestKind
    call_id: str
    caller: str
    arrived_at: datetime
    recording: str | None = None


class CallbackRequests(Protocol):
    async def request(self, request: CallbackRequest, now: datetime) -> None:
        """Store the request durably; never raises (a failure is logged, the call goes on)."""


class SqlCallbackRequests:
    """Writes requests as `callbacks` rows through the notify service (looked up when a request comes,
    because the service starts in its own cleanup context)."""

    def __init__(self, service: Callable[[], NotifyService | None]) -> None:
        self.service = service

    async def request(self, request: CallbackRequest, now: datetime) -> None:
        service = self.service()
        if service is None:
            log.warning("callback request for call %s: no notify service, only the call record keeps it",
                        request.call_id)
            return
        data = {"call_id": request.call_id, "caller": request.caller,
                "arrived_at": request.arrived_at.isoformat(), "recording": request.recording}
        try:
            await call_requests.store_request(service, request.kind.value, data, now)
        except Exception:
            log.exception("callback request for call %s could not be stored", request.call_id)
