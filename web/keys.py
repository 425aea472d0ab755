"""Typed application keys: what the composition root (config/bootstrap.py) hands the web layer.

Services built before start-up are set once by `web.app.build_app`; those that start with the app (the call
runtime, the loop's NotifyService, call transcription) are filled in by `web.lifecycle` on the mutable
`Running` record, since an aiohttp application's state is frozen once it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.control import CallControl
from callcenter.live_speech import CallSpeech
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from callcenter.trunk_watch import TrunkWatch
from core.bus import EventBus
from ticketing.exchange.service import ExchangeService
from ticketing.geo.service import SqlGeoLocator
from ticketing.geo.settings import GeoSettings
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.services import CaseService
from transcribe.service import SpeechService
from transcribe.settings import SpeechSettings
from web.settings import HttpSettings, Open311Settings, SecuritySettings


class SiteSettings(Protocol):
    """The sections of the root settings (config/settings.py) the web layer reads."""

    @property
    def http(self) -> HttpSettings: ...
    @property
    def security(self) -> SecuritySettings: ...
    @property
    def telephony(self) -> TelephonySettings: ...
    @property
    def speech(self) -> SpeechSettings: ...
    @property
    def geo(self) -> GeoSettings: ...
    @property
    def notify(self) -> NotifySettings: ...
    @property
    def open311(self) -> Open311Settings: ...
    def data_path(self, *parts: str) -> Path: ...


class AppServices(Protocol):
    """What the composition root builds once (config.bootstrap.Services has these fields)."""

    @property
    def settings(self) -> SiteSettings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def bus(self) -> EventBus: ...
    @property
    def cases(self) -> CaseService: ...
    @property
    def geo(self) -> SqlGeoLocator: ...
    @property
    def speech(self) -> SpeechService: ...
    @property
    def exchange(self) -> ExchangeService: ...


@dataclass
class Running:
    """Services that start and stop with the app; None while stopped or when the feature is off."""

    calls: CallRuntime | None = None
    call_control: CallControl | None = None  # the port web and the loop use (callcenter/control.py)
    notify: NotifyService | None = None
    call_speech: CallSpeech | None = None
    trunk: TrunkWatch | None = None  # the carrier trunk's up/down state (callcenter/trunk_watch.py)


SETTINGS = web.AppKey("settings", SiteSettings)
ENGINE = web.AppKey("engine", AsyncEngine)
CASES = web.AppKey("cases", CaseService)
# The one clock of the app (a fake one in tests): token expiry, deadlines, audit times.
CLOCK = web.AppKey("clock", Callable[[], datetime])
# The in-process event bus: case, call, agent and queue events for consoles and wallboards.
BUS = web.AppKey("bus", EventBus)
# The geocoder the case service also uses (one in-memory index).
GEO = web.AppKey("geo", SqlGeoLocator)
SPEECH = web.AppKey("speech", SpeechService)
RUNNING = web.AppKey("running", Running)
# Work orders with the 12345 platform (and other links): inbound, outbound, held messages.
EXCHANGE = web.AppKey("exchange", ExchangeService)
# Tests put a NotifySettings here before start-up to run the loop with other timers than the site's.
NOTIFY_CONFIG = web.AppKey("notify_config", NotifySettings)
