"""Supervisor listen, whisper and barge through snoop channels on the agent's leg.

`POST /channels/{agent}/snoop`: `spy` is what the supervisor hears, `whisper` where the supervisor's voice
goes. On the agent's channel, "in" is what the agent says and "out" what the agent hears (the caller), so:
listen = spy both, whisper none; whisper (coach the agent) = whisper out; barge = whisper both (the
supervisor's voice also enters the bridge as if the agent said it, so the caller hears it too).
The snoop channel and the supervisor's phone meet in a small bridge of their own. Every use is audited.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from callcenter.ari.app_args import AppArgs, LegKind
from callcenter.ari.ari_events import ChannelDestroyed, ChannelHangupRequest, StasisEnd
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone, on_channel
from callcenter.legs import TelephonyError, drop_leg, ring_agent_leg

if TYPE_CHECKING:
    from callcenter.context import CallContext

log = logging.getLogger(__name__)
MODES: dict[str, tuple[str, str]] = {"listen": ("both", "none"), "whisper": ("both", "out"),
                                     "barge": ("both", "both")}


async def start(ctx: CallContext, *, call_id: str, supervisor_ext: str, mode: str, actor: str) -> dict[str, str]:
    """Start supervising a connected call; returns the supervision's ids. The supervisor's phone rings;
    the supervision ends when either the phone or the supervised call hangs up."""
    if mode not in MODES:
        raise TelephonyError("bad_mode", f"不支持的监控方式：{mode}", 422)
    call = ctx.routes.calls.get(call_id)
    if call is None or not call.agent_channel or not call.bridge_id:
        raise TelephonyError("call_not_connected", "该通话未在通话中，无法监听", 404)
    if supervisor_ext not in ctx.acd.agents:
        raise TelephonyError("extension_not_found", f"没有分机号 {supervisor_ext}", 404)
    spy, whisper = MODES[mode]
    leg = Call(f"sup-{call.id}-{ctx.routes.next_n()}", "", supervisor_ext, ctx.clock(), direction="supervise")
    leg.channel_id, snoop_id = f"{leg.id}-phone", f"{leg.id}-snoop"
    ctx.routes.own(snoop_id, leg)
    try:
        await ctx.client.snoop(call.agent_channel, snoop_id, spy=spy, whisper=whisper,
                              app_args=AppArgs(LegKind.SNOOP, call.id).encode())
    except AriError as exc:
        ctx.routes.disown(snoop_id)
        raise TelephonyError("snoop_failed", f"监听失败：{exc.message}", 502) from exc
    detail = {"supervisor_ext": supervisor_ext, "agent_id": call.agent_id, "snoop_channel": snoop_id,
              "spy": spy, "whisper": whisper}
    await ctx.rows.audit(actor, f"call.{mode}", call.id, detail)
    ctx.routes.spawn(run(ctx, leg, snoop_id), leg.id)
    return {"supervision_id": leg.id, "snoop_channel": snoop_id, "mode": mode}


async def run(ctx: CallContext, leg: Call, snoop_id: str) -> None:
    bridge_id = f"{leg.id}-bridge"
    try:
        if await ring_agent_leg(ctx, leg, leg.caller, leg.channel_id, args=AppArgs(LegKind.SUPERVISOR),
                                caller_id=None):
            await ctx.client.create_bridge(bridge_id)
            await ctx.client.add_to_bridge(bridge_id, snoop_id, leg.channel_id)
            await leg.until(lambda i: on_channel(i, snoop_id, ChannelHangupRequest, ChannelDestroyed,
                                                 StasisEnd), 24 * 3600)
    except CallerGone:
        pass  # the supervisor hung up
    except AriError as exc:
        log.info("supervision %s failed: %s", leg.id, exc)
    finally:
        await drop_leg(ctx, snoop_id)
        await drop_leg(ctx, leg.channel_id)
        with contextlib.suppress(AriError):
            await ctx.client.destroy_bridge(bridge_id)

