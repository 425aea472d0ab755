"""Reconciling with Asterisk after every (re)connection: the pure plan (`callcenter/domain/adoption.py`)
carried out over ARI and the call rows.

Asterisk keeps our channels and bridges while the service is away (a `kill -9`, a crash, a deploy) and
replays no events, so after a start or reconnect the runtime lists what Asterisk holds, reads the
unfinished call rows, and: hangs up stale legs (a ring cut by the restart is resolved once, before the
caller is offered again), destroys orphaned bridges, tells live calls which of their channels are gone
(Asterisk itself restarted), resumes bridged conversations (agent back on the call, held callers stay on
hold, supervisors can listen again), queues the callers that were in the IVR or waiting (at their original
arrival), and closes the rows nothing is left of (their outcome from the call lifecycle).

Every caller to adopt has its place in the line held at once, before any of their calls runs (an adoption
reads and writes call rows and may wait on Asterisk): agents freed by the restart would otherwise be offered
whichever adopted caller got back into the queue first, not the one that waited longest.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from callcenter.ari.ari_events import Channel, ChannelDestroyed
from callcenter.ari.client import AriError
from callcenter.call import Call
from callcenter.context import CallContext
from callcenter.domain import adoption
from callcenter.domain.adoption import OpenCall, Plan, Resume
from callcenter.domain.call_lifecycle import HungUp, Party, replayed

log = logging.getLogger(__name__)
Spawn = Callable[[Call, Resume], Awaitable[None]]
Adopt = Callable[[Channel, dict[str, Any] | None], Awaitable[None]]


async def reconcile(ctx: CallContext, *, adopt_caller: Adopt, resume: Spawn) -> Plan:
    """Carry out the adoption plan; `adopt_caller(channel, row)` runs a caller's queued call (`row`: its
    unfinished call row, None when unknown), `resume(call, r)` a resumed conversation (both as background
    tasks)."""
    channels = await ctx.client.list_channels()
    bridges = await ctx.client.list_bridges()
    rows = {r["id"]: r for r in await _unfinished(ctx)}
    open_calls = {i: OpenCall(i, r["channel_id"] or "", r["direction"]) for i, r in rows.items()}
    plan = adoption.plan(channels, bridges, open_calls, app_name=ctx.tel.app_name, owned=set(ctx.routes.owners))
    for channel_id in plan.hang_up:
        with contextlib.suppress(AriError):  # gone meanwhile
            await ctx.client.hangup(channel_id)
    for bridge_id in plan.destroy_bridges:
        with contextlib.suppress(AriError):
            await ctx.client.destroy_bridge(bridge_id)
    for channel_id in plan.lost_channels:
        lost(ctx, channel_id)
    for found in plan.resume:
        call = resumed_call(ctx, rows[found.call_id], found)
        ctx.routes.spawn(resume(call, found), call.id)
    by_channel = {r["channel_id"]: r for r in rows.values() if r["channel_id"] and r["direction"] == "inbound"}
    for channel in plan.queue:  # no await in this loop: every place is held before any adoption runs
        row = by_channel.get(channel.id)
        if row is not None:
            ctx.acd.hold_place(row["id"], row["caller"], arrived_at=_aware(row["arrived_at"]) or ctx.clock())
        ctx.routes.spawn(_adopt(ctx, adopt_caller, channel, row), channel.id)
    for call_id in plan.close:
        await close(ctx, rows[call_id])
    if plan.resume or plan.queue or plan.hang_up or plan.close or plan.lost_channels:
        log.info(
            "reconciled: %d resumed, %d queued, %d legs hung up, %d bridges destroyed, %d channels lost, "
            "%d rows closed",
            len(plan.resume),
            len(plan.queue),
            len(plan.hang_up),
            len(plan.destroy_bridges),
            len(plan.lost_channels),
            len(plan.close),
        )
    return plan


async def _adopt(ctx: CallContext, adopt_caller: Adopt, channel: Channel, row: dict[str, Any] | None) -> None:
    """Run an adopted caller's call; a place still held for it when the call ends (it ended before it was
    queued) is given back, so it never holds up the line."""
    try:
        await adopt_caller(channel, row)
    finally:
        if row is not None:
            ctx.acd.release_place(row["id"])


async def _unfinished(ctx: CallContext) -> list[dict[str, Any]]:
    try:
        return await ctx.rows.unfinished()
    except Exception:  # the database is down: adopt callers from ARI alone, resume nothing
        log.exception("unfinished calls could not be read; reconciling from Asterisk only")
        return []


def lost(ctx: CallContext, channel_id: str) -> None:
    """A live call's channel is gone from Asterisk without an event (Asterisk restarted): tell the call as
    if it had hung up, so it ends the usual way."""
    owner = ctx.routes.owners.get(channel_id)
    if owner is not None:
        owner.mailbox.put_nowait(
            ChannelDestroyed(
                "ChannelDestroyed",
                ctx.tel.app_name,
                "",
                {},
                channel=Channel(channel_id, "", "Down"),
                cause=0,
                cause_txt="gone after reconnect",
            )
        )


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def resumed_call(ctx: CallContext, row: dict[str, Any], found: Resume) -> Call:
    """The live call again, from its row and what Asterisk holds: owned, its agent on it again."""
    arrived = _aware(row["arrived_at"]) or ctx.clock()
    call = Call(
        row["id"],
        found.channel_id,
        row["caller"],
        arrived,
        path=list(row["dtmf_path"] or ""),
        direction=row["direction"],
    )
    call.lifecycle = replayed(row["direction"], queued=row["enqueued_at"] is not None, answered=True)
    if row["direction"] == "inbound":  # the agent whose leg it is (none for an outside number)
        call.agent_id = adoption.agent_of(found.other_channel, call.id)
    else:  # calls we place: the agent's phone is the call's own channel
        call.agent_id = row["agent_id"] or row["caller"]
    call.agent_channel, call.bridge_id, call.held = found.other_channel, found.bridge_id or None, found.held
    if found.bridge_id:  # else: answered while the service was away; join() bridges and stamps it
        call.answered_at = _aware(row["answered_at"]) or ctx.clock()
    ctx.routes.calls[call.id] = call
    for key in (call.channel_id, call.agent_channel, call.bridge_id):
        if key:
            ctx.routes.own(key, call)
    if call.agent_id in ctx.acd.agents:
        ctx.acd.resume_call(call.agent_id, call.id)
    return call


async def close(ctx: CallContext, row: dict[str, Any]) -> None:
    """End a row nothing is left of (its channels ended while the service was away)."""
    lifecycle = replayed(
        row["direction"], queued=row["enqueued_at"] is not None, answered=row["answered_at"] is not None
    )
    call = Call(
        row["id"],
        row["channel_id"] or "",
        row["caller"],
        _aware(row["arrived_at"]) or ctx.clock(),
        direction=row["direction"],
    )
    call.lifecycle = lifecycle
    ended = call.end(HungUp(Party.SYSTEM))
    outcome = str(ended.outcome)
    if await ctx.rows.close(call, ended_at=ctx.clock(), outcome=outcome, hangup_by=str(ended.hangup_by)):
        await ctx.rows.add_event(call, "closed_after_restart")
        ctx.rows.publish("call", "ended", call, outcome=outcome)
