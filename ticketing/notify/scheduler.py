"""The loop's timers (APScheduler, AsyncIOScheduler) and the case-event subscriber, run by `running_loop`.

The web app's lifecycle (web/lifecycle.py) builds the NotifyService and runs it inside `running_loop`, which
subscribes to the bus for case events and runs the sweeps at intervals. The jobs only call idempotent sweeps
that re-read the database, so stopping the app at any moment loses nothing: the next start catches up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.bus import BusEvent, EventBus
from core.db.engine import is_unavailable
from ticketing.notify import call_requests
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings

log = logging.getLogger("hotline.notify")
STOP_GRACE_S = 10.0


@asynccontextmanager
async def running_loop(service: NotifyService, bus: EventBus, clock: Callable[[], datetime],
                       cfg: NotifySettings) -> AsyncIterator[None]:
    """Run the sweeps and the case-event subscriber while the block runs; stop them gently after."""
    jobs = _Jobs()
    scheduler = _scheduler(service, cfg, clock, jobs) if cfg.scheduler_enabled else None
    async with bus.subscribe() as queue:
        service.inbox = queue
        subscriber = asyncio.create_task(_consume(queue, service, clock, scheduler))
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            await _stop(scheduler, jobs, subscriber, service)


class _Jobs:
    """Jobs in flight, so shutdown lets them finish instead of cancelling them inside a database call."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()
        self.stopping = False


async def _stop(scheduler: AsyncIOScheduler | None, jobs: _Jobs, subscriber: asyncio.Task[None],
                service: NotifyService) -> None:
    jobs.stopping = True
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    try:  # events already published are handled (or replayed by the next start's catch-up)
        await asyncio.wait_for(service.settled(), STOP_GRACE_S)
    except TimeoutError:
        log.warning("notify: stopping with case events still queued; the catch-up will replay them")
    if jobs.running:
        await asyncio.wait(set(jobs.running), timeout=STOP_GRACE_S)
    subscriber.cancel()
    await asyncio.gather(subscriber, *jobs.running, return_exceptions=True)
    await service.close()


def _scheduler(service: NotifyService, cfg: NotifySettings, clock: Callable[[], datetime],
               jobs: _Jobs) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    specs: list[tuple[str, Callable[[datetime], Awaitable[Any]], int]] = [
        ("deadlines", service.sweep_deadlines, cfg.deadline_interval_s),
        ("outbox", service.deliver_outbox, cfg.outbox_interval_s),
        ("webhooks", service.deliver_webhooks, cfg.outbox_interval_s),
        ("callbacks", service.run_due_callbacks, cfg.callbacks_interval_s),
        ("catch_up", service.catch_up, max(cfg.deadline_interval_s, 300)),
    ]
    for name, step, seconds in specs:
        scheduler.add_job(_guarded(name, step, clock, jobs), "interval", seconds=seconds, id=name, max_instances=1,
                          coalesce=True, next_run_time=datetime.now(UTC))
    return scheduler


def _guarded(name: str, step: Callable[[datetime], Awaitable[Any]], clock: Callable[[], datetime],
             jobs: _Jobs) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        task = asyncio.current_task()
        if jobs.stopping or task is None:
            return
        jobs.running.add(task)
        try:
            await step(clock())
        except Exception as exc:  # a failed sweep is retried at the next interval; it must not stop the scheduler
            if is_unavailable(exc):  # a database restart: one line per job, not a traceback every interval
                log.warning("notify job %s skipped, database unavailable: %s", name, type(exc).__name__)
            else:
                log.exception("notify job %s failed", name)
        finally:
            jobs.running.discard(task)
    return job


async def _consume(queue: asyncio.Queue[BusEvent], service: NotifyService, clock: Callable[[], datetime],
                   scheduler: AsyncIOScheduler | None) -> None:
    while True:
        event = await queue.get()
        if call_requests.is_call_request(event):  # a caller asked for a callback: dial it when due
            if await call_requests.handle(service, event, clock()) and scheduler is not None:
                scheduler.modify_job("callbacks", next_run_time=datetime.now(UTC))
            continue
        if event.topic != "case":
            continue
        service.busy = True
        try:
            queued = await service.on_case_event(event.kind, event.data, event.at, clock())
        except Exception as exc:  # the catch-up sweep replays history, so one failure here is repaired later
            if is_unavailable(exc):
                log.warning("notify reaction to %s postponed, database unavailable", event.kind)
            else:
                log.exception("notify reaction to %s failed", event.kind)
            continue
        finally:
            service.busy = False
        if queued and scheduler is not None:  # wake the senders only when there may be something to send
            for job_id in ("outbox", "webhooks"):
                scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
