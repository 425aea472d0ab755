"""Callback requests from the call runtime (bus topic "queue") become one durable callbacks row per call, on
SQLite and PostgreSQL, and are handed to the runtime's start_callback when due."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from config.bootstrap import create_app
from config.settings import Settings
from core.bus import BusEvent
from tests.dates import callable_at, naive_utc, next_local
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks
from web.keys import BUS, CASES, ENGINE, NOTIFY_CONFIG, RUNNING

pytestmark = pytest.mark.dates


@dataclass
class FakeCallbackRuntime:
    """Plays the call runtime's start_callback; the test answers for the citizen."""

    started: list[dict[str, Any]] = field(default_factory=list)

    async def start_callback(self, *, callback_id: int, number: str, call_id: str | None,
                             on_answer: Callable[[int, int | None, str | None], Awaitable[None]]) -> None:
        self.started.append({"callback_id": callback_id, "number": number, "call_id": call_id,
                             "on_answer": on_answer})

    async def answer(self, answer: int | None) -> None:
        last = self.started[-1]
        await last["on_answer"](last["callback_id"], answer, None)


async def start(db_settings: Settings, clock: Any, aiohttp_client: Any,
                runtime: FakeCallbackRuntime) -> TestClient:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False)
    app[RUNNING].call_control = runtime
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def svc(client: TestClient) -> NotifyService:
    service = client.app[RUNNING].notify
    assert service is not None
    return service


def in_window(client: TestClient, at: datetime) -> datetime:
    return callable_at(svc(client), at)


async def publish(client: TestClient, kind: str, call_id: str, caller: str = "13800138301", **extra: Any) -> None:
    now = client.app[CASES].clock()
    arrived = (now - timedelta(minutes=2)).isoformat()  # the caller waited two minutes in the queue
    data = {"call_id": call_id, "caller": caller, "channel_id": f"ch-{call_id}", "arrived_at": arrived, **extra}
    client.app[BUS].publish(BusEvent("queue", kind, now, data))
    await svc(client).settled()


async def rows(client: TestClient) -> list[dict[str, Any]]:
    async with client.app[ENGINE].connect() as conn:
        result = await conn.execute(select(callbacks).order_by(callbacks.c.id))
        return [dict(r) for r in result.mappings()]


async def test_a_callback_request_becomes_one_queue_callback_due_now_or_when_the_window_opens(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, FakeCallbackRuntime())
    await publish(client, "callback_requested", "call-a")
    await publish(client, "callback_requested", "call-a")  # the same request twice (a replay)
    await publish(client, "message_left", "call-a", recording="message-call-a-1")  # and a message after it
    [row] = await rows(client)
    assert (row["kind"], row["number"], row["call_id"], row["state"]) == ("queue", "13800138301", "call-a",
                                                                          "pending")
    assert row["due_at"] == naive_utc(in_window(client, clock()))


async def test_a_message_left_after_hours_is_due_when_the_calling_window_opens(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, FakeCallbackRuntime())
    tz = svc(client).tz
    clock.now = next_local(clock(), time(22, 0), tz)  # the window (09:00-20:00) is closed
    await publish(client, "message_left", "call-b", recording="message-call-b-1")
    [row] = await rows(client)
    assert (row["kind"], row["call_id"]) == ("missed", "call-b")
    morning = datetime.combine(clock().astimezone(tz).date() + timedelta(days=1), svc(client).window[0], tz)
    assert row["due_at"] == naive_utc(morning)  # 09:00 the next morning


async def test_requests_without_a_dialable_number_or_other_topics_are_ignored(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, FakeCallbackRuntime())
    await publish(client, "callback_requested", "call-c", caller="anonymous")
    client.app[BUS].publish(BusEvent("call", "callback_requested", clock(), {"call_id": "call-d",
                                                                            "caller": "13800138302"}))
    await svc(client).settled()
    assert await rows(client) == []


async def test_the_due_callback_goes_to_start_callback_and_the_answer_closes_it(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    runtime = FakeCallbackRuntime()
    client = await start(db_settings, clock, aiohttp_client, runtime)
    await publish(client, "callback_requested", "call-e")
    await publish(client, "callback_requested", "call-f", caller="13800138303")
    clock.now = in_window(client, clock())
    assert await svc(client).run_due_callbacks(clock()) == 2
    assert [(s["call_id"], s["number"]) for s in runtime.started] == [("call-e", "13800138301"),
                                                                       ("call-f", "13800138303")]
    await runtime.answer(None)  # call-f: nobody answered, retried later
    first = runtime.started[0]
    await first["on_answer"](first["callback_id"], 1, None)
    by_call = {r["call_id"]: r for r in await rows(client)}
    assert (by_call["call-e"]["state"], by_call["call-e"]["answer"]) == ("answered", 1)
    assert by_call["call-f"]["state"] == "pending" and by_call["call-f"]["attempts"] == 1
    assert by_call["call-f"]["due_at"] > clock().replace(tzinfo=None) + timedelta(minutes=1)
