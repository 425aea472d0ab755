"""Callback requests from the call runtime, made durable.

The runtime publishes on the app bus (topic "queue") when a waiting caller chooses a callback that keeps
their place (`callback_requested`) or a caller leaves a voice message (`message_left`); data: `call_id`,
`caller`, `arrived_at` (ISO), and `recording` for messages. Each becomes one `callbacks` row per call id
(kind `queue` or `missed`), due at once or at the next opening of the calling window. The callbacks sweep
then hands it to the runtime's `start_callback`, which puts it back in its queue place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.bus import BusEvent
from core.privacy import mask_phone
from ticketing.notify.service import NotifyService
from ticketing.notify.tables import callbacks

log = logging.getLogger("hotline.notify")
TOPIC = "queue"
KINDS = {"callback_requested": "queue", "message_left": "missed"}  # bus event kind -> callback kind
DIALABLE = re.compile(r"^\+?\d{3,20}$")


def is_call_request(event: BusEvent) -> bool:
    return event.topic == TOPIC and event.kind in KINDS


async def handle(service: NotifyService, event: BusEvent, now: datetime) -> bool:
    """Store one request from the bus; True when a new callback row was written. Never raises: a failure
    is logged (the caller's request stays in the call record's events for an agent)."""
    service.busy = True
    try:
        return await store_request(service, event.kind, event.data, now) is not None
    except Exception:
        log.exception("callback request %s for call %s could not be stored", event.kind, event.data.get("call_id"))
        return False
    finally:
        service.busy = False


async def store_request(service: NotifyService, kind: str, data: Mapping[str, Any], now: datetime) -> int | None:
    """Schedule the callback for one request; None when the call has one already or cannot be dialled."""
    call_id, number = str(data.get("call_id") or ""), str(data.get("caller") or "")
    if not call_id or not DIALABLE.match(number):
        log.warning("callback request %s for call %r from %r ignored: no call id or number", kind, call_id,
                    mask_phone(number))
        return None
    if await has_callback(service, call_id):
        return None
    return await service.schedule_callback(KINDS[kind], number, now, call_id=call_id)


async def has_callback(service: NotifyService, call_id: str) -> bool:
    """One callback per call: a caller who chose a callback and then also left a message gets one call."""
    async with service.engine.connect() as conn:
        found = await conn.execute(select(callbacks.c.id).where(callbacks.c.call_id == call_id).limit(1))
        return found.first() is not None
