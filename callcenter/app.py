"""Wire the call runtime into the aiohttp application (composition for telephony).

`setup(app)` adds a cleanup context that connects our ARI application when `settings.telephony.enabled`
and registers the runtime as `app[SERVICES]["calls"]` for the API (web/api/calls.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.ari.client import AriClient
from callcenter.records import SqlCallRecords
from callcenter.rig.confgen import ari_password
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings

SERVICE_NAME = "calls"


def build_runtime(tel: TelephonySettings, records: SqlCallRecords | None) -> CallRuntime:
    client = AriClient(tel.ari_url, tel.ari_user, ari_password(tel), tel.app_name)
    return CallRuntime(tel, client, records=records)


def setup(app: web.Application) -> None:
    from web.keys import ENGINE, SERVICES, SETTINGS  # the web layer owns its keys

    tel: TelephonySettings = app[SETTINGS].telephony
    if not tel.enabled:
        return

    async def telephony(app: web.Application) -> AsyncIterator[None]:
        runtime = build_runtime(tel, SqlCallRecords(app[ENGINE]))
        app[SERVICES][SERVICE_NAME] = runtime
        await runtime.start()
        yield
        await runtime.stop()
        app[SERVICES].pop(SERVICE_NAME, None)

    app.cleanup_ctx.append(telephony)
