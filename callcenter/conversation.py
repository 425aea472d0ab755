"""The connected call: caller and agent (or an outside party) in a recorded mixing bridge, and blind
transfers to another agent, back to the queue, or to an outside number through the trunk.

The caller stays in the bridge `call-<id>` for the whole call, so the one bridge recording holds every
voice; while a transfer target rings, the bridge plays music on hold to the caller.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from callcenter.acd import AgentState, AnswerCall, EndCall, OfferCall, RingNoAnswer
from callcenter.ari.app_args import AppArgs, LegKind
from callcenter.ari.ari_events import ChannelDestroyed, ChannelHangupRequest, StasisEnd
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone, Item, TransferRequest, on_channel
from callcenter.domain.call_lifecycle import Answered, Transferred
from callcenter.legs import TelephonyError, agent_channel_id, drop_leg, ring_agent_leg, ring_leg, trunk_endpoint
from callcenter.recording_space import short_of_space
from callcenter.rig.confgen import recordings_dir

if TYPE_CHECKING:
    from callcenter.context import CallContext

log = logging.getLogger(__name__)
REQUEUE = "requeue"  # converse() result: the caller goes back to the queue
OUTSIDE_RING_S = 40


async def converse(ctx: CallContext, call: Call, *, resumed: bool = False) -> str:
    """Bridge the caller with `call.agent_channel` and wait; return who hung up ("caller", "agent"), or
    REQUEUE when a transfer sent the caller back to the queue. `resumed`: the two are bridged already (a
    conversation re-adopted after a restart of the service)."""
    if resumed:
        await ctx.rows.add_event(call, "resumed", agent_id=call.agent_id, held=call.held)
    else:
        await join(ctx, call)
    while True:
        try:
            item = await call.next()
        except CallerGone:
            if call.agent_channel:
                await drop_leg(ctx, call.agent_channel)
            return "caller"
        if other_left(call, item):
            with contextlib.suppress(AriError):
                await ctx.client.hangup(call.channel_id)
            return "agent"
        if isinstance(item, TransferRequest):
            result = await transfer(ctx, call, item)
            if result is not None:
                return result


def other_left(call: Call, item: Item) -> bool:
    return on_channel(item, call.agent_channel, ChannelHangupRequest, ChannelDestroyed, StasisEnd)


async def join(ctx: CallContext, call: Call) -> None:
    """Put caller and the answered leg into the call's bridge (created and recorded the first time)."""
    assert call.agent_channel
    if call.bridge_id is None:
        with contextlib.suppress(AriError):
            await ctx.client.moh(call.channel_id, False)
        call.bridge_id = f"call-{call.id}"
        ctx.routes.own(call.bridge_id, call)
        await ctx.client.create_bridge(call.bridge_id)
        await ctx.client.add_to_bridge(call.bridge_id, call.channel_id, call.agent_channel)
        missing = await start_call_recording(ctx, call) if ctx.tel.record_calls else None
        call.answered_at = ctx.clock()
        await ctx.rows.update(call, answered_at=call.answered_at,
                              call_recording=f"call-{call.id}.wav" if ctx.tel.record_calls and not missing else None)
        await ctx.rows.add_event(call, "answered", agent_id=call.agent_id)
        if missing:  # the conversation goes on; the call says why it has no recording
            await ctx.rows.add_event(call, "recording_unavailable", **missing)
        return
    with contextlib.suppress(AriError):
        await ctx.client.bridge_moh(call.bridge_id, False)
    await ctx.client.add_to_bridge(call.bridge_id, call.agent_channel)
    await ctx.rows.add_event(call, "answered", agent_id=call.agent_id)


async def start_call_recording(ctx: CallContext, call: Call) -> dict[str, Any] | None:
    """Record the call's bridge; None when started, else why not (disk full, Asterisk refused). Never raises:
    a recording is not worth a dropped citizen."""
    folder = recordings_dir(ctx.tel)
    free = short_of_space(folder, ctx.tel.recording_min_free_mb)
    if free is not None:
        log.error("call %s not recorded: %d bytes free in %s (recording_min_free_mb %d)", call.id, free, folder,
                  ctx.tel.recording_min_free_mb)
        return {"reason": "disk_full", "free_bytes": free}
    try:
        await ctx.client.start_recording(f"bridge:{call.bridge_id}", f"call-{call.id}")
    except AriError as exc:
        log.error("call %s not recorded: %s", call.id, exc)
        return {"reason": "record_failed", "message": str(exc)[:200]}
    return None


async def transfer(ctx: CallContext, call: Call, request: TransferRequest) -> str | None:
    """Blind transfer: the current agent leaves at once (wrap-up); the target is rung while the caller
    hears music. Unanswered → back to the queue. Returns REQUEUE, or None when the target joined."""
    try:
        if request.kind == "agent":
            check_agent_ready(ctx, request.target)
        endpoint = trunk_endpoint(ctx.trunk_outbound, request.target) if request.kind == "number" else ""
    except TelephonyError as exc:
        request.done.set_exception(exc)
        return None
    await detach_current(ctx, call)
    call.happened(Transferred(request.kind))
    await ctx.rows.add_event(call, "transferred", to=request.kind, target=request.target, actor=request.actor)
    request.done.set_result(None)
    with contextlib.suppress(AriError):
        await ctx.client.bridge_moh(call.bridge_id or "", True)
    if request.kind == "queue":
        return REQUEUE
    if request.kind == "agent":
        answered = await ring_agent(ctx, call, request.target)
    else:
        answered = await ring_outside(ctx, call, endpoint, request.target)
    if not answered:
        return REQUEUE
    await join(ctx, call)
    return None


def check_agent_ready(ctx: CallContext, agent_id: str) -> None:
    agent = ctx.acd.agents.get(agent_id)
    if agent is None:
        raise TelephonyError("agent_not_found", f"没有分机号为 {agent_id} 的坐席", 404)
    if agent.state is not AgentState.READY:
        raise TelephonyError("agent_not_ready", f"坐席 {agent_id} 当前不是就绪状态，不能转接")


async def detach_current(ctx: CallContext, call: Call) -> None:
    """The transferring agent (or outside party) leaves the bridge and goes to wrap-up."""
    if call.agent_channel:
        await drop_leg(ctx, call.agent_channel)
    if call.agent_id:
        with contextlib.suppress(Exception):
            ctx.acd.command(call.agent_id, EndCall(call.id))
    call.agent_id = call.agent_channel = None


async def ring_agent(ctx: CallContext, call: Call, agent_id: str) -> bool:
    ctx.acd.command(agent_id, OfferCall(call.id))
    channel_id = agent_channel_id(ctx, call, agent_id)
    await ctx.rows.add_event(call, "ringing", agent_id=agent_id)
    try:
        answered = await ring_agent_leg(ctx, call, agent_id, channel_id, args=AppArgs(LegKind.AGENT, call.id),
                                        caller_id=call.caller)
    except CallerGone:
        with contextlib.suppress(Exception):
            ctx.acd.command(agent_id, RingNoAnswer(call.id))
        raise
    if not answered:
        ctx.acd.command(agent_id, RingNoAnswer(call.id))
        await ctx.rows.add_event(call, "no_answer", agent_id=agent_id)
        return False
    ctx.acd.command(agent_id, AnswerCall(call.id))
    call.happened(Answered())
    call.agent_id, call.agent_channel = agent_id, channel_id
    await ctx.rows.update(call, agent_id=agent_id)
    return True


async def ring_outside(ctx: CallContext, call: Call, endpoint: str, number: str) -> bool:
    channel_id = f"{call.id}-out-{ctx.routes.next_n()}"
    answered = await ring_leg(ctx, call, endpoint, channel_id, args=AppArgs(LegKind.TRANSFER, call.id),
                              timeout_s=OUTSIDE_RING_S, caller_id=call.caller)
    if answered:
        call.happened(Answered())
        call.agent_channel = channel_id
        await ctx.rows.add_event(call, "outside_answered", number=number)
    return answered
