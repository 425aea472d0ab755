"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from config.bootstrap import WEB_FEATURES, build_case_service, case_event_publisher, engine_for, optional_module
from config.settings import Settings
from core.bus import EventBus
from web.auth import setup_auth
from web.errors import error_middleware
from web.keys import BUS, CASES, CLOCK, ENGINE, SERVICES, SETTINGS


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> web.Application:
    """Build the web application; the database engine opens in a cleanup context, not at import."""
    app = web.Application(middlewares=[error_middleware],
                          client_max_size=settings.http.max_body_mb * 1024 * 1024)
    app[SETTINGS] = settings
    app[SERVICES] = {}
    engine = engine_for(settings)
    app[ENGINE] = engine
    app[BUS] = EventBus()
    app[CASES] = build_case_service(engine, settings, clock, publish=case_event_publisher(app[BUS]))
    app[CLOCK] = app[CASES].clock
    setup_auth(app)

    async def dispose_engine(app: web.Application) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app.cleanup_ctx.append(dispose_engine)
    for name in WEB_FEATURES:
        module = optional_module(name)
        if module is not None and hasattr(module, "setup"):
            module.setup(app)
    return app
