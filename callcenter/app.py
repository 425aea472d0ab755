"""Wire the call runtime into the aiohttp application (composition for telephony).

`setup(app)` adds a cleanup context that connects our ARI application when `settings.telephony.enabled`
and registers the runtime as `app[SERVICES]["calls"]` for the API (web/api/calls.py) and other features
(callbacks, SMS). The runtime publishes on the app-wide bus and answers the IVR's progress queries from
the case tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.ari.client import AriClient
from callcenter.case_lookup import CaseLookup, sql_case_lookup
from callcenter.records import SqlCallRecords
from callcenter.rig.confgen import ari_password
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from core.bus import EventBus

SERVICE_NAME = "calls"


def build_runtime(tel: TelephonySettings, records: SqlCallRecords | None, *, bus: EventBus | None = None,
                  case_lookup: CaseLookup | None = None) -> CallRuntime:
    client = AriClient(tel.ari_url, tel.ari_user, ari_password(tel), tel.app_name)
    return CallRuntime(tel, client, records=records, bus=bus, case_lookup=case_lookup)


def setup(app: web.Application) -> None:
    from web.keys import BUS, ENGINE, SERVICES, SETTINGS  # the web layer owns its keys

    tel: TelephonySettings = app[SETTINGS].telephony
    if not tel.enabled:
        return

    async def telephony(app: web.Application) -> AsyncIterator[None]:
        engine = app[ENGINE]
        # One bus for the whole app: consoles see case, call, agent and queue events on one stream.
        runtime = build_runtime(tel, SqlCallRecords(engine), bus=app[BUS], case_lookup=sql_case_lookup(engine))
        app[SERVICES][SERVICE_NAME] = runtime
        await runtime.start()
        yield
        await runtime.stop()
        app[SERVICES].pop(SERVICE_NAME, None)

    app.cleanup_ctx.append(telephony)
