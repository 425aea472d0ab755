"""Console and wallboard APIs and the /ws live socket through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from core.bus import BusEvent
from tests.api_plugin import Api
from ticketing.geo.domain.geometry import distance_m
from web.api import console
from web.keys import BUS

HERE = (30.5240, 120.9440)  # lat, lon in the Haiyan demo area


async def test_category_search_finds_by_name_pinyin_initials_and_code(api: Api) -> None:
    for query in ("路灯", "ld", "ludeng", "LuDeng", "10118"):
        status, data = await api.call("GET", f"/api/v1/categories/search?q={query}")
        assert status == 200 and data["items"][0]["code"] == "10118", (query, data)
    status, data = await api.call("GET", "/api/v1/categories/search?q=101")
    assert status == 200 and all(i["code"].startswith("101") for i in data["items"])
    status, error = await api.call("GET", "/api/v1/categories/search?q=")
    assert status == 400 and error["error"]["code"] == "empty_query"
    status, _ = await api.call("GET", "/api/v1/categories/search?q=ld", user=None)
    assert status == 401


async def test_duplicates_are_open_cases_of_the_same_category_nearby_nearest_first(api: Api) -> None:
    lat, lon = HERE
    near = await api.create(lat=lat + 0.0005, lon=lon, accept=True)  # ~55 m north
    nearer = await api.create(lat=lat, lon=lon + 0.0003)  # ~29 m east
    await api.create(lat=lat + 0.01, lon=lon)  # ~1.1 km: too far
    await api.create(lat=lat, lon=lon, category_code="20101")  # another category
    status, data = await api.call("GET", f"/api/v1/console/duplicates?category=10118&lat={lat}&lon={lon}&radius=200")
    assert status == 200, data
    assert [c["case_no"] for c in data["items"]] == [nearer["case_no"], near["case_no"]]
    assert 25 <= data["items"][0]["distance_m"] <= 35
    status, error = await api.call("GET", f"/api/v1/console/duplicates?category=abc&lat={lat}&lon={lon}")
    assert status == 400 and error["error"]["code"] == "bad_category"
    status, error = await api.call("GET", "/api/v1/console/duplicates?category=10118&lat=nan&lon=1")
    assert status == 400 and error["error"]["code"] == "bad_coordinate"


def test_duplicates_measure_with_the_geo_distance() -> None:
    """One distance for the whole platform (ticketing/geo/domain/geometry.py): 0.001° of latitude ≈ 110.6 m."""
    assert abs(distance_m((120.9, 30.5), (120.9, 30.501)) - 110.6) < 0.5
    assert console.distance_m is distance_m


async def test_caller_history_lists_earlier_cases_for_agents_only(api: Api) -> None:
    case = await api.create(caller_phone="13912345678", accept=True)
    status, data = await api.call("GET", "/api/v1/console/caller?phone=13912345678")
    assert status == 200 and data["repeat"] and [c["case_no"] for c in data["cases"]] == [case["case_no"]]
    assert data["cases"][0]["caller_phone"] == "13912345678"
    status, data = await api.call("GET", "/api/v1/console/caller?phone=13900000001")
    assert status == 200 and not data["repeat"] and data["cases"] == [] and data["calls"] == []
    status, _ = await api.call("GET", "/api/v1/console/caller?phone=13912345678", user="dispatcher01")
    assert status == 403
    status, _ = await api.call("GET", "/api/v1/console/caller?phone=abc")
    assert status == 400


async def test_my_cases_and_map_cases(api: Api) -> None:
    case = await api.create(lat=HERE[0], lon=HERE[1], accept=True)
    status, mine = await api.call("GET", "/api/v1/console/my-cases")
    assert status == 200 and mine["items"][0]["case_no"] == case["case_no"]
    status, on_map = await api.call("GET", "/api/v1/map/cases", user="lead01")
    assert status == 200 and case["case_no"] in {c["case_no"] for c in on_map["items"]}
    status, roads = await api.call("GET", "/api/v1/map/roads")
    assert status == 200 and roads["type"] == "FeatureCollection"
    status, error = await api.call("GET", "/api/v1/map/components?bbox=1,2,3")
    assert status == 400 and error["error"]["code"] == "bad_bbox"


async def test_agent_signs_in_an_extension_without_telephony(api: Api) -> None:
    status, agent = await api.call("GET", "/api/v1/console/agent")
    assert status == 200 and agent["telephony"] is False and agent["extension"] is None
    # 8003 is a free extension (8001 is agent02's account extension)
    status, agent = await api.call("POST", "/api/v1/console/agent", json={"action": "login", "extension": "8003"})
    assert status == 200 and agent["extension"] == "8003" and agent["registration"] is None
    status, error = await api.call("POST", "/api/v1/console/agent", user="lead01",
                                   json={"action": "login", "extension": "8003"})
    assert status == 409 and error["error"]["code"] == "extension_in_use"
    status, _ = await api.call("POST", "/api/v1/console/agent", user="dispatcher01",
                               json={"action": "login", "extension": "8003"})
    assert status == 403


async def test_wallboard_summary_for_leads_not_agents(api: Api) -> None:
    await api.create(accept=True)
    status, data = await api.call("GET", "/api/v1/wallboard/summary", user="lead01")
    assert status == 200 and data["queue"]["enabled"] is False
    assert data["cases_today_total"] == 1
    assert {s["state"]: s["count"] for s in data["cases_today"]}["accepted"] == 1
    assert data["calls"] == {"total": 0, "answered": 0, "answered_within_target": 0, "target_s": 15,
                             "offered": 0, "abandoned": 0, "service_level": None}
    status, _ = await api.call("GET", "/api/v1/wallboard/summary")
    assert status == 403


async def _socket(api: Api, user: str) -> ClientWebSocketResponse:
    ws = await api.client.ws_connect("/ws", headers={"Authorization": f"Bearer {api.tokens[user]}"})
    hello = json.loads((await ws.receive(timeout=5)).data)
    assert hello["type"] == "hello" and hello["user"] == user
    return ws


async def _received(ws: ClientWebSocketResponse, wait: float = 0.3) -> list[dict[str, Any]]:
    got = []
    try:
        while True:
            got.append(json.loads((await ws.receive(timeout=wait)).data))
    except TimeoutError:
        return got


def _ringing(call_id: str, agent: str) -> BusEvent:
    return BusEvent("call", "ringing", datetime.now(UTC), {"call_id": call_id, "caller": "13812345678",
                                                          "agent_id": agent})


async def test_live_socket_filters_by_role_and_masks_numbers(api: Api) -> None:
    bus = api.client.server.app[BUS]
    agent, lead, dispatcher = [await _socket(api, u) for u in ("agent01", "lead01", "dispatcher01")]
    await agent.send_json({"type": "ping", "t": 1})
    assert json.loads((await agent.receive(timeout=5)).data) == {"type": "pong", "t": 1}

    bus.publish(_ringing("c0", "8003"))  # agent01 has not signed in an extension yet
    await asyncio.sleep(0.1)
    assert await _received(agent) == []
    status, _ = await api.call("POST", "/api/v1/console/agent", json={"action": "login", "extension": "8003"})
    assert status == 200
    await _received(lead)
    await _received(dispatcher)
    bus.publish(_ringing("c1", "8003"))
    bus.publish(_ringing("c2", "8002"))
    bus.publish(BusEvent("speech", "final", datetime.now(UTC), {"call_id": "c1", "text": "路灯坏了"}))
    bus.publish(BusEvent("speech", "final", datetime.now(UTC), {"call_id": "c2", "text": "别人的通话"}))
    mine = await _received(agent)
    assert [(e["topic"], e["data"]["call_id"]) for e in mine] == [("call", "c1"), ("speech", "c1")]
    assert mine[0]["data"]["caller"] == "13812345678"
    everything = await _received(lead)
    assert [e["data"]["call_id"] for e in everything] == ["c1", "c2", "c1", "c2"]
    masked = await _received(dispatcher)
    assert masked[0]["data"]["caller"] == "138****5678"
    for ws in (agent, lead, dispatcher):
        await ws.close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
async def test_live_socket_needs_a_user(api: Api, headers: dict[str, str]) -> None:
    async with api.client.get("/ws", headers={**headers, "Upgrade": "websocket", "Connection": "Upgrade",
                                              "Sec-WebSocket-Version": "13",
                                              "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as resp:
        assert resp.status == 401
