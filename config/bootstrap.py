"""The composition root: builds the engine and services from settings and wires adapters by name.

Nothing connects at import time; `create_app` (web) and the CLI call these functions.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType

from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from core.bus import BusEvent, EventBus
from core.db.engine import create_engine
from ticketing.domain.workflow import CaseEvent
from ticketing.services import CaseService, Locator

log = logging.getLogger("hotline")

# Feature modules that add routes to the web app through `setup(app)`; each is optional so a site can
# run without telephony or speech installed.
WEB_FEATURES = ("web.api.cases", "web.api.reference", "web.api.geo", "web.api.calls",
                "web.api.transcriptions", "callcenter.app", "web.pages", "web.api.photos", "web.api.open311")
WEB_FEATURES += ("web.api.console", "web.live", "web.pages.console", "web.pages.wallboard")  # consoles
WEB_FEATURES += ("ticketing.notify.scheduler", "web.api.notify")  # closing the loop: timers, SMS, callbacks
WEB_FEATURES += ("callcenter.live_speech",)  # call transcription (after callcenter.app)
WEB_FEATURES += ("web.api.evaluation",)  # 综合评价: indicators, scores, drill-down


def engine_for(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url(), echo=settings.database.echo, schema=settings.database.schema_name)


def optional_module(name: str) -> ModuleType | None:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    return importlib.import_module(name) if spec is not None else None


def build_locator(engine: AsyncEngine, settings: Settings) -> Locator | None:
    geo = optional_module("ticketing.geo.service")
    if geo is None or not hasattr(geo, "SqlGeoLocator"):
        return None
    return geo.SqlGeoLocator(engine, settings.geo)  # type: ignore[no-any-return]


def build_case_service(engine: AsyncEngine, settings: Settings, clock: Callable[[], datetime] | None = None,
                       publish: Callable[[CaseEvent], None] | None = None) -> CaseService:
    return CaseService(engine=engine, settings=settings, locator=build_locator(engine, settings),
                       clock=clock or (lambda: datetime.now(UTC)), publish=publish)


def case_event_publisher(bus: EventBus) -> Callable[[CaseEvent], None]:
    """Case events onto the app's bus as topic "case" (kind = event name, e.g. CaseDispatched)."""

    def publish(event: CaseEvent) -> None:
        bus.publish(BusEvent("case", event.name, event.at, {
            "case_no": event.case_no, "from_state": event.from_state.value, "to_state": event.to_state.value,
            "actor": event.actor, **dict(event.payload)}))

    return publish
