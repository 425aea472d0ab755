"""Citizen SMS on SQLite and PostgreSQL: templates, de-duplication, rate limit, opt-out, retries, channels."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert, select

from config.bootstrap import create_app
from config.settings import Settings
from core.db.timeutil import to_db
from tests.dates import marks
from ticketing.notify.channels import LogChannel
from ticketing.notify.domain.signing import sms_signature
from ticketing.notify.fakes import FakeDialer, drive, new_case, to_closed
from ticketing.notify.outbox import OutboxMessage, enqueue
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import HttpGatewaySettings, NotifySettings
from ticketing.notify.tables import outbox, sms_optouts
from web.keys import CASES, ENGINE, NOTIFY_CONFIG, RUNNING


async def start(db_settings: Settings, clock: Any, aiohttp_client: Any, **cfg: Any) -> TestClient:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, **cfg)
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def svc(client: TestClient) -> NotifyService:
    service = client.app[RUNNING].notify
    assert service is not None
    return service


async def rows(client: TestClient, *where: Any) -> list[dict[str, Any]]:
    async with client.app[ENGINE].connect() as conn:
        result = await conn.execute(select(outbox).where(*where).order_by(outbox.c.id))
        return [dict(r) for r in result.mappings()]


def message(phone: str, key: str, now: Any) -> OutboxMessage:
    return OutboxMessage(key, None, "test", "sms", "citizen", phone, f"测试短信{key}", now)


async def test_case_events_send_each_citizen_message_once(db_settings: Settings, clock: Any,
                                                          aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client)
    service = svc(client)
    case_no = await new_case(client.app[CASES])
    await drive(client.app[CASES], case_no, to_closed())
    await service.settled()
    await service.catch_up(clock())  # replaying the same events enqueues nothing new
    assert (await service.deliver_outbox(clock())).sent == 3
    sent = await rows(client, outbox.c.channel == "sms")
    assert [r["event"] for r in sent] == ["accepted", "dispatched", "closed"]
    assert all(case_no in r["body"] and r["state"] == "sent" for r in sent)
    due = (await marks(client.app[CASES], clock(), "20505")).due.astimezone(service.tz)  # dispatched now
    assert "相关部门" not in sent[1]["body"] and f"处置时限至{due:%m月%d日%H:%M}" in sent[1]["body"]
    assert "已劝离摊贩并清理路面" in sent[2]["body"]
    assert isinstance(service.channel, LogChannel) and len(service.channel.sent) == 3


async def test_category_template_overrides_the_event_template(db_settings: Settings, clock: Any,
                                                              aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client)
    case_no = await new_case(client.app[CASES], category="20102")  # 暴露垃圾 has its own 办结 text
    await drive(client.app[CASES], case_no, to_closed("hws"))
    await svc(client).settled()
    closed = await rows(client, outbox.c.event == "closed")
    assert "暴露垃圾问题" in closed[0]["body"] and case_no in closed[0]["body"]


async def test_rate_limit_defers_and_opt_out_suppresses(db_settings: Settings, clock: Any,
                                                        aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, rate_limit_count=2, rate_limit_window_min=60)
    service = svc(client)
    for key in ("a", "b", "c"):
        await enqueue(client.app[ENGINE], message("13900000001", key, clock()))
    await enqueue(client.app[ENGINE], message("13900000001", "a", clock()))  # duplicate key: ignored
    async with client.app[ENGINE].begin() as conn:
        await conn.execute(insert(sms_optouts).values(phone="13900000002", created_by="admin",
                                                      created_at=to_db(clock())))
    await enqueue(client.app[ENGINE], message("13900000002", "d", clock()))
    report = await service.deliver_outbox(clock())
    assert (report.sent, report.deferred, report.suppressed) == (2, 1, 1)
    assert len(await rows(client)) == 4
    clock.advance(minutes=30)
    assert (await service.deliver_outbox(clock())).sent == 0  # window still full
    clock.advance(minutes=31)
    assert (await service.deliver_outbox(clock())).sent == 1
    states = {r["dedup_key"]: r["state"] for r in await rows(client)}
    assert states == {"a": "sent", "b": "sent", "c": "sent", "d": "suppressed"}


async def test_sip_channel_without_telephony_fails_clearly_then_retries(db_settings: Settings, clock: Any,
                                                                        aiohttp_client: Any) -> None:
    client = await start(db_settings, clock, aiohttp_client, sms_channel="sip", max_attempts=2,
                         retry_base_s=60)
    service = svc(client)
    await enqueue(client.app[ENGINE], message("13900000003", "x", clock()))
    assert (await service.deliver_outbox(clock())).retried == 1
    row = (await rows(client))[0]
    assert row["state"] == "pending" and "电话功能未启用" in row["last_error"]
    dialer = FakeDialer()
    client.app[RUNNING].call_control = dialer
    assert (await service.deliver_outbox(clock())).sent == 0  # backing off for 60 s
    clock.advance(seconds=61)
    assert (await service.deliver_outbox(clock())).sent == 1
    assert dialer.messages == [{"to": "pjsip:13900000003", "body": "测试短信x", "sender": "12319"}]


async def test_http_gateway_gets_a_signed_request_and_retries_after_an_error(
        db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    received: list[dict[str, Any]] = []

    async def gateway(request: web.Request) -> web.Response:
        received.append(json.loads(await request.text()))
        if len(received) == 1:
            return web.json_response({"code": 500, "msg": "busy"}, status=500)
        return web.json_response({"code": 0, "msg": "OK"})

    receiver = web.Application()
    receiver.router.add_post("/sms/send", gateway)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    http = HttpGatewaySettings(url=str(server.make_url("/sms/send")), secret="s3cret", success_contains='"code": 0')
    client = await start(db_settings, clock, aiohttp_client, sms_channel="http", http=http, retry_base_s=10)
    service = svc(client)
    try:
        await enqueue(client.app[ENGINE], message("13900000004", "y", clock()))
        assert (await service.deliver_outbox(clock())).retried == 1
        clock.advance(seconds=11)
        assert (await service.deliver_outbox(clock())).sent == 1
    finally:
        await server.close()
    last = received[-1]
    assert last["mobile"] == "13900000004" and last["content"] == "测试短信y"
    canonical = f"hotline13900000004{last['timestamp']}{last['nonce']}"
    assert last["sign"] == sms_signature("hmac-sha256", "s3cret", canonical)
    assert (await rows(client))[0]["attempts"] == 2

