"""Hold and resume a connected call: the caller leaves the conversation bridge and hears music on hold;
the agent's leg (and the bridge's recording) stay where they are.

Why not ARI's channel hold: it queues a HOLD indication *from* the channel, so the bridge would play music
to the agent. Taking the caller out of the bridge and starting MOH on their channel is what an agent means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.call import Call
from callcenter.legs import TelephonyError

if TYPE_CHECKING:
    from callcenter.context import CallContext


async def set_hold(ctx: CallContext, call: Call, on: bool, *, actor: str) -> bool:
    """Put the caller on hold (on=True) or back into the conversation; returns the new hold state."""
    if not call.bridge_id or not call.agent_channel or call.gone:
        raise TelephonyError("call_not_connected", "该通话未接通或已结束，不能保持", 404)
    if call.held == on:
        return on
    if on:
        await ctx.client.remove_from_bridge(call.bridge_id, call.channel_id)
        await ctx.client.moh(call.channel_id, True)
    else:
        await ctx.client.moh(call.channel_id, False)
        await ctx.client.add_to_bridge(call.bridge_id, call.channel_id)
    call.held = on
    await ctx.rows.add_event(call, "held" if on else "resumed", agent_id=call.agent_id, actor=actor)
    return on
