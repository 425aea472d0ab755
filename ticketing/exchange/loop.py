"""The exchange's timers: poll (per pull link), deliver outbound messages, retry held inbound ones, exports.

Each timer only calls an idempotent step that re-reads the database, so stopping at any moment loses nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from core.periodic import Periodic
from ticketing.exchange import pull
from ticketing.exchange.attachments import fetch_attachments
from ticketing.exchange.export import load_export_profile, run_export
from ticketing.exchange.service import ExchangeService, deliver_and_settle
from ticketing.exchange.settings import ExportSettings
from ticketing.exchange.upload import Uploader, run_upload


@asynccontextmanager
async def running_exchange(
    service: ExchangeService, clock: Callable[[], datetime], export_folder: Callable[[str], Path] | None = None
) -> AsyncIterator[None]:
    loops: list[Periodic] = []
    if service.settings.loop_enabled and export_folder is not None:
        for key, cfg in service.settings.exports.items():
            if not cfg.enabled:
                continue
            if load_export_profile(cfg.profile).kind == "http":  # upload: daily, and unacknowledged batches retried
                run, retry = _uploader(service, cfg, clock)
                loops.append(Periodic(cfg.every_hours * 3600, run, f"exchange upload {key}"))
                loops.append(Periodic(cfg.retry_interval_s, retry, f"exchange upload retry {key}"))
                continue
            loops.append(Periodic(cfg.every_hours * 3600, _exporter(service, cfg, clock, export_folder),
                                  f"exchange export {key}"))
    if service.settings.loop_enabled and service.links:
        interval = min(link.cfg.deliver_interval_s for link in service.links.values())
        loops.append(Periodic(interval, lambda: deliver_and_settle(service, clock()), "exchange delivery"))
        loops.append(Periodic(interval * 6, lambda: service.apply_held(clock()), "exchange held messages"))
        loops.append(Periodic(interval, lambda: fetch_attachments(service, clock()), "exchange attachments"))
        for name, link in service.links.items():
            if link.cfg.inbound in ("pull", "both"):
                loops.append(Periodic(link.cfg.poll_interval_s, lambda n=name: pull.poll(service, n, clock()),
                                      f"exchange pull {name}"))
    for loop in loops:
        loop.start()
    try:
        yield
    finally:
        for loop in loops:
            await loop.stop()
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

