"""Live updates for consoles and wallboards: the app's event bus over a websocket at /ws.

The socket is authenticated like any page (session cookie, or a bearer token for scripts) and filtered by
role: an agent receives its own calls and agent state, queue movements and case events; leads, dispatchers
and admins receive everything; department users receive case events of their department only. Callers'
numbers are masked for roles that may not see them. A client may send {"type": "ping", "t": ...} and gets
{"type": "pong", "t": ...} back (the benchmark's round-trip baseline; browsers cannot send ping frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from callcenter.agent_sessions import AGENT_SESSIONS
from core.accounts import User
from core.bus import BusEvent
from core.privacy import phone_for
from web.auth import current_user
from web.keys import BUS
from web.security import same_origin

log = logging.getLogger(__name__)
EVERYTHING = frozenset({"lead", "dispatcher", "admin"})
SOCKETS = web.AppKey("live_sockets", set[web.WebSocketResponse])


def visible(event: BusEvent, user: User, extension: str | None, calls: set[str]) -> bool:
    """Whether this user may receive this event (pure but for `calls`: the ids of calls offered to this
    agent's extension, collected as their events pass, so speech events of those calls follow them)."""
    role = user.role.value
    if role in EVERYTHING:
        return True
    if event.topic == "case":
        return role == "agent" or (role == "department" and event.data.get("department") == user.department_code)
    if role != "agent":
        return False
    if event.topic == "queue":
        return True
    call_id = event.data.get("call_id")
    if extension is not None and event.data.get("agent_id") == extension:
        if event.topic == "call" and call_id:
            calls.add(call_id)
            if len(calls) > 100:  # an agent handles a few calls an hour; keep the set small
                calls.discard(next(iter(calls)))
        return True
    return event.topic in ("speech", "transcript") and call_id in calls


def encode(event: BusEvent, user: User) -> str:
    data = dict(event.data)
    if "caller" in data:
        data["caller"] = phone_for(user.role, data["caller"])
    return json.dumps({"type": "event", "topic": event.topic, "kind": event.kind, "at": event.at.isoformat(),
                       "data": data}, ensure_ascii=False, default=str)


async def live_socket(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(text="需要登录")
    if not same_origin(request):  # a page of another site must not read a logged-in user's live events
        raise web.HTTPForbidden(text="来源不明的连接（Origin 不符）")
    ws = web.WebSocketResponse(heartbeat=25, max_msg_size=64 * 1024)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    await ws.send_str(json.dumps({"type": "hello", "user": user.username, "role": user.role.value}))
    try:
        async with request.app[BUS].subscribe() as events:
            pump = asyncio.create_task(_pump(request.app, ws, user, events))
            try:
                await _read(ws)
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
    finally:
        request.app[SOCKETS].discard(ws)
    return ws


async def _pump(app: web.Application, ws: web.WebSocketResponse, user: User,
                events: asyncio.Queue[BusEvent]) -> None:
    calls: set[str] = set()
    sessions = app[AGENT_SESSIONS]
    await sessions.load()
    while not ws.closed:
        event = await events.get()
        if visible(event, user, sessions.extension_of(user.username) or user.extension, calls):
            try:
                await ws.send_str(encode(event, user))
            except (ConnectionError, RuntimeError):
                return


async def _read(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            data: Any = json.loads(msg.data)
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("type") == "ping":
            await ws.send_str(json.dumps({"type": "pong", "t": data.get("t")}))


async def _close_all(app: web.Application) -> None:
    for ws in list(app[SOCKETS]):
        await ws.close(code=1001, message=b"server shutdown")


def setup(app: web.Application) -> None:
    app[SOCKETS] = set()
    app.router.add_get("/ws", live_socket)
    app.on_shutdown.append(_close_all)
