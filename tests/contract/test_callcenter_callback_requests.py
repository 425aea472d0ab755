"""A caller's "call me back" is written to the database by the call runtime itself, through the
CallbackRequests port: a bus that drops every event loses nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from callcenter.call import Call
from callcenter.callback_requests import RequestKind, SqlCallbackRequests
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from config.bootstrap import create_app
from config.settings import Settings
from core.bus import EventBus
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks
from web.keys import ENGINE, NOTIFY_CONFIG, RUNNING


async def test_callback_requests_survive_a_bus_that_drops_everything(db_settings: Settings, clock: Any,
                                                                     aiohttp_client: Any) -> None:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, callback_window=("00:00", "23:59"))
    client = await aiohttp_client(app)
    bus = EventBus(max_backlog=1)
    rt = CallRuntime(TelephonySettings(agent_extensions=("8001",)), client=None, bus=bus,  # type: ignore[arg-type]
                     callback_requests=SqlCallbackRequests(lambda: client.app[RUNNING].notify))
    rt.now = clock  # type: ignore[method-assign]
    waiting = Call("c-waiting", "ch-1", "13800138001", clock())
    leaving = Call("c-message", "ch-2", "13800138002", clock())
    async with bus.subscribe() as stuck:  # a reader that never reads: the bus drops its oldest events
        rt.enqueue(waiting, "agent")
        await rt.to_callback(waiting)
        await rt.request_callback(leaving, RequestKind.MESSAGE, "messages/c-message.wav")
        for n in range(5):
            rt.publish("call", "noise", leaving, n=n)
        assert stuck.qsize() == 1 and (await stuck.get()).kind == "noise"
    async with client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(callbacks).order_by(callbacks.c.call_id))).mappings().all()
    assert [(r["call_id"], r["kind"], r["number"]) for r in rows] == [
        ("c-message", "missed", "13800138002"), ("c-waiting", "queue", "13800138001")]


async def test_without_a_notify_service_a_request_is_logged_not_raised(clock: Any) -> None:
    writer = SqlCallbackRequests(lambda: None)
    rt = CallRuntime(TelephonySettings(), client=None, callback_requests=writer)  # type: ignore[arg-type]
    await rt.request_callback(Call("c1", "ch", "13800138003", clock()), RequestKind.CALLBACK)
