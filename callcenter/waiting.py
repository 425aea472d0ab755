"""A caller waiting for an agent: into the queue, back to its place after a missed ring, out of it into a
callback (written durably through the `CallbackRequests` port before anything is published), and the
figures read to a waiting caller (repeat caller, expected wait).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from callcenter.acd import estimated_wait_s
from callcenter.call import Call
from callcenter.callback_requests import CallbackRequest, RequestKind
from callcenter.context import CallContext

log = logging.getLogger(__name__)
REPEAT_WINDOW = timedelta(hours=24)


def enqueue(ctx: CallContext, call: Call, reason: str, *, priority: int = 0, ivr_path: str = "") -> None:
    call.waiting = ctx.acd.enqueue(  # replaces its entry (a place held since a restart keeps its sequence)
        call.id, call.caller, arrived_at=call.arrived_at, reason=reason, priority=priority, ivr_path=ivr_path
    )
    ctx.rows.publish("queue", "enqueued", call, reason=reason)


def requeue(ctx: CallContext, call: Call) -> None:
    if call.waiting is not None:
        ctx.acd.requeue(call.waiting)
        ctx.rows.publish("queue", "requeued", call)


async def to_callback(ctx: CallContext, call: Call) -> None:
    call.waiting = ctx.acd.to_callback(call.id)
    await ctx.rows.add_event(call, "callback_requested")
    await request_callback(ctx, call, RequestKind.CALLBACK)
    ctx.rows.publish("queue", "callback_requested", call, arrived_at=call.arrived_at.isoformat())


async def request_callback(ctx: CallContext, call: Call, kind: RequestKind, recording: str | None = None) -> None:
    """Write the caller's callback request durably (the notify sweep later calls start_callback); the
    bus event published after it only wakes readers."""
    if ctx.callback_requests is not None:
        await ctx.callback_requests.request(
            CallbackRequest(kind, call.id, call.caller, call.arrived_at, recording), ctx.clock()
        )


def expected_wait_s(ctx: CallContext, position: int) -> float | None:
    return estimated_wait_s(position, list(ctx.handle_times), ctx.acd.serving_agents())


async def is_repeat_caller(ctx: CallContext, call: Call) -> bool:
    try:
        return await ctx.rows.calls_since(call.caller, call.arrived_at - REPEAT_WINDOW, call.id) > 0
    except Exception:
        log.exception("repeat-caller check failed for %s", call.id)
        return False
