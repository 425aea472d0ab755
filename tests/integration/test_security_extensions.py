"""Extensions are bound to users on the server: nobody signs in, sets the state of or calls out from another
agent's extension, and so nobody receives another agent's calls and transcripts on /ws."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from core.bus import BusEvent
from tests.api_plugin import Api
from web.keys import BUS

LOGIN = "/api/v1/console/agent"


async def test_agents_sign_in_only_their_own_or_a_free_extension(api: Api) -> None:
    status, error = await api.call("POST", LOGIN, "agent01", json={"action": "login", "extension": "8001"})
    assert status == 403 and error["error"]["code"] == "not_your_extension"  # agent02's account extension
    status, error = await api.call("POST", LOGIN, "agent02", json={"action": "login", "extension": "8003"})
    assert status == 403 and error["error"]["code"] == "not_your_extension"  # agent02 is bound to 8001
    status, agent = await api.call("POST", LOGIN, "agent01", json={"action": "login", "extension": "8003"})
    assert status == 200 and agent["extension"] == "8003"
    status, error = await api.call("POST", LOGIN, "lead01", json={"action": "login", "extension": "8003"})
    assert status == 409 and error["error"]["code"] == "extension_in_use"


async def test_state_logout_and_originate_only_from_the_extension_one_holds(api: Api) -> None:
    status, _ = await api.call("POST", LOGIN, "agent01", json={"action": "login", "extension": "8003"})
    assert status == 200
    for path, body in (
        ("/api/v1/agents/8003/state", {"state": "ready"}),
        ("/api/v1/agents/8003/logout", {}),
        ("/api/v1/agents/8003/login", {}),
        ("/api/v1/calls/originate", {"number": "13800138000", "extension": "8003"}),
    ):
        status, error = await api.call("POST", path, "agent02", json=body)
        assert status == 403 and error["error"]["code"] == "not_your_extension", path
        status, error = await api.call("POST", path, "admin", json=body)
        assert status == 403, path
    status, error = await api.call("POST", LOGIN, "agent02", json={"action": "not_ready", "extension": "8003"})
    assert status == 403 and error["error"]["code"] == "not_your_extension"
    # The holder and a shift lead pass the check (and then meet the switched-off telephony: 503).
    status, error = await api.call("POST", "/api/v1/agents/8003/state", "agent01", json={"state": "ready"})
    assert status == 503 and error["error"]["code"] == "telephony_disabled"
    status, error = await api.call("POST", "/api/v1/agents/8003/state", "lead01", json={"state": "ready"})
    assert status == 503
    status, error = await api.call(
        "POST", "/api/v1/calls/originate", "lead01", json={"number": "13800138000", "extension": "8003"}
    )
    assert status == 403  # leads supervise states, they do not call out from an agent's phone


async def test_a_refused_sign_in_brings_no_calls_or_transcripts_on_the_socket(api: Api) -> None:
    await api.call("POST", LOGIN, "agent01", json={"action": "login", "extension": "8001"})  # refused: agent02's
    ws = await api.client.ws_connect("/ws", headers={"Authorization": f"Bearer {api.tokens['agent01']}"})
    assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
    bus = api.client.server.app[BUS]
    bus.publish(
        BusEvent("call", "ringing", datetime.now(UTC), {"call_id": "c1", "caller": "13812345678", "agent_id": "8001"})
    )
    bus.publish(BusEvent("speech", "final", datetime.now(UTC), {"call_id": "c1", "text": "路灯坏了"}))
    await asyncio.sleep(0.2)
    try:
        got = await ws.receive(timeout=0.3)
        raise AssertionError(got.data)
    except TimeoutError:
        pass
    await ws.close()


async def test_websocket_from_another_origin_is_refused(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['agent01']}", "Origin": "https://evil.example"}
    async with api.client.get(
        "/ws",
        headers={
            **headers,
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    ) as resp:
        assert resp.status == 403
    own = f"http://{api.client.host}:{api.client.port}"
    ws = await api.client.ws_connect("/ws", headers={**headers, "Origin": own})
    assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
    await ws.close()
