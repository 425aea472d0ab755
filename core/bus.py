"""In-process event bus: call, agent and queue events for consoles, wallboards and tests.

Publishing never blocks the call runtime: each subscriber has its own bounded queue, and a subscriber that
falls behind loses its oldest events rather than slowing calls down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class BusEvent:
    topic: str  # "call" | "agent" | "queue"
    kind: str  # e.g. "arrived", "enqueued", "ringing", "answered", "ended", "state_changed"
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class EventBus:
    def __init__(self, max_backlog: int = 1000) -> None:
        self._subscribers: list[asyncio.Queue[BusEvent]] = []
        self._max = max_backlog

    def publish(self, event: BusEvent) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[BusEvent]]:
        """`async with bus.subscribe() as events: event = await events.get()`."""
        queue: asyncio.Queue[BusEvent] = asyncio.Queue(self._max)
        self._subscribers.append(queue)
        try:
            yield queue
        finally:
            self._subscribers.remove(queue)
