"""The web app's one cleanup-context module: what starts with the app and stops with it, in this order.

Speech worker pool, call runtime (ARI, when `telephony.enabled`), the loop (NotifyService: timers and the
case-event subscriber), call transcription (telephony and a speech model both available); on the way down
the reverse order, and the database engine last.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.agent_sessions import AGENT_SESSIONS
from callcenter.app import build_runtime
from callcenter.callback_requests import SqlCallbackRequests
from callcenter.case_lookup import sql_case_lookup
from callcenter.control import AriCallControl
from callcenter.live_speech import build as build_call_speech
from callcenter.live_speech import unavailable
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings
from callcenter.sip_guard import SipGuard
from callcenter.trunk_watch import TrunkWatch
from ticketing.exchange.loop import running_exchange
from ticketing.notify.outbox import OutboxMessage, enqueue
from ticketing.notify.scheduler import running_loop
from ticketing.notify.service import NotifyService
from transcribe.service import SpeechService
from web.keys import BUS, CASES, CLOCK, ENGINE, EXCHANGE, NOTIFY_CONFIG, RUNNING, SETTINGS, SPEECH

log = logging.getLogger("hotline")


def setup_lifecycle(app: web.Application) -> None:
    app.cleanup_ctx.append(_engine)
    app.cleanup_ctx.append(_speech_pool)
    tel = app[SETTINGS].telephony
    if tel.enabled:
        app.cleanup_ctx.append(_telephony)
    app.cleanup_ctx.append(_notify)
    app.cleanup_ctx.append(_bulletins)
    app.cleanup_ctx.append(_exchange)
    if transcribes_calls(tel, app[SPEECH]):
        app.cleanup_ctx.append(_call_speech)


def transcribes_calls(tel: TelephonySettings, speech: SpeechService) -> bool:
    """Calls are transcribed when telephony is on and the speech engine's model is installed."""
    if not tel.enabled:
        return False
    reason = unavailable(speech.settings)
    if reason:
        log.info("calls are not transcribed: %s", reason)
    return reason is None


async def _engine(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[ENGINE].dispose()


async def _speech_pool(app: web.Application) -> AsyncIterator[None]:
    yield
    app[SPEECH].close()  # the model loads on first use; its worker pool closes with the app


async def _telephony(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE]
    # One bus for the whole app: consoles see case, call, agent and queue events on one stream.
    runtime = build_runtime(app[SETTINGS].telephony, SqlCallRecords(engine), bus=app[BUS],
                            case_lookup=sql_case_lookup(engine), sessions=app[AGENT_SESSIONS],
                            callback_requests=SqlCallbackRequests(lambda: app[RUNNING].notify))
    running = app[RUNNING]
    running.calls, running.call_control = runtime, AriCallControl(runtime)
    await runtime.start()
    running.trunk = TrunkWatch(runtime.client, app[SETTINGS].telephony, app[BUS], app[CLOCK],
                               alert=lambda message, at: _alert_lead(engine, message, at))
    running.trunk.start()
    guard = SipGuard(runtime.client, app[SETTINGS].telephony, app[BUS], app[CLOCK])
    guard.start()
    yield
    await guard.stop()
    await running.trunk.stop()
    await runtime.stop()
    running.calls = running.call_control = running.trunk = None


async def _alert_lead(engine: AsyncEngine, message: str, at: datetime) -> None:
    """A trunk outage into the shift lead's inbox (internal message; one per outage by its start time)."""
    await enqueue(engine, OutboxMessage(f"trunk-down:{at.isoformat()}", None, "trunk_down", "internal", "lead",
                                        "lead", message, at))


async def _notify(app: web.Application) -> AsyncIterator[None]:
    cfg = app.get(NOTIFY_CONFIG) or app[SETTINGS].notify
    running = app[RUNNING]
    service = NotifyService(app[ENGINE], app[CASES], cfg, runtime=lambda: running.call_control)
    running.notify = service
    async with running_loop(service, app[BUS], app[CLOCK], cfg):
        yield


async def _bulletins(app: web.Application) -> AsyncIterator[None]:
    """The monthly 通报 (web/reports/schedule.py), on the loop's scheduler switch."""
    from web.api.reports import PUBLISHER
    from web.reports.schedule import running_bulletins

    cfg = app.get(NOTIFY_CONFIG) or app[SETTINGS].notify
    if not cfg.scheduler_enabled or PUBLISHER not in app:
        yield
        return
    async with running_bulletins(app[PUBLISHER], app[CLOCK]):
        yield


async def _exchange(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with running_exchange(app[EXCHANGE], app[CLOCK], lambda name: settings.data_path("exports", name)):
        yield


async def _call_speech(app: web.Application) -> AsyncIterator[None]:
    running = app[RUNNING]
    if running.calls is None:
        yield
        return
    service = build_call_speech(running.calls.ctx, app[SPEECH], app[SETTINGS].telephony)
    running.call_speech = service
    await service.start()
    yield
    await service.stop()
    running.call_speech = None
