"""The exchange's timers: poll (per pull link), deliver outbound messages, retry held inbound ones, exports.

Each timer only calls an idempotent step that re-reads the database, so stopping at any moment loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from ticketing.exchange import pull
from ticketing.exchange.attachments import fetch_attachments
from ticketing.exchange.export import load_export_profile, run_export
from ticketing.exchange.service import ExchangeService, deliver_and_settle
from ticketing.exchange.settings import ExportSettings
from ticketing.exchange.upload import Uploader, run_upload

log = logging.getLogger("hotline.exchange")


@asynccontextmanager
async def running_exchange(
    service: ExchangeService, clock: Callable[[], datetime], export_folder: Callable[[str], Path] | None = None
) -> AsyncIterator[None]:
    tasks: list[asyncio.Task[None]] = []
    if service.settings.loop_enabled and export_folder is not None:
        for cfg in service.settings.exports.values():
            if not cfg.enabled:
                continue
            if load_export_profile(cfg.profile).kind == "http":  # upload: daily, and unacknowledged batches retried
                run, retry = _uploader(service, cfg, clock)
                tasks.append(asyncio.create_task(_every(cfg.every_hours * 3600, run)))
                tasks.append(asyncio.create_task(_every(cfg.retry_interval_s, retry)))
                continue
            tasks.append(
                asyncio.create_task(_every(cfg.every_hours * 3600, _exporter(service, cfg, clock, export_folder)))
            )
    if service.settings.loop_enabled and service.links:
        interval = min(link.cfg.deliver_interval_s for link in service.links.values())
        tasks.append(asyncio.create_task(_every(interval, lambda: deliver_and_settle(service, clock()))))
        tasks.append(asyncio.create_task(_every(interval * 6, lambda: service.apply_held(clock()))))
        tasks.append(asyncio.create_task(_every(interval, lambda: fetch_attachments(service, clock()))))
        for name, link in service.links.items():
            if link.cfg.inbound in ("pull", "both"):
                tasks.append(
                    asyncio.create_task(_every(link.cfg.poll_interval_s, lambda n=name: pull.poll(service, n, clock())))
                )
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await service.close()


def _exporter(
    service: ExchangeService, cfg: ExportSettings, clock: Callable[[], datetime], export_folder: Callable[[str], Path]
) -> Callable[[], Awaitable[object]]:
    profile = load_export_profile(cfg.profile)
    folder = Path(cfg.folder) if cfg.folder else export_folder(profile.name)

    async def step() -> object:
        return await run_export(service.engine, await service.cases.reference(), profile, folder, clock())

    return step


def _uploader(
    service: ExchangeService, cfg: ExportSettings, clock: Callable[[], datetime]
) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[object]]]:
    profile = load_export_profile(cfg.profile)

    def uploader() -> Uploader:
        return Uploader(service.engine, profile, cfg, service.session(), service.wall)

    async def run() -> object:
        return await run_upload(uploader(), await service.cases.reference(), clock())

    async def retry() -> object:
        return await run_upload(uploader(), await service.cases.reference(), clock(), only_unfinished=True)

    return run, retry


async def _every(seconds: float, step: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await step()
        except Exception:  # a failed sweep is logged and tried again next time; the data is in the database
            log.exception("exchange sweep failed")
        await asyncio.sleep(seconds)
