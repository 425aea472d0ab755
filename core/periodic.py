"""A step run again and again on a period, in its own task: the SIP guard, the trunk watch, the exchange sweeps.

A failing step is logged and tried again at the next period — one bad step (a bug, a database restart) must never
end the loop that later steps depend on. Cancelling the task (`Periodic.stop`) is the only way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[object]]


async def every(period_s: float, step: Step, what: str) -> NoReturn:
    """Run `step` now and then every `period_s` seconds after it ends; a failure is logged (as `what`)."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; tried again in %s s", what, period_s)
        await asyncio.sleep(period_s)


class Periodic:
    """`every` as a task that is started once and stopped (awaited) on shutdown."""

    def __init__(self, period_s: float, step: Step, what: str) -> None:
        self.period_s, self.step, self.what = period_s, step, what
        self._task: asyncio.Task[NoReturn] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(every(self.period_s, self.step, self.what), name=self.what)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
