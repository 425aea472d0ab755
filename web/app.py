"""The aiohttp application: typed keys from the services the composition root built, routes, lifecycle."""

from __future__ import annotations

from aiohttp import web

from web import live, pages, security
from web.api import (
    calls,
    cases,
    console,
    evaluation,
    exchange,
    geo,
    inspector,
    notify,
    open311,
    photos,
    reference,
    reports,
    sms_inbound,
    tokens,
    transcriptions,
)
from web.api.photos import ExchangePhotoStore
from web.auth import setup_auth
from web.errors import error_middleware
from web.keys import BUS, CASES, CLOCK, ENGINE, EXCHANGE, GEO, RUNNING, SETTINGS, SPEECH, AppServices, Running
from web.lifecycle import setup_lifecycle
from web.pages import console as console_page
from web.pages import inspector as inspector_page
from web.pages import reports as reports_page
from web.pages import wallboard

# Route modules in the order their middlewares nest (pages' error pages, then Open311's own errors).
ROUTES = (cases, reference, geo, calls, transcriptions, pages, photos, open311, console, live, console_page,
          wallboard, notify, evaluation, tokens, reports, reports_page, exchange, sms_inbound, inspector,
          inspector_page)


def build_app(services: AppServices) -> web.Application:
    """Build the web application; the database engine closes in a cleanup context, nothing opens at import."""
    settings = services.settings
    app = web.Application(middlewares=[error_middleware],
                          client_max_size=settings.http.max_body_mb * 1024 * 1024)
    app[SETTINGS] = settings
    app[ENGINE] = services.engine
    app[BUS] = services.bus
    app[CASES] = services.cases
    app[CLOCK] = services.clock
    app[GEO] = services.geo
    app[SPEECH] = services.speech
    app[EXCHANGE] = services.exchange
    services.exchange.image_store = ExchangePhotoStore(app)  # fetched 12345 attachments become photos
    app[RUNNING] = Running()
    setup_auth(app)
    security.setup(app)
    for module in ROUTES:
        module.setup(app)
    setup_lifecycle(app)
    return app
