"""Placing one outgoing leg (an agent's phone, or a number through the trunk) and waiting for its answer.

Used where the call's IVR is over (transfers, click-to-call, survey calls), so a blocking wait on the
call's mailbox loses nothing: the caller's own hang-up still surfaces as `CallerGone`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from callcenter.ari.app_args import AppArgs
from callcenter.ari.ari_events import ChannelDestroyed, ChannelHangupRequest, StasisStart
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone, on_channel
from callcenter.settings import webrtc_endpoint
from core.phone import normalize_number

if TYPE_CHECKING:
    from callcenter.context import CallContext

log = logging.getLogger(__name__)
NUMBER = re.compile(r"^\+?\d{3,20}$")


class TelephonyError(Exception):
    """A request the call centre refuses; `code` is stable, the message is what users read."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def trunk_endpoint(trunk: str, number: str, area_code: str = "0573") -> str:
    """The dial string of an outside number through the carrier trunk (`trunk` = host:port), in the one
    national form (core.phone.normalize_number: +86/0086 dropped, a local fixed line gets its area code).

    The `citizens` endpoint has no AOR (it is identified by address), so the request URI is given
    explicitly: `PJSIP/citizens/sip:NUMBER@HOST:PORT`."""
    national = normalize_number(number, area_code)
    if not NUMBER.match(national):
        raise TelephonyError("bad_number", f"号码格式不正确：{number}", 422)
    return f"PJSIP/citizens/sip:{national}@{trunk}"


def agent_channel_id(ctx: CallContext, call: Call, agent_id: str) -> str:
    """A fresh id for a leg ringing `agent_id` for `call`."""
    return f"{call.id}-{agent_id}-{ctx.routes.next_n()}"


async def place_leg(ctx: CallContext, call: Call, endpoint: str, channel_id: str, *, args: AppArgs,
                    timeout_s: int, caller_id: str | None = None) -> None:
    """Originate `endpoint` into our application as `channel_id`, owned by `call` (its events go to the
    call's mailbox); returns at once. Raises AriError when Asterisk refuses."""
    ctx.routes.own(channel_id, call)
    await ctx.client.originate(endpoint, channel_id=channel_id, timeout_s=timeout_s, app_args=args.encode(),
                               caller_id=caller_id)


async def agent_endpoint(ctx: CallContext, agent_id: str) -> str:
    """Which phone of the agent rings: the browser phone in the console (endpoint `EXT-web`) while it is
    registered - the agent chose it there - else the desk phone (endpoint `EXT`)."""
    if ctx.tel.webrtc is not None:
        browser = webrtc_endpoint(agent_id)
        with contextlib.suppress(AriError):
            if (await ctx.client.endpoint_state("PJSIP", browser)).lower() == "online":
                return f"PJSIP/{browser}"
    return f"PJSIP/{agent_id}"


async def ring_agent_phone(ctx: CallContext, call: Call, agent_id: str, channel_id: str, *, args: AppArgs,
                           caller_id: str | None) -> None:
    """The one way an agent's phone is rung (queue offers, transfers, click-to-call, callbacks): its PJSIP
    endpoint (`agent_endpoint`), the ring timeout, our application. Returns at once; AriError when Asterisk
    refuses."""
    await place_leg(ctx, call, await agent_endpoint(ctx, agent_id), channel_id, args=args,
                    timeout_s=ctx.tel.ring_timeout_s, caller_id=caller_id)


async def ring_leg(ctx: CallContext, call: Call, endpoint: str, channel_id: str, *, args: AppArgs,
                   timeout_s: int, caller_id: str | None = None) -> bool:
    """Originate `endpoint` into our application as `channel_id`; True once it answered (StasisStart).

    On no answer the leg is hung up and disowned. The caller hanging up meanwhile raises CallerGone
    (after hanging the leg up)."""
    return await _answered(ctx, call, channel_id, timeout_s, place_leg(
        ctx, call, endpoint, channel_id, args=args, timeout_s=timeout_s, caller_id=caller_id))


async def ring_agent_leg(ctx: CallContext, call: Call, agent_id: str, channel_id: str, *, args: AppArgs,
                         caller_id: str | None) -> bool:
    """Ring an agent's phone (`ring_agent_phone`) and wait for the answer, like `ring_leg`."""
    return await _answered(ctx, call, channel_id, ctx.tel.ring_timeout_s, ring_agent_phone(
        ctx, call, agent_id, channel_id, args=args, caller_id=caller_id))


async def _answered(ctx: CallContext, call: Call, channel_id: str, timeout_s: int,
                    placing: Awaitable[None]) -> bool:
    try:
        await placing
        item = await call.until(lambda i: on_channel(i, channel_id, StasisStart, ChannelDestroyed,
                                                     ChannelHangupRequest), timeout_s + 5)
    except CallerGone:
        await drop_leg(ctx, channel_id)
        raise
    except AriError as exc:
        log.info("originate %s failed: %s", channel_id, exc)
        item = None
    if isinstance(item, StasisStart):
        return True
    await drop_leg(ctx, channel_id)
    return False


async def drop_leg(ctx: CallContext, channel_id: str) -> None:
    ctx.routes.disown(channel_id)
    with contextlib.suppress(AriError):  # already gone
        await ctx.client.hangup(channel_id)
