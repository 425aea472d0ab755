"""How every call ends (inbound, click-to-call, callback, survey): the call's lifecycle decides the outcome
from its end event, the call's legs, bridge and ACD hold are released, then the call row is completed from
the lifecycle and the end is published. The one place a call row gets its `outcome`.
"""

from __future__ import annotations

import contextlib
import logging

from callcenter.acd import AgentState, CancelRing, EndCall
from callcenter.ari.client import AriError
from callcenter.call import Call
from callcenter.context import CallContext
from callcenter.domain.call_lifecycle import CallEvent, Failed, HungUp, Outcome, Party

log = logging.getLogger(__name__)


async def finish(ctx: CallContext, call: Call, end: CallEvent) -> None:
    """End the call with its end event: the lifecycle decides the outcome, the row is written from it."""
    ended = call.end(end)
    outcome = str(ended.outcome)
    await release(ctx, call, ended.outcome)
    written = await ctx.rows.end(
        call, ended_at=ctx.clock(), outcome=outcome, hangup_by=str(ended.hangup_by), dtmf_path="".join(call.path)
    )
    if not written:  # ended already (compare-and-set on the outcome): the first end stays, published once
        log.info("call %s: its row had an end already; kept (ours: %s)", call.id, outcome)
        return
    ctx.rows.publish("call", "ended", call, outcome=outcome)


async def after_error(ctx: CallContext, call: Call, exc: BaseException) -> CallEvent:
    """The end event of a call whose flow raised: `HungUp(system)` when Asterisk lost the call (it could not
    be reached, its events connection is down, or the caller's channel is gone: a crash or restart of
    Asterisk cut it), so the lifecycle decides as for any cut call (a connected call stays `answered`);
    `Failed` when our side failed. Without this, a call cut while its bridge was being set up ended `failed`
    or `answered` depending on which side noticed the crash first."""
    if not isinstance(exc, AriError):
        return Failed()
    if exc.status == 0 or not ctx.client.connected.is_set():
        return HungUp(Party.SYSTEM)
    if exc.status == 404:
        try:
            await ctx.client.get_channel(call.channel_id)
        except AriError:
            return HungUp(Party.SYSTEM)
    return Failed()


async def release(ctx: CallContext, call: Call, outcome: Outcome | None) -> None:
    """Give back what the call holds: its queue entry, its agent (wrap-up), bridge, legs and routes."""
    if call.waiting is not None and not call.waiting.callback:
        ctx.acd.remove(call.id)
    cancel_offers(ctx, call.id)
    if call.agent_id and call.bridge_id:
        with contextlib.suppress(Exception):
            ctx.acd.command(call.agent_id, EndCall(call.id))
        if call.answered_at is not None:
            ctx.handle_times.append((ctx.clock() - call.answered_at).total_seconds())
    if call.bridge_id:
        with contextlib.suppress(AriError):
            await ctx.client.destroy_bridge(call.bridge_id)
    if outcome is not Outcome.FAILED and not call.gone:
        with contextlib.suppress(AriError):
            await ctx.client.hangup(call.channel_id)
    if call.agent_channel:
        with contextlib.suppress(AriError):
            await ctx.client.hangup(call.agent_channel)
    for key in (call.channel_id, call.agent_channel, call.bridge_id):
        if key:
            ctx.routes.disown(key)
    ctx.routes.calls.pop(call.id, None)


def cancel_offers(ctx: CallContext, call_id: str) -> None:
    """Agents still ringing for a call that is over go back to ready. The dispatcher makes them ringing when it
    offers the call and only then posts `Offered` to the call's mailbox; a caller who hangs up in between
    (seen under bench.crash's hang-ups after a restart) never reads it, and the agent would ring forever."""
    for agent in list(ctx.acd.agents.values()):
        if agent.state is AgentState.RINGING and agent.call_id == call_id:
            with contextlib.suppress(Exception):
                ctx.acd.command(agent.agent_id, CancelRing(call_id))
