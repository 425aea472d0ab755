"""Call-control endpoints: roles, validation and error mapping (the runtime replaced by a small fake)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from callcenter.agent_sessions import AGENT_SESSIONS
from callcenter.control import LiveCall
from callcenter.legs import TelephonyError
from tests.api_plugin import Api
from web.keys import RUNNING


class FakeCalls:
    """Stands in for the CallControl port in `app[RUNNING].call_control`; remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []
        # c1 is at agent02's extension (8001); c2 at another agent's.
        self.calls = {"c1": SimpleNamespace(id="c1", agent_id="8001", held=False),
                      "c2": SimpleNamespace(id="c2", agent_id="8002", held=False)}

    def live_call(self, call_id: str) -> LiveCall | None:
        call = self.calls.get(call_id)
        return None if call is None else LiveCall(call.id, call.agent_id, call.held)

    async def hold(self, call_id: str, on: bool, *, actor: str) -> bool:
        self.asked.append(("hold", call_id, on, actor))
        self.calls[call_id].held = on
        return on

    async def transfer(self, call_id: str, kind: str, target: str, *, actor: str) -> None:
        if target == "8009":
            raise TelephonyError("agent_not_ready", "坐席 8009 当前不是就绪状态，不能转接")
        self.asked.append(("transfer", call_id, kind, target, actor))

    async def originate(self, agent_id: str, number: str) -> str:
        self.asked.append(("originate", agent_id, number))
        return "c1"

    async def supervise(self, call_id: str, ext: str, mode: str, *, actor: str) -> dict[str, str]:
        self.asked.append(("supervise", call_id, ext, mode, actor))
        return {"supervision_id": "sup-1", "snoop_channel": "sup-1-snoop", "mode": mode}


def install(api: Api) -> FakeCalls:
    fake = FakeCalls()
    api.client.app[RUNNING].call_control = fake
    return fake


async def test_supervisor_functions_are_for_leads_only(api: Api, clock: Any) -> None:
    fake = install(api)
    await api.client.app[AGENT_SESSIONS].sign_in("8005", "lead01", clock())  # signed in at the console
    body = {"mode": "whisper", "extension": "8005"}
    status, error = await api.call("POST", "/api/v1/calls/c1/supervise", "lead01", json={**body, "extension": "8001"})
    assert status == 403 and error["error"]["code"] == "not_your_extension"  # agent02's phone, not the lead's
    status, error = await api.call("POST", "/api/v1/calls/c1/supervise", "agent01", json=body)
    assert status == 403 and error["error"]["code"] == "forbidden"
    status, data = await api.call("POST", "/api/v1/calls/c1/supervise", "lead01", json=body)
    assert status == 202 and data["snoop_channel"] == "sup-1-snoop"
    assert fake.asked == [("supervise", "c1", "8005", "whisper", "lead01")]


async def test_transfer_and_originate_map_refusals_and_validate_input(api: Api) -> None:
    fake = install(api)
    status, _ = await api.call("POST", "/api/v1/calls/c1/transfer", "agent02", json={"kind": "agent", "target": "8002"})
    assert status == 200
    status, error = await api.call("POST", "/api/v1/calls/c1/transfer", "agent02",
                                   json={"kind": "agent", "target": "8009"})
    assert status == 409 and error["error"]["code"] == "agent_not_ready" and "就绪" in error["error"]["message"]
    status, _ = await api.call("POST", "/api/v1/calls/c1/transfer", "agent02", json={"kind": "fax", "target": "1"})
    assert status == 422
    status, error = await api.call("POST", "/api/v1/calls/originate", "agent01", json={"number": "13800138000"})
    assert status == 409 and error["error"]["code"] == "extension_required"  # agent01 holds no extension
    status, error = await api.call("POST", "/api/v1/calls/originate", "agent01",
                                   json={"number": "13800138000", "extension": "8001"})
    assert status == 403 and error["error"]["code"] == "not_your_extension"  # 8001 is agent02's
    status, data = await api.call("POST", "/api/v1/calls/originate", "agent02", json={"number": "13800138000"})
    assert status == 202 and data["call_id"] == "c1"
    status, _ = await api.call("POST", "/api/v1/calls/originate", "dispatcher01",
                               json={"number": "13800138000", "extension": "8001"})
    assert status == 403
    assert fake.asked == [("transfer", "c1", "agent", "8002", "agent02"), ("originate", "8001", "13800138000")]


async def test_without_telephony_the_endpoints_say_so(api: Api) -> None:
    status, error = await api.call("POST", "/api/v1/calls/c1/transfer", "agent01", json={"kind": "queue"})
    assert status == 503 and error["error"]["code"] == "telephony_disabled"


async def test_hold_toggles_and_agents_control_only_their_own_calls(api: Api) -> None:
    fake = install(api)
    status, data = await api.call("POST", "/api/v1/calls/c1/hold", "agent02", json={})
    assert (status, data["held"]) == (200, True)
    status, data = await api.call("POST", "/api/v1/calls/c1/hold", "agent02", json={"on": False})
    assert (status, data["held"]) == (200, False)
    for path, body in (("hold", {}), ("transfer", {"kind": "queue"})):
        status, error = await api.call("POST", f"/api/v1/calls/c2/{path}", "agent02", json=body)
        assert status == 403 and error["error"]["code"] == "not_your_call"
    status, _ = await api.call("POST", "/api/v1/calls/c2/hold", "lead01", json={"on": True})
    assert status == 200
    status, error = await api.call("POST", "/api/v1/calls/c9/hold", "lead01", json={})
    assert status == 404 and error["error"]["code"] == "call_not_live"
    status, _ = await api.call("POST", "/api/v1/calls/c1/hold", "dispatcher01", json={})
    assert status == 403
    status, error = await api.call("POST", "/api/v1/calls/c1/hold", "agent01", json={})  # no extension
    assert status == 403 and error["error"]["code"] == "not_your_call"
    assert fake.asked == [("hold", "c1", True, "agent02"), ("hold", "c1", False, "agent02"),
                          ("hold", "c2", True, "lead01")]
