"""The CallControl port: what web sees of telephony, and that web reaches nothing else of the runtime."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callcenter.acd import IllegalAgentCommand, LogIn, SetReady
from callcenter.call import Call
from callcenter.control import AgentStatus, AriCallControl, LiveCall
from callcenter.legs import TelephonyError
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_INTERNALS = re.compile(
    r"callcenter\.runtime|callcenter\.acd_runtime|\.acd\.(?!stats)|runtime\.client|runtime\.calls")


def control() -> tuple[AriCallControl, CallRuntime]:
    rt = CallRuntime(TelephonySettings(agent_extensions=("8001",)), client=None)  # type: ignore[arg-type]
    return AriCallControl(rt), rt


def test_agent_commands_go_through_the_port_and_refusals_keep_their_codes() -> None:
    port, _ = control()
    assert port.agent("8001") == AgentStatus("8001", "logged_out", None, None)
    assert port.agent_command("8001", LogIn()).state == "not_ready"
    assert port.agent_command("8001", SetReady()) == AgentStatus("8001", "ready", None, None)
    with pytest.raises(IllegalAgentCommand):
        port.agent_command("8001", LogIn())
    with pytest.raises(TelephonyError) as refused:
        port.agent_command("9999", LogIn())
    assert (refused.value.code, refused.value.status) == ("agent_not_found", 404)
    assert port.agent("9999") is None
    assert port.snapshot()["ready"] == 1


async def test_live_calls_are_plain_data_and_unknown_ones_are_refused() -> None:
    port, rt = control()
    call = Call("c1", "ch-1", "13800138000", rt.now(), agent_id="8001")
    rt.calls[call.id] = call
    assert port.live_call("c1") == LiveCall("c1", "8001", False)
    assert port.live_call("c2") is None
    with pytest.raises(TelephonyError) as refused:
        await port.hang_up("c2")
    assert refused.value.code == "call_not_live"


COMPOSITION = {"web/keys.py", "web/lifecycle.py"}  # they build and hold the runtime; handlers get the port
HANDLERS = [p for p in sorted((ROOT / "web").rglob("*.py")) if str(p.relative_to(ROOT)) not in COMPOSITION]


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_web_uses_only_the_port(path: Path) -> None:
    assert RUNTIME_INTERNALS.findall(path.read_text(encoding="utf-8")) == []
