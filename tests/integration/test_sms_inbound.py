"""Texts citizens send back through the HTTP gateway's signed callback: survey answers, 查询, 退订; replays
change nothing, unsigned or stale callbacks are refused with a log row. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from config.bootstrap import create_app
from config.settings import Settings
from tests.api_plugin import Api, _tokens
from ticketing.notify.domain.signing import sms_signature
from ticketing.notify.settings import HttpGatewaySettings
from ticketing.notify.tables import outbox, sms_inbound, sms_optouts
from web.keys import ENGINE

SECRET = "gateway-secret-for-tests"
PHONE = "13800000000"


@pytest.fixture
async def gw(db_settings: Settings, clock, aiohttp_client) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    notify = db_settings.notify.model_copy(update={"http": HttpGatewaySettings(secret=SECRET)})
    settings = db_settings.model_copy(update={"notify": notify})
    tokens = await _tokens(settings, clock)
    yield Api(await aiohttp_client(create_app(settings, clock=clock)), tokens)


def signed(phone: str, text: str, message_id: str, *, secret: str = SECRET, age_s: int = 0) -> dict[str, str]:
    stamp, nonce = str(int(time.time()) - age_s), "n" + message_id
    sign = sms_signature("hmac-sha256", secret, f"hotline{phone}{text}{stamp}{nonce}")
    return {"mobile": phone, "content": text, "msgId": message_id, "timestamp": stamp, "nonce": nonce, "sign": sign}


async def send(api: Api, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with api.client.post("/api/v1/sms/inbound", json=body) as resp:
        return resp.status, await resp.json()


async def closed_case(api: Api, clock: Any) -> dict[str, Any]:
    case = await api.create(accept=True, caller_phone=PHONE)
    for command, user, body in [
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
        ("submit_result", "dept-szs", {"notes": "已修复"}),
        ("check_pass", "inspector01", {}),
        ("close", "lead01", {}),
    ]:
        clock.advance(minutes=5)
        status, case = await api.act(case, command, user, **body)
        assert status == 200, case
    return case


async def rows(api: Api, table: Any) -> list[Any]:
    async with api.client.app[ENGINE].connect() as conn:
        return list((await conn.execute(select(table).order_by(*table.primary_key.columns))).mappings())


async def test_a_dissatisfied_reply_rates_and_reopens_once(gw: Api, clock) -> None:  # type: ignore[no-untyped-def]
    case = await closed_case(gw, clock)
    status, answer = await send(gw, signed(PHONE, "３ 灯还是不亮", "up-1"))
    assert status == 200 and answer["result"] == "rating" and not answer["duplicate"]
    _, after = await gw.call("GET", f"/api/v1/cases/{case['case_no']}", "lead01")
    assert after["state"] == "dispatched" and after["satisfaction"] == 3
    assert "灯还是不亮" in after["history"][-1]["reason"]
    status, again = await send(gw, signed(PHONE, "３ 灯还是不亮", "up-1"))
    assert status == 200 and again["duplicate"]
    _, same = await gw.call("GET", f"/api/v1/cases/{case['case_no']}", "lead01")
    assert same["version"] == after["version"]


async def test_a_satisfied_reply_only_rates(gw: Api, clock) -> None:  # type: ignore[no-untyped-def]
    case = await closed_case(gw, clock)
    await send(gw, signed(PHONE, "1", "up-2"))
    _, after = await gw.call("GET", f"/api/v1/cases/{case['case_no']}", "lead01")
    assert after["state"] == "closed" and after["satisfaction"] == 1


async def test_a_query_gets_the_progress_only_from_the_reporting_number(gw: Api) -> None:
    case = await gw.create(accept=True, caller_phone=PHONE)
    await send(gw, signed(PHONE, f"查询 {case['case_no']}", "up-3"))
    await send(gw, signed("13900000000", f"查询{case['case_no']}", "up-4"))
    replies = {r["recipient"]: r["body"] for r in await rows(gw, outbox) if r["event"] == "reply"}
    assert case["case_no"] in replies[PHONE] and "已受理" in replies[PHONE]
    assert "未找到" in replies["13900000000"] and "已受理" not in replies["13900000000"]


async def test_td_opts_out(gw: Api) -> None:
    status, answer = await send(gw, signed(PHONE, "TD", "up-5"))
    assert status == 200 and answer["result"] == "opt_out"
    assert [r["phone"] for r in await rows(gw, sms_optouts)] == [PHONE]


async def test_unsigned_forged_and_stale_callbacks_are_refused_and_logged(gw: Api) -> None:
    good = signed(PHONE, "TD", "up-6")
    attempts = [
        ({**good, "sign": ""}, 401),
        (signed(PHONE, "TD", "up-7", secret="other"), 401),
        (signed(PHONE, "TD", "up-8", age_s=3600), 401),
        ({**good, "mobile": ""}, 422),
    ]
    for body, expected in attempts:
        status, answer = await send(gw, body)
        assert status == expected and answer["error"]["message"]
    assert [r["kind"] for r in await rows(gw, sms_inbound)] == ["rejected"] * 4
    assert await rows(gw, sms_optouts) == []
