"""Deadline sweeps on SQLite and PostgreSQL: lights and 督办 recorded once, escalation at red, restarts."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from config.bootstrap import create_app
from config.settings import Settings
from tests.dates import marks
from ticketing.notify.fakes import drive, new_case, to_dispatched
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import deadline_alerts, outbox, urges
from web.keys import CASES, ENGINE, NOTIFY_CONFIG, RUNNING

StartApp = Callable[..., Awaitable[TestClient]]
pytestmark = pytest.mark.dates


@pytest.fixture
def start_app(db_settings: Settings, clock: Any, aiohttp_client: Any) -> StartApp:
    async def start(**cfg: Any) -> TestClient:
        app = create_app(db_settings, clock=clock)
        app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, **cfg)
        return await aiohttp_client(app)  # type: ignore[no-any-return]
    return start


def svc(client: TestClient) -> NotifyService:
    service = client.app[RUNNING].notify
    assert service is not None
    return service


async def count(client: TestClient, table: Any, *where: Any) -> int:
    async with client.app[ENGINE].connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_lights_and_reminders_are_recorded_once(start_app: StartApp, clock: Any) -> None:
    client = await start_app()
    cases = client.app[CASES]
    case_no = await new_case(cases)  # 占道经营: 4 working hours, dispatched now
    await drive(cases, case_no, to_dispatched())
    handling = await marks(cases, clock(), "20505")
    clock.now = handling.yellow + timedelta(minutes=1)  # past 80 %
    report = await svc(client).sweep_deadlines(clock())
    assert (report.lights_changed, report.urges) == (1, 1)  # the handling clock is the only open one
    again = await svc(client).sweep_deadlines(clock())
    assert (again.lights_changed, again.urges) == (0, 0)
    assert await count(client, deadline_alerts, deadline_alerts.c.light == "yellow") == 1
    assert await count(client, urges, urges.c.level == "yellow", urges.c.target == "zfj") == 1
    clock.now = handling.due + timedelta(minutes=1)  # red
    report = await svc(client).sweep_deadlines(clock())
    assert (report.lights_changed, report.urges) == (1, 2)  # 督办 at due, escalation to the lead
    assert await count(client, deadline_alerts, deadline_alerts.c.light == "red") == 1
    assert await count(client, urges, urges.c.level == "due", urges.c.target == "zfj") == 1
    assert await count(client, urges, urges.c.level == "escalation", urges.c.target_kind == "lead") == 1
    assert (await svc(client).sweep_deadlines(clock())).urges == 0
    assert await count(client, outbox, outbox.c.channel == "internal") == await count(client, urges)


async def test_a_restart_between_scheduling_and_due_time_loses_nothing(start_app: StartApp, clock: Any) -> None:
    client = await start_app()
    case_no = await new_case(client.app[CASES])
    await drive(client.app[CASES], case_no, to_dispatched())
    handling = await marks(client.app[CASES], clock(), "20505")
    await client.close()  # the app goes away before anything is due
    down_since = clock()
    clock.now = handling.due + timedelta(hours=1)
    # Across a long holiday the downtime can outlast the default 24 h catch-up window: make it cover the downtime.
    client = await start_app(catch_up_hours=max(24, math.ceil((clock() - down_since) / timedelta(hours=1)) + 1))
    service = svc(client)
    await service.sweep_deadlines(clock())
    await service.sweep_deadlines(clock())
    assert await service.catch_up(clock()) == 2  # accept and dispatch replayed: SMS the bus may have missed
    await service.catch_up(clock())
    report = await service.deliver_outbox(clock())
    assert report.sent == 5  # 受理 and 派遣 SMS; yellow and due 督办 to zfj; escalation to the lead
    assert (await service.deliver_outbox(clock())).sent == 0
    assert await count(client, outbox, outbox.c.state == "sent", outbox.c.event == "urge:due") == 1


async def test_configurable_thresholds_and_backlog_pauses_the_clock(start_app: StartApp, clock: Any) -> None:
    client = await start_app(reminders=("due-1h", "due+2h"), escalate_at_red=False)
    cases = client.app[CASES]
    first, second = await new_case(cases), await new_case(cases)
    for case_no in (first, second):
        await drive(cases, case_no, to_dispatched())
    from ticketing.notify.fakes import DISPATCHER, department
    await drive(cases, second, [("request_backlog", department("zfj"), {"reason": "需协调"}),
                                ("approve_backlog", DISPATCHER, {})])
    handling = await marks(cases, clock(), "20505")
    clock.now = handling.due - timedelta(minutes=50)  # within the hour before the due time
    assert (await svc(client).sweep_deadlines(clock())).urges == 1
    clock.now = handling.due + timedelta(hours=2, minutes=10)  # more than 2 h past due
    assert (await svc(client).sweep_deadlines(clock())).urges == 1
    assert await count(client, urges, urges.c.case_no == second) == 0
    assert await count(client, urges, urges.c.target_kind == "lead") == 0


async def test_the_scheduler_runs_the_sweeps_in_the_app(db_settings: Settings, clock: Any,
                                                        aiohttp_client: Any) -> None:
    import asyncio

    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(deadline_interval_s=1, outbox_interval_s=1, callbacks_interval_s=1)
    client = await aiohttp_client(app)
    case_no = await new_case(app[CASES])
    for _ in range(200):  # the subscriber enqueues, then wakes the outbox job at once
        if await count(client, outbox, outbox.c.case_no == case_no, outbox.c.state == "sent") == 1:
            break
        await asyncio.sleep(0.05)
    assert await count(client, outbox, outbox.c.case_no == case_no, outbox.c.state == "sent") == 1
    await client.close()  # the scheduler and the subscriber stop with the app
