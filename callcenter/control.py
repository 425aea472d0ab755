"""CallControl: the port through which web and notify drive telephony, and AriCallControl, its
implementation on the call runtime (Asterisk through ARI).

Callers see plain data (`AgentStatus`, `LiveCall`, the queue snapshot) and `TelephonyError` /
`IllegalAgentCommand` refusals; nothing outside callcenter touches the runtime's ACD, ARI client or calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from callcenter.acd import AgentCommand
from callcenter.ari.client import AriError
from callcenter.callback_desk import OnAnswer
from callcenter.legs import TelephonyError
from callcenter.settings import webrtc_endpoint

if TYPE_CHECKING:
    from callcenter.runtime import CallRuntime

SurveyAnswer = Callable[[int, int | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class AgentStatus:
    extension: str
    state: str  # an AgentState value
    reason: str | None
    call_id: str | None


@dataclass(frozen=True)
class LiveCall:
    id: str
    agent_id: str | None
    held: bool


class CallControl(Protocol):
    # --- agents
    def agent(self, extension: str) -> AgentStatus | None: ...
    def agent_command(self, extension: str, command: AgentCommand) -> AgentStatus: ...
    async def registration(self, extension: str) -> str: ...
    def snapshot(self) -> dict[str, object]: ...
    # --- live calls
    def live_call(self, call_id: str) -> LiveCall | None: ...
    async def hang_up(self, call_id: str) -> None: ...
    async def hold(self, call_id: str, on: bool, *, actor: str) -> bool: ...
    async def transfer(self, call_id: str, kind: str, target: str, *, actor: str) -> None: ...
    async def originate(self, agent_id: str, number: str) -> str: ...
    async def supervise(self, call_id: str, supervisor_ext: str, mode: str, *, actor: str) -> dict[str, str]: ...
    # --- the loop's calls and messages (notify)
    async def start_callback(self, *, callback_id: int, number: str, call_id: str | None,
                             on_answer: OnAnswer) -> None: ...
    async def start_survey(self, *, callback_id: int, number: str, case_no: str, state: str,
                           result_text: str | None, on_answer: SurveyAnswer) -> None: ...
    async def send_sip_message(self, *, to_endpoint_or_uri: str, body: str, sender: str) -> None: ...


class AriCallControl:
    """CallControl on the running `CallRuntime`."""

    def __init__(self, runtime: CallRuntime) -> None:
        self._rt = runtime

    def agent(self, extension: str) -> AgentStatus | None:
        agent = self._rt.acd.agents.get(extension)
        if agent is None:
            return None
        return AgentStatus(agent.agent_id, agent.state.value, agent.reason, agent.call_id)

    def agent_command(self, extension: str, command: AgentCommand) -> AgentStatus:
        """Apply an agent command; TelephonyError `agent_not_found`, or IllegalAgentCommand (nothing changed)."""
        if extension not in self._rt.acd.agents:
            raise TelephonyError("agent_not_found", f"没有分机号为 {extension} 的坐席", 404)
        self._rt.acd.command(extension, command)
        status = self.agent(extension)
        assert status is not None
        return status

    async def registration(self, extension: str) -> str:
        """The phone's registration as Asterisk reports it ("online", "offline", ...): the browser phone's
        when it is registered (it is the one that rings then), else the desk phone's."""
        if self._rt.tel.webrtc is not None:
            with contextlib.suppress(AriError):
                if (await self._rt.client.endpoint_state("PJSIP", webrtc_endpoint(extension))).lower() == "online":
                    return "online"
        return (await self._rt.client.endpoint_state("PJSIP", extension)).lower()

    def snapshot(self) -> dict[str, object]:
        return self._rt.acd.snapshot()

    def live_call(self, call_id: str) -> LiveCall | None:
        call = self._rt.calls.get(call_id)
        return None if call is None else LiveCall(call.id, call.agent_id, call.held)

    async def hang_up(self, call_id: str) -> None:
        call = self._rt.calls.get(call_id)
        if call is None:
            raise TelephonyError("call_not_live", "该通话不在进行中", 404)
        await self._rt.client.hangup(call.channel_id)

    async def hold(self, call_id: str, on: bool, *, actor: str) -> bool:
        return await self._rt.hold(call_id, on, actor=actor)

    async def transfer(self, call_id: str, kind: str, target: str, *, actor: str) -> None:
        await self._rt.transfer(call_id, kind, target, actor=actor)

    async def originate(self, agent_id: str, number: str) -> str:
        return await self._rt.originate(agent_id, number)

    async def supervise(self, call_id: str, supervisor_ext: str, mode: str, *, actor: str) -> dict[str, str]:
        return await self._rt.supervise(call_id, supervisor_ext, mode, actor=actor)

    async def start_callback(self, *, callback_id: int, number: str, call_id: str | None,
                             on_answer: OnAnswer) -> None:
        await self._rt.start_callback(callback_id=callback_id, number=number, call_id=call_id, on_answer=on_answer)

    async def start_survey(self, *, callback_id: int, number: str, case_no: str, state: str,
                           result_text: str | None, on_answer: SurveyAnswer) -> None:
        await self._rt.start_survey(callback_id=callback_id, number=number, case_no=case_no, state=state,
                                    result_text=result_text, on_answer=on_answer)

    async def send_sip_message(self, *, to_endpoint_or_uri: str, body: str, sender: str) -> None:
        await self._rt.send_sip_message(to_endpoint_or_uri=to_endpoint_or_uri, body=body, sender=sender)

