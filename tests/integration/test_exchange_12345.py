"""The 12345 exchange against a separate simulator process: push and pull, answers back, replays, failures.

The simulator (tests/sim12345.py) is its own aiohttp process on a port from the rig's allocator, stopped by its
pid. It fails, answers slowly, is stopped ("down"), sends duplicates and messages out of order; the tests
count what it took: every message once, none lost. SQLite and PostgreSQL (the db_settings fixture).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from config.settings import Settings
from core.db.timeutil import to_db
from tests.integration.exchange_rig import SECRET, Hub, order, sim_process, start_hub
from tests.sim12345 import sign
from tests.sim12345_rig import SimProcess
from ticketing.db.tables import case_stages, cases
from ticketing.exchange import pull
from ticketing.exchange.tables import exchange_inbound, exchange_orders, exchange_outbound
from web.keys import ENGINE

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = sim_process(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def hub(db_settings: Settings, sim: SimProcess, clock) -> AsyncIterator[Hub]:  # type: ignore[no-untyped-def]
    async with start_hub(db_settings, sim, clock) as value:
        yield value


def local(instant: Any) -> str:
    return instant.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S")


async def rows(hub: Hub, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with hub.api.client.app[ENGINE].connect() as conn:
        return [dict(r) for r in (await conn.execute(select(table).where(*where).order_by(table.c.id))).mappings()]


async def case_of(hub: Hub, order_no: str) -> dict[str, Any]:
    (row,) = await rows(hub, exchange_orders, exchange_orders.c.ext_order_no == order_no)
    status, case = await hub.api.call("GET", f"/api/v1/cases/{row['case_no']}", "lead01")
    assert status == 200
    return case


async def to_closed(hub: Hub, case: dict[str, Any], photos: list[str] | None = None) -> dict[str, Any]:
    checked = await hub.api.photo("inspector01")  # 核查 answers carry a photo (cases.inspection)
    steps = [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
        ("submit_result", "dept-szs", {"notes": "已更换灯泡，恢复照明", "photos": photos or []}),
        ("request_check", "agent01", {}),
        ("check_pass", "inspector01", {"photos": [checked]}),
        ("close", "lead01", {}),
    ]
    for command, user, body in steps:
        hub.clock.advance(minutes=5)
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, (command, case)
    return case


async def test_a_pushed_order_becomes_one_case_with_its_number_and_is_signed_for_once(hub: Hub) -> None:
    due = hub.clock() + timedelta(hours=2)
    message = order("SZ20261123000001", limitTime=local(due))
    replies = await hub.push(message, twice=True)
    again = await hub.push({**message, "msgId": "M-other"})  # the same 工单 under another message id
    assert [r["status"] for r in replies + again] == [200, 200, 200]
    assert [r["body"]["result"] for r in replies + again] == ["created", "duplicate", "recorded"]
    case = await case_of(hub, "SZ20261123000001")
    assert replies[0]["body"]["case_no"] == case["case_no"] == again[0]["body"]["case_no"]
    assert case["source"] == "12345" and case["external_id"] == "SZ20261123000001"
    assert case["category"]["code"] == "10118" and case["state"] == "reported" and "路灯不亮" in case["description"]
    status, listed = await hub.api.call("GET", "/api/v1/cases?q=SZ20261123000001", "agent01")
    assert status == 200 and [c["case_no"] for c in listed["items"]] == [case["case_no"]]
    status, seen = await hub.api.call("GET", f"/api/v1/cases/{case['case_no']}", "dept-szs")
    assert "13900001111" not in json.dumps(seen, ensure_ascii=False)  # masked as ours are
    status, orders = await hub.api.call("GET", "/api/v1/exchange/orders?ext_order_no=SZ20261123000001", "agent01")
    (info,) = orders["items"]
    assert info["attachments"][0]["url"].endswith("/a.jpg") and info["category_basis"] == "code_table"
    await hub.drain()
    received = await hub.received()
    assert [m["step"] for m in received.values()] == ["sign"]
    (signed,) = received.values()
    assert signed["body"]["workOrderNo"] == "SZ20261123000001" and signed["repeats"] == 0
    # 12345's deadline, earlier than our handling limit, ends the handling clock once dispatched.
    for command, user, body in [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
    ]:
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, case
    handling = await rows(hub, case_stages, case_stages.c.stage == "handling")
    assert handling[-1]["due_at"] == to_db(due.replace(microsecond=0))


async def test_unsigned_stale_forged_and_malformed_pushes_are_refused_and_logged(hub: Hub) -> None:
    body = json.dumps(order("BAD-1")).encode()
    stamp = str(int(time.time()))
    attempts = [
        ({}, body, 401),  # unsigned
        (
            {
                "X-Timestamp": str(int(time.time()) - 3600),
                "X-Signature": sign(SECRET, str(int(time.time()) - 3600), body),
            },
            body,
            401,
        ),  # stale: replay
        ({"X-Timestamp": stamp, "X-Signature": sign("wrong-secret", stamp, body)}, body, 401),
        ({"X-Timestamp": stamp, "X-Signature": sign(SECRET, stamp, b"{not json")}, b"{not json", 400),
    ]
    missing = json.dumps({k: v for k, v in order("BAD-2").items() if k != "content"}).encode()
    attempts.append(({"X-Timestamp": stamp, "X-Signature": sign(SECRET, stamp, missing)}, missing, 422))
    swapped = json.dumps(order("BAD-3", latitude="500", longitude="30.5")).encode()
    attempts.append(({"X-Timestamp": stamp, "X-Signature": sign(SECRET, stamp, swapped)}, swapped, 422))
    for headers, data, expected in attempts:
        async with hub.api.client.post("/api/v1/exchange/12345/inbound", data=data, headers=headers) as resp:
            answer = await resp.json()
        assert resp.status == expected and set(answer) == {"error"} and answer["error"]["message"]
    logged = await rows(hub, exchange_inbound)
    assert [r["state"] for r in logged] == ["rejected"] * len(attempts)
    assert {r["error_code"] for r in logged} >= {"bad_signature", "bad_json", "missing_field", "bad_point"}
    assert await rows(hub, cases) == []
    status, page = await hub.api.call("GET", "/api/v1/exchange/inbound?state=rejected", "lead01")
    assert status == 200 and page["total"] == len(attempts)


async def test_pulling_keeps_its_cursor_through_a_failing_platform_and_takes_each_order_once(hub: Hub) -> None:
    feed = [order(f"PULL-{n}") for n in range(5)]
    await hub.sim.call("POST", "/control/feed", {"messages": [*feed[:3], feed[1]]})  # one sent twice in the feed
    await hub.sim.configure(pull_fail=True)
    report = await pull.poll(hub.service, "12345", hub.clock())
    assert report.error and await pull.read_cursor(hub.service.engine, "12345:pull") == ""
    await hub.sim.configure()
    report = await pull.poll(hub.service, "12345", hub.clock())
    assert report.error is None and report.results == {"created": 3, "duplicate": 1}
    assert await pull.read_cursor(hub.service.engine, "12345:pull") == "4"
    hub.sim.stop()  # the platform is down
    report = await pull.poll(hub.service, "12345", hub.clock())
    assert report.error and "连接失败" in report.error
    hub.sim.start()
    await hub.sim.call("POST", "/control/feed", {"messages": feed[3:]})
    await hub.sim.configure(slow_s=2.0)  # slower than our timeout: nothing taken, cursor kept
    report = await pull.poll(hub.service, "12345", hub.clock())
    assert report.error and await pull.read_cursor(hub.service.engine, "12345:pull") == "4"
    await hub.sim.configure()
    report = await pull.poll(hub.service, "12345", hub.clock())
    assert report.results == {"created": 2}
    assert sorted(r["ext_order_no"] for r in await rows(hub, exchange_orders)) == [f"PULL-{n}" for n in range(5)]
    assert len(await rows(hub, cases)) == 5


async def test_answers_reach_the_platform_once_through_500s_lost_answers_slowness_and_downtime(hub: Hub) -> None:
    numbers = [f"OUT-{n}" for n in range(6)]
    await hub.push(*(order(n) for n in numbers))
    await hub.sim.configure(fail_rate=0.4, lost_answer_rate=0.3)
    first = await case_of(hub, numbers[0])
    status, _ = await hub.api.call(
        "POST",
        f"/api/v1/exchange/cases/{first['case_no']}/progress",
        "agent01",
        json={"text": "已联系养护单位，明日上午到场"},
    )
    assert status == 202
    result_photo = await hub.api.photo("dept-szs")  # a real photo of the department's (ids are checked)
    await to_closed(hub, first, photos=[result_photo])
    await deliver_and_settle_once(hub)
    hub.sim.stop()  # down for a while: every try fails, nothing is lost
    hub.clock.advance(seconds=10)
    await deliver_and_settle_once(hub)
    hub.sim.start()
    await hub.sim.configure(fail_rate=0.3, lost_answer_rate=0.3, slow_s=0.2)
    await hub.drain()
    received = await hub.received()
    steps = sorted((m["body"]["workOrderNo"], m["step"]) for m in received.values())
    assert steps == sorted([(n, "sign") for n in numbers] + [(numbers[0], "stage-reply"), (numbers[0], "finish")])
    sent = await rows(hub, exchange_outbound)
    assert len(sent) == 8 and {r["state"] for r in sent} == {"acked"}
    assert len(received) == len({r["message_id"] for r in sent})  # one per message id, however often sent
    finish = next(m for m in received.values() if m["step"] == "finish")["body"]
    assert finish["handleResult"] == "已更换灯泡，恢复照明" and f"/photos/shared/12345/{result_photo}?" in (
        finish["attachments"][0]
    )
    order_of = {m["body"]["msgId"]: m for m in received.values() if m["body"]["workOrderNo"] == numbers[0]}
    stamps = [order_of[r["message_id"]]["at"] for r in sent if r["ext_order_no"] == numbers[0]]
    assert stamps == sorted(stamps)  # 签收 → 阶段性答复 → 办结, in that order at the platform


async def deliver_and_settle_once(hub: Hub) -> None:
    from ticketing.exchange.service import deliver_and_settle

    await deliver_and_settle(hub.service, hub.clock())


async def test_a_visit_before_our_finish_is_acknowledged_is_held_then_dissatisfied_reopens(hub: Hub) -> None:
    await hub.push(order("VISIT-1"))
    case = await to_closed(hub, await case_of(hub, "VISIT-1"))
    visit = {
        "msgType": "VISIT",
        "msgId": "V-1",
        "workOrderNo": "VISIT-1",
        "satisfaction": "4",
        "visitOpinion": "路灯晚上还是不亮",
    }
    (reply,) = await hub.push(visit)
    assert reply["body"]["result"] == "held"
    assert (await case_of(hub, "VISIT-1"))["state"] == "closed"
    await hub.drain()  # 签收 and 办结 acknowledged: the held 回访 applies
    case = await case_of(hub, "VISIT-1")
    assert case["state"] == "dispatched" and case["satisfaction"] == 3
    assert "路灯晚上还是不亮" in case["history"][-1]["reason"] and case["history"][-1]["command"] == "reopen"
    (again,) = await hub.push(visit)  # replayed later: changes nothing
    assert again["body"]["result"] == "duplicate"
    assert (await case_of(hub, "VISIT-1"))["version"] == case["version"]


async def test_an_extension_goes_up_its_answer_comes_back_and_a_late_answer_is_only_recorded(hub: Hub) -> None:
    await hub.push(order("EXT-1"))
    case = await case_of(hub, "EXT-1")
    for command, user, body in [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
        ("request_extension", "dept-szs", {"reason": "需采购灯具", "value": 2, "unit": "working_days"}),
    ]:
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, case
    await hub.drain()
    delay = next(m for m in (await hub.received()).values() if m["step"] == "delay")["body"]
    assert delay["delayReason"] == "需采购灯具" and delay["delayValue"] == 2 and delay["delayUnit"] == "工作日"
    new_due = local(hub.clock() + timedelta(days=3))
    (reply,) = await hub.push(
        {
            "msgType": "DELAY_AUDIT",
            "msgId": "D-1",
            "workOrderNo": "EXT-1",
            "auditResult": "1",
            "newLimitTime": new_due,
            "auditOpinion": "同意",
        }
    )
    assert reply["body"]["result"] == "applied"
    case = await case_of(hub, "EXT-1")
    assert case["extension_count"] == 1
    assert not any(r["kind"] == "extension" and r["state"] == "pending" for r in case["requests"])
    (info,) = await rows(hub, exchange_orders)
    assert info["ext_due_at"] is not None
    case = await to_closed_from_dispatched(hub, case)
    (late,) = await hub.push(
        {"msgType": "DELAY_AUDIT", "msgId": "D-2", "workOrderNo": "EXT-1", "auditResult": "0", "auditOpinion": "不同意"}
    )
    assert late["body"]["result"] == "recorded" and "已办结" in late["body"]["message"]
    assert (await case_of(hub, "EXT-1"))["version"] == case["version"]


async def to_closed_from_dispatched(hub: Hub, case: dict[str, Any]) -> dict[str, Any]:
    checked = await hub.api.photo("inspector01")
    for command, user, body in [
        ("submit_result", "dept-szs", {"notes": "已修复"}),
        ("request_check", "agent01", {}),
        ("check_pass", "inspector01", {"photos": [checked]}),
        ("close", "lead01", {}),
    ]:
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, case
    return case


async def test_a_revoked_order_is_voided_and_a_return_goes_up_with_its_reason(hub: Hub) -> None:
    await hub.push(order("REV-1"), order("RET-1"))
    (reply,) = await hub.push({"msgType": "REVOKE", "msgId": "R-1", "workOrderNo": "REV-1", "revokeReason": "市民撤诉"})
    assert reply["body"]["result"] == "applied"
    assert (await case_of(hub, "REV-1"))["state"] == "invalid"
    case = await case_of(hub, "RET-1")
    status, case = await hub.api.act(case, "request_invalidation", "agent01", reason="不属于城管职责，应由供电公司办理")
    assert status == 200, case
    await hub.drain()
    back = next(m for m in (await hub.received()).values() if m["step"] == "back")["body"]
    assert back["backReason"] == "不属于城管职责，应由供电公司办理"
    (answer,) = await hub.push({"msgType": "BACK_AUDIT", "msgId": "B-1", "workOrderNo": "RET-1", "auditResult": "1"})
    assert answer["body"]["result"] == "applied" and (await case_of(hub, "RET-1"))["state"] == "invalid"
    # A revoke from 12345 is not echoed back as our own 退回.
    assert not any(m["step"] == "back" and m["body"]["workOrderNo"] == "REV-1" for m in (await hub.received()).values())


async def test_an_answer_that_overtakes_its_order_waits_for_it(hub: Hub) -> None:
    (early,) = await hub.push({"msgType": "REVOKE", "msgId": "R-9", "workOrderNo": "LATE-1"})
    assert early["body"]["result"] == "held"
    await hub.push(order("LATE-1"))
    assert await hub.service.apply_held(hub.clock()) == 1
    assert (await case_of(hub, "LATE-1"))["state"] == "invalid"


async def test_the_push_endpoint_answers_json_errors_for_unknown_links(hub: Hub) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(hub.push_url.replace("/12345/", "/99999/"), data=b"{}") as resp,
    ):
        assert resp.status == 404 and set(await resp.json()) == {"error"}


async def test_a_rework_sent_as_a_new_order_points_at_the_original_case(hub: Hub) -> None:
    await hub.push(order("ORIG-1"))
    first = await case_of(hub, "ORIG-1")
    await hub.push(order("NEW-1", content="【省12345工单编号：ORIG-1】市民反映路灯修好后又不亮了"))
    second = await case_of(hub, "NEW-1")
    assert f"原案件 {first['case_no']}" in second["description"] and second["case_no"] != first["case_no"]
    (row,) = await rows(hub, exchange_orders, exchange_orders.c.ext_order_no == "NEW-1")
    assert row["repeat_of"] == "ORIG-1"


async def test_the_same_order_pushed_at_once_under_two_message_ids_makes_one_case(hub: Hub) -> None:
    replies = await hub.push(order("RACE-1"), {**order("RACE-1"), "msgId": "M-RACE-other"}, concurrency=2)
    assert sorted(r["body"]["result"] for r in replies) == ["created", "recorded"]
    assert len(await rows(hub, cases)) == 1 and len(await rows(hub, exchange_orders)) == 1


async def test_an_urge_reaches_the_department_handling_the_case(hub: Hub) -> None:
    await hub.push(order("URGE-1"))
    case = await case_of(hub, "URGE-1")
    for command, user, body in [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
    ]:
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, case
    urge = {"msgType": "URGE", "msgId": "U-1", "workOrderNo": "URGE-1", "urgeContent": "市民多次来电，请尽快处理"}
    reply, again = await hub.push(urge, twice=True)
    assert again["body"]["result"] == "duplicate"
    assert reply["body"]["result"] == "recorded"
    status, inbox = await hub.api.call("GET", "/api/v1/notify/inbox", "dept-szs")
    assert status == 200
    urges = [m for m in inbox["items"] if "12345催办" in m["body"]]
    assert len(urges) == 1 and case["case_no"] in urges[0]["body"] and "多次来电" in urges[0]["body"]
