"""Calls we place: click-to-call (the agent's phone first, then the citizen through the trunk), survey
calls for callbacks (the pure `ivr.survey.SurveySession`), and SMS over SIP MESSAGE.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

from callcenter.acd import AgentState, EndCall, StartOutbound
from callcenter.ari.app_args import AppArgs, LegKind
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone
from callcenter.call_end import after_error, finish
from callcenter.context import CallContext
from callcenter.conversation import converse
from callcenter.domain.call_lifecycle import Answered, CallEvent, Failed, HungUp, NotAnswered, Party, Placed
from callcenter.ivr_exec import SessionRunner
from callcenter.legs import TelephonyError, ring_agent_leg, ring_leg, trunk_endpoint
from callcenter.recording_space import room_of
from ivr.actions import IvrAction, StoreSurveyAnswer
from ivr.session_events import ActionFailed, CallStarted, CaseStatus, IvrEvent
from ivr.survey import SurveySession

log = logging.getLogger(__name__)
SurveyAnswer = Callable[[int, int | None, str | None], Awaitable[None]]


def new_call(ctx: CallContext, leg: str, party: str, direction: str) -> Call:
    call_id = uuid.uuid4().hex[:16]
    call = Call(call_id, f"{call_id}-{leg}", party, ctx.clock(), direction=direction)
    call.happened(Placed())
    ctx.routes.calls[call.id] = call
    ctx.routes.own(call.channel_id, call)
    return call


# --- click-to-call ---------------------------------------------------------------------------------------------
async def click_to_call(ctx: CallContext, agent_id: str, number: str) -> str:
    """Start a click-to-call and return its call id; the call itself runs in the background."""
    endpoint = trunk_endpoint(ctx.trunk_outbound, number)
    agent = ctx.acd.agents.get(agent_id)
    if agent is None:
        raise TelephonyError("agent_not_found", f"没有分机号为 {agent_id} 的坐席", 404)
    if agent.state not in (AgentState.READY, AgentState.NOT_READY):
        raise TelephonyError("agent_busy", f"坐席 {agent_id} 正在通话或振铃，不能外呼")
    call = new_call(ctx, "agent", agent_id, "outbound")
    call.agent_id = agent_id
    ctx.acd.command(agent_id, StartOutbound(call.id))
    await ctx.rows.create(call, caller=agent_id, called=number, direction="outbound")
    ctx.routes.spawn(run_click_to_call(ctx, call, number, endpoint), call.id)
    return call.id


async def run_click_to_call(ctx: CallContext, call: Call, number: str, endpoint: str) -> None:
    end: CallEvent = NotAnswered()
    try:
        end = await _click_to_call(ctx, call, number, endpoint)
    except CallerGone:  # the agent's leg went away (declined, or hung up)
        end = HungUp(Party.AGENT)
    except Exception as exc:
        end = await after_error(ctx, call, exc)
        log.log(logging.ERROR if isinstance(end, Failed) else logging.WARNING, "click-to-call %s ended by an error",
                call.id, exc_info=isinstance(end, Failed))
    finally:
        if call.agent_id and not call.bridge_id:  # never bridged: the agent is free again
            with contextlib.suppress(Exception):
                ctx.acd.command(call.agent_id, EndCall(call.id))
    await finish(ctx, call, end)


async def _click_to_call(ctx: CallContext, call: Call, number: str, endpoint: str) -> CallEvent:
    if not await ring_agent(ctx, call, call.caller, number):
        return NotAnswered()
    return await dial_and_bridge(ctx, call, number, endpoint) or NotAnswered()


async def ring_agent(ctx: CallContext, call: Call, agent_id: str, number: str) -> bool:
    """Ring the agent's phone as the call's own leg (showing the number about to be called); True on answer.
    The agent declining raises CallerGone (the call's leg is the agent's)."""
    return await ring_agent_leg(ctx, call, agent_id, call.channel_id, args=AppArgs(LegKind.OUTBOUND, call.id),
                                caller_id=number)


async def dial_and_bridge(ctx: CallContext, call: Call, number: str, endpoint: str, *,
                          on_answered: Callable[[], Awaitable[None]] | None = None) -> HungUp | None:
    """With the agent on the line: call `endpoint` showing 12319, bridge and talk until one side hangs up.
    Returns the hang-up (who ended the call), or None when the citizen did not answer. `on_answered` runs in the
    background the moment the citizen answers (the bridge follows at once)."""
    await ctx.rows.update(call, ring_at=ctx.clock())
    await ctx.rows.add_event(call, "ringing", agent_id=call.agent_id or call.caller, number=number)
    callee = f"{call.id}-callee"
    if not await ring_leg(ctx, call, endpoint, callee, args=AppArgs(LegKind.OUTBOUND, call.id), timeout_s=40,
                          caller_id=ctx.tel.hotline_number):
        return None
    call.happened(Answered())
    call.agent_channel = callee
    if on_answered is not None:
        ctx.routes.spawn(on_answered(), call.id)
    # converse(): the agent's leg plays the caller's part, the citizen the other party.
    who = await converse(ctx, call)
    return HungUp(Party.CALLEE if who == "agent" else Party.AGENT)


async def run_resumed(ctx: CallContext, call: Call) -> None:
    """A click-to-call or callback conversation re-adopted after a restart: talk on until one side hangs up."""
    end: CallEvent = HungUp(Party.SYSTEM)
    try:
        who = await converse(ctx, call, resumed=True)
        end = HungUp(Party.CALLEE if who == "agent" else Party.AGENT)
    except CallerGone:
        end = HungUp(Party.AGENT)
    except Exception as exc:
        end = await after_error(ctx, call, exc)
        log.log(logging.ERROR if isinstance(end, Failed) else logging.WARNING, "resumed call %s ended by an error",
                call.id, exc_info=isinstance(end, Failed))
    await finish(ctx, call, end)


# --- survey calls ----------------------------------------------------------------------------------------------
class Survey:
    """One survey call; `on_answer` is awaited exactly once, whatever happens."""

    def __init__(self, ctx: CallContext, call: Call, case: CaseStatus, callback_id: int,
                 on_answer: SurveyAnswer) -> None:
        self.ctx, self.call, self.callback_id, self.on_answer = ctx, call, callback_id, on_answer
        flow = ctx.options.survey_flow
        self.session = SurveySession(flow, case)
        self.runner = SessionRunner(ctx.client, call, self.session, self.store, ctx.clock, room=room_of(ctx.tel),
                                    unrecorded=lambda detail: ctx.rows.add_event(call, "recording_unavailable",
                                                                                 **detail))
        self.keys = {answer: int(key) for key, answer in flow.answers.items() if key.isdigit()}
        self.answer: StoreSurveyAnswer | None = None

    async def store(self, action: IvrAction) -> IvrEvent | None:
        if not isinstance(action, StoreSurveyAnswer):
            return ActionFailed(type(action).__name__, "unsupported")
        self.answer = action
        await self.ctx.rows.add_event(self.call, "survey_answer", answer=action.answer, reason=action.reason,
                                      recording=action.reason_recording, ivr_path=action.ivr_path)
        return None

    async def run(self) -> None:
        end: CallEvent = NotAnswered()
        try:
            end = await self.converse()
        except Exception:
            log.exception("survey call %s failed", self.call.id)
            end = Failed()
        finally:
            self.runner.cancel_timers()
            await self.deliver()
        await finish(self.ctx, self.call, end)

    async def converse(self) -> CallEvent:
        ctx, call = self.ctx, self.call
        try:
            answered = await ring_leg(ctx, call, trunk_endpoint(ctx.trunk_outbound, call.caller), call.channel_id,
                                      args=AppArgs(LegKind.SURVEY, call.id), timeout_s=ctx.options.survey_ring_s,
                                      caller_id=ctx.tel.hotline_number)
        except CallerGone:  # declined or failed before answering
            answered = False
        if not answered:
            return NotAnswered()
        call.happened(Answered())
        call.answered_at = ctx.clock()
        await ctx.rows.update(call, answered_at=call.answered_at)
        try:
            await self.runner.feed(CallStarted(call.caller))
            while not self.session.finished:
                await self.runner.on_item(await call.next())
        except CallerGone:
            await self.runner.caller_gone()
        return HungUp(Party.SYSTEM)

    async def deliver(self) -> None:
        answer = self.answer
        key = self.keys.get(answer.answer) if answer and answer.answer else None
        recording = answer.reason_recording if answer else None
        try:
            await self.on_answer(self.callback_id, key, recording)
        except Exception:
            log.exception("on_answer for callback %s failed", self.callback_id)


async def start_survey(ctx: CallContext, *, callback_id: int, number: str, case_no: str, state: str,
                       result_text: str | None, on_answer: SurveyAnswer) -> None:
    trunk_endpoint(ctx.trunk_outbound, number)  # refuse a malformed number before anything starts
    call = new_call(ctx, "survey", number, "survey")
    await ctx.rows.create(call, caller=ctx.tel.hotline_number, called=number, direction="survey")
    await ctx.rows.update(call, case_no=case_no[:32])
    await ctx.rows.add_event(call, "survey_started", callback_id=callback_id, case_no=case_no, state=state,
                             result_text=result_text)
    survey = Survey(ctx, call, CaseStatus(case_no, state), callback_id, on_answer)
    ctx.routes.spawn(survey.run(), call.id)


# --- SMS over SIP MESSAGE ------------------------------------------------------------------------------------------
def message_target(ctx: CallContext, to: str) -> tuple[str | None, str]:
    """(endpoint, "") for one of our agents' extensions, else (None, technology-agnostic `to`)."""
    if to in ctx.acd.agents:
        return f"PJSIP/{to}", ""
    if to.startswith("sip:"):
        return None, f"pjsip:citizens/{to}"
    return None, f"pjsip:citizens/sip:{to}@{ctx.trunk_outbound}"


async def send_sip_message(ctx: CallContext, *, to_endpoint_or_uri: str, body: str, sender: str) -> None:
    if not body:
        raise TelephonyError("empty_message", "短信内容不能为空", 422)
    sender_uri = sender if sender.startswith("sip:") else f"sip:{sender}@{ctx.tel.host}"
    endpoint, to = message_target(ctx, to_endpoint_or_uri)
    try:
        if endpoint is not None:
            await ctx.client.send_message(endpoint, sender_uri, body)
        else:
            await ctx.client.send_message_to(to, sender_uri, body)
    except AriError as exc:
        raise TelephonyError("message_failed", f"短信发送失败：{exc.message}", 502) from exc
