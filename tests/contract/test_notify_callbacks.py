"""回访 on SQLite and PostgreSQL: scheduled in the calling window, dialled, retried, SMS fallback, 重办 on 3."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from config.bootstrap import create_app
from config.settings import Settings
from tests.dates import callable_at, naive_utc, next_local
from ticketing.notify.fakes import FakeDialer, department, drive, new_case, to_closed
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import callbacks, outbox
from ticketing.queries import CaseFilter, ViewContext, list_cases
from web.keys import CASES, ENGINE, NOTIFY_CONFIG, RUNNING

pytestmark = pytest.mark.dates


async def start(db_settings: Settings, clock: Any, aiohttp_client: Any, dialer: FakeDialer | None,
                **cfg: Any) -> TestClient:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, **cfg)
    if dialer is not None:
        app[RUNNING].call_control = dialer
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def svc(client: TestClient) -> NotifyService:
    service = client.app[RUNNING].notify
    assert service is not None
    return service


async def the_callback(client: TestClient) -> dict[str, Any]:
    async with client.app[ENGINE].connect() as conn:
        return dict((await conn.execute(select(callbacks))).mappings().one())


def in_window(client: TestClient, at: datetime) -> datetime:
    return callable_at(svc(client), at)


def survey_due(client: TestClient, closed_at: datetime) -> datetime:
    return in_window(client, closed_at + timedelta(minutes=svc(client).cfg.callback_delay_min))


async def closed_case(client: TestClient) -> str:
    case_no = await new_case(client.app[CASES])
    await drive(client.app[CASES], case_no, to_closed())
    await svc(client).settled()
    return case_no


async def test_unsatisfied_answer_reopens_the_case_to_the_same_department(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    dialer = FakeDialer()
    client = await start(db_settings, clock, aiohttp_client, dialer)
    case_no = await closed_case(client)
    callback = await the_callback(client)
    due = survey_due(client, clock())  # 30 minutes after closing, moved into the calling window
    assert callback["kind"] == "survey" and callback["number"] == "13800000000"
    assert callback["due_at"] == naive_utc(due)
    clock.now = due - timedelta(seconds=1)
    assert await svc(client).run_due_callbacks(clock()) == 0
    clock.now = due
    assert await svc(client).run_due_callbacks(clock()) == 1
    assert dialer.calls[0]["case_no"] == case_no and "已劝离摊贩" in dialer.calls[0]["result_text"]
    await dialer.answer(3, "var/recordings/reason-1.wav")
    await dialer.answer(3)  # a second report of the same call changes nothing
    cases = client.app[CASES]
    ctx = ViewContext(await cases.reference(), await cases.calendar(), clock())
    async with client.app[ENGINE].connect() as conn:
        listed = await list_cases(conn, CaseFilter(), department("zfj"), ctx)
    item = next(i for i in listed["items"] if i["case_no"] == case_no)
    assert item["state"] == "dispatched"
    row = await the_callback(client)
    assert (row["state"], row["answer"], row["reason_path"]) == ("answered", 3, "var/recordings/reason-1.wav")


async def test_no_answer_is_retried_then_an_sms_survey_goes_out(db_settings: Settings, clock: Any,
                                                                 aiohttp_client: Any) -> None:
    dialer = FakeDialer()
    client = await start(db_settings, clock, aiohttp_client, dialer, callback_retries=1,
                         callback_retry_interval_min=20)
    await closed_case(client)
    clock.now = survey_due(client, clock())
    await svc(client).run_due_callbacks(clock())
    await dialer.answer(None)
    retry = await the_callback(client)
    assert retry["state"] == "pending"
    assert retry["due_at"] == naive_utc(in_window(client, clock() + timedelta(minutes=20)))
    clock.now = in_window(client, clock() + timedelta(minutes=20))
    assert await svc(client).run_due_callbacks(clock()) == 1
    await dialer.answer(None)
    assert (await the_callback(client))["state"] == "sms"
    async with client.app[ENGINE].connect() as conn:
        survey = (await conn.execute(select(outbox).where(outbox.c.event == "survey"))).mappings().one()
    assert "满意请回复1" in survey["body"]


async def test_callbacks_wait_for_the_calling_window_and_survive_a_restart(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, None)
    service = svc(client)
    late = next_local(clock(), time(21, 30), service.tz)  # outside the calling window 09:00–20:00
    opening = in_window(client, late)
    assert opening.astimezone(service.tz).date() == late.astimezone(service.tz).date() + timedelta(days=1)
    assert opening.astimezone(service.tz).time() == service.window[0]  # 09:00 the next morning
    callback_id = await service.schedule_callback("missed", "13700000000", late, call_id="call-1")
    assert await service.schedule_callback("missed", "13700000000", late, call_id="call-1") is None
    await client.close()
    dialer = FakeDialer()
    client = await start(db_settings, clock, aiohttp_client, dialer)
    clock.now = late + timedelta(minutes=5)
    assert await svc(client).run_due_callbacks(clock()) == 0
    clock.now = opening - timedelta(seconds=1)
    assert await svc(client).run_due_callbacks(clock()) == 0
    clock.now = opening
    assert await svc(client).run_due_callbacks(clock()) == 1
    row = await the_callback(client)
    assert row["id"] == callback_id and row["attempts"] == 1 and dialer.calls == []
    # The runtime has no generic callback dialer: an agent calls back from the console.
    assert row["state"] == "failed" and "人工回拨" in row["last_error"]


async def test_without_telephony_the_survey_falls_back_to_sms(db_settings: Settings, clock: Any,
                                                               aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, None)
    await closed_case(client)
    clock.now = survey_due(client, clock())
    await svc(client).run_due_callbacks(clock())
    assert (await the_callback(client))["state"] == "sms"


async def test_a_case_reopened_before_its_survey_is_not_surveyed(db_settings: Settings, clock: Any,
                                                                 aiohttp_client: Any) -> None:
    from ticketing.notify.fakes import AGENT

    dialer = FakeDialer()
    client = await start(db_settings, clock, aiohttp_client, dialer)
    case_no = await closed_case(client)
    await drive(client.app[CASES], case_no, [("reopen", AGENT, {"reason": "市民来电反映问题仍在"})])
    await svc(client).settled()
    await svc(client).catch_up(clock())  # replaying the old 结案 schedules no second survey
    clock.now = survey_due(client, clock())
    await svc(client).run_due_callbacks(clock())
    assert dialer.calls == [] and (await the_callback(client))["state"] == "cancelled"
