"""The monthly 通报's timer: an APScheduler job that runs the publisher's idempotent sweep every hour.

The sweep re-reads the archive and the working calendar each time (nothing correct depends on the timer):
on the first working day of a month — or at the first run after it, if the service was down — last month's
通报 is generated and archived once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from web.reports.archive import Publisher

log = logging.getLogger("hotline.reports")
INTERVAL_S = 3600
# The first run waits a little after start-up: rendering a PDF should not compete with a starting service (nor
# run in every short-lived test app); a due 通报 is still published within minutes of a start.
START_DELAY_S = 300


@asynccontextmanager
async def running_bulletins(
    publisher: Publisher, clock: Callable[[], datetime], interval_s: int = INTERVAL_S, delay_s: int = START_DELAY_S
) -> AsyncIterator[AsyncIOScheduler]:
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def job() -> None:
        try:
            done = await publisher.sweep(clock())
            if done is not None:
                log.info("published %s (%s)", done["title"], done["sha256"][:12])
        except Exception:  # retried at the next run; a failure must not stop the scheduler
            log.exception("monthly bulletin failed")

    scheduler.add_job(
        job,
        "interval",
        seconds=interval_s,
        id="bulletins",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=delay_s),
    )
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
