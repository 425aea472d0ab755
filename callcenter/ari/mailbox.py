"""Per-key ordered event handling: one mailbox (queue + one worker task) per channel or bridge.

A task per event would let a digit pressed during a prompt overtake the prompt's PlaybackFinished; one
worker per channel keeps each channel's events in arrival order while channels run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[str, T], Awaitable[None]]


class Mailboxes(Generic[T]):
    """Deliver items to `handler(key, item)`, in order per key, concurrently across keys.

    A mailbox's worker exits when its queue has been empty for `idle_s` seconds, so finished channels do
    not leave tasks behind. A handler error is logged and does not stop the mailbox.
    """

    def __init__(self, handler: Handler[T], *, idle_s: float = 30.0) -> None:
        self._handler = handler
        self._idle_s = idle_s
        self._queues: dict[str, asyncio.Queue[T]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def post(self, key: str, item: T) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._tasks[key] = asyncio.create_task(self._work(key, queue), name=f"mailbox-{key}")
        queue.put_nowait(item)

    async def _work(self, key: str, queue: asyncio.Queue[T]) -> None:
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self._idle_s)
                except TimeoutError:
                    if queue.empty():
                        return
                    continue
                try:
                    await self._handler(key, item)
                except Exception:
                    log.exception("handler failed for %s on %r", key, item)
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]
                del self._tasks[key]

    def keys(self) -> list[str]:
        return list(self._queues)

    async def drain(self) -> None:
        """Wait until every queued item has been handled (used by tests and shutdown)."""
        while any(not q.empty() for q in self._queues.values()):
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        self._tasks.clear()
