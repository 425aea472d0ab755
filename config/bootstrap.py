"""The composition root: the one place that builds the engine and the services from the settings.

`build_services` makes a `Services` record; `create_app` hands it to the web layer (web.app.build_app), the
CLI uses the same builders. Nothing connects at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from core.bus import BusEvent, EventBus
from core.clock import Clock, utc_now
from core.db.engine import create_engine
from ticketing.domain.workflow import CaseEvent
from ticketing.exchange.service import ExchangeService
from ticketing.geo.service import SqlGeoLocator
from ticketing.services import CaseService
from transcribe.repository import SqlTranscriptRepository
from transcribe.service import SpeechService, default_understander
from web.app import build_app


@dataclass(frozen=True)
class Services:
    """Everything the web app and the CLI share, built once from the settings."""

    settings: Settings
    engine: AsyncEngine
    clock: Clock
    bus: EventBus
    geo: SqlGeoLocator
    cases: CaseService
    speech: SpeechService
    exchange: ExchangeService


def engine_for(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url(), echo=settings.database.echo, schema=settings.database.schema_name)


def build_locator(engine: AsyncEngine, settings: Settings) -> SqlGeoLocator:
    return SqlGeoLocator(engine, settings.geo)


def build_case_service(engine: AsyncEngine, settings: Settings, clock: Clock | None = None,
                       publish: Callable[[CaseEvent], None] | None = None,
                       locator: SqlGeoLocator | None = None) -> CaseService:
    return CaseService(engine=engine, settings=settings, locator=locator or build_locator(engine, settings),
                       clock=clock or utc_now, publish=publish)


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    engine = engine_for(settings)
    bus = EventBus()
    geo = build_locator(engine, settings)
    cases = build_case_service(engine, settings, clock, publish=case_event_publisher(bus), locator=geo)
    speech = SpeechService(settings.speech, understander=default_understander(settings.speech, geo),
                           repository=SqlTranscriptRepository(engine))
    exchange = ExchangeService(engine, cases, settings.exchange)
    cases.hooks.append(exchange.on_command)  # outbound 12345 messages commit with the case command
    return Services(settings, engine, cases.clock, bus, geo, cases, speech, exchange)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The web application (API, pages, consoles, telephony when enabled) over freshly built services."""
    return build_app(build_services(settings, clock))


def case_event_publisher(bus: EventBus) -> Callable[[CaseEvent], None]:
    """Case events onto the app's bus as topic "case" (kind = event name, e.g. CaseDispatched)."""

    def publish(event: CaseEvent) -> None:
        bus.publish(BusEvent("case", event.name, event.at, {
            "case_no": event.case_no, "from_state": event.from_state.value, "to_state": event.to_state.value,
            "actor": event.actor, **dict(event.payload)}))

    return publish
