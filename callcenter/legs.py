"""Placing one outgoing leg (an agent's phone, or a number through the trunk) and waiting for its answer.

Used where the call's IVR is over (transfers, click-to-call, survey calls), so a blocking wait on the
call's mailbox loses nothing: the caller's own hang-up still surfaces as `CallerGone`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import TYPE_CHECKING

from callcenter.ari.app_args import AppArgs
from callcenter.ari.ari_events import ChannelDestroyed, ChannelHangupRequest, StasisStart
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone, on_channel

if TYPE_CHECKING:
    from callcenter.context import CallContext

log = logging.getLogger(__name__)
NUMBER = re.compile(r"^\+?\d{3,20}$")


class TelephonyError(Exception):
    """A request the call centre refuses; `code` is stable, the message is what users read."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def trunk_endpoint(trunk: str, number: str) -> str:
    """The dial string of an outside number through the carrier trunk (`trunk` = host:port).

    The `citizens` endpoint has no AOR (it is identified by address), so the request URI is given
    explicitly: `PJSIP/citizens/sip:NUMBER@HOST:PORT`."""
    if not NUMBER.match(number):
        raise TelephonyError("bad_number", f"号码格式不正确：{number}", 422)
    return f"PJSIP/citizens/sip:{number}@{trunk}"


async def ring_leg(ctx: CallContext, call: Call, endpoint: str, channel_id: str, *, args: AppArgs,
                   timeout_s: int, caller_id: str | None = None) -> bool:
    """Originate `endpoint` into our application as `channel_id`; True once it answered (StasisStart).

    On no answer the leg is hung up and disowned. The caller hanging up meanwhile raises CallerGone
    (after hanging the leg up)."""
    ctx.routes.own(channel_id, call)
    try:
        await ctx.client.originate(endpoint, channel_id=channel_id, timeout_s=timeout_s, app_args=args.encode(),
                                  caller_id=caller_id)
        item = await call.until(lambda i: on_channel(i, channel_id, StasisStart, ChannelDestroyed,
                                                     ChannelHangupRequest), timeout_s + 5)
    except CallerGone:
        await drop_leg(ctx, channel_id)
        raise
    except AriError as exc:
        log.info("originate %s failed: %s", endpoint, exc)
        item = None
    if isinstance(item, StasisStart):
        return True
    await drop_leg(ctx, channel_id)
    return False


async def drop_leg(ctx: CallContext, channel_id: str) -> None:
    ctx.routes.disown(channel_id)
    with contextlib.suppress(AriError):  # already gone
        await ctx.client.hangup(channel_id)
