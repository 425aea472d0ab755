"""Callbacks that keep their place: a caller who chose a callback (or left a message) is called back when
their place in the queue comes up.

The durable fact is the notify feature's `callbacks` row; this module only holds what a restart may lose.
`start(...)` (the runtime's `start_callback`, called by the notify sweep) arms the queue entry with the row's
id, or puts a callback entry back into the queue with the original call's arrival time. When the pure ACD
offers that entry, `offer(...)` places a click-to-call style call: the chosen agent's phone first, then the
citizen through the trunk, then the recorded bridge (`callcenter.outbound`).

Outcomes: the citizen answered → `on_answer(id, 1, None)`; the citizen did not answer → `on_answer(id,
None, None)` (the notify side retries); the agent did not answer → not ready ("no_answer") and the entry
goes back to its place, nothing reported yet.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from callcenter import outbound
from callcenter.acd import (
    AgentState,
    AnswerCall,
    CancelRing,
    EndCall,
    IllegalAgentCommand,
    QueueError,
    RingNoAnswer,
    WaitingCall,
)
from callcenter.call import Call, CallerGone
from callcenter.call_end import finish
from callcenter.context import CallContext
from callcenter.domain.call_lifecycle import CallEvent, Failed, HungUp, NotAnswered, Party
from callcenter.legs import trunk_endpoint

log = logging.getLogger(__name__)
OnAnswer = Callable[[int, int | None, str | None], Awaitable[None]]


@dataclass
class Armed:
    """One started callback: its durable row and whom to tell how it ended (exactly once)."""

    callback_id: int
    number: str
    on_answer: OnAnswer
    reported: bool = False


class CallbackDesk:
    """The runtime's callbacks: armed handlers by queue call id, and the ones being dialled right now."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.armed: dict[str, Armed] = {}
        self.dialling: set[str] = set()

    async def start(self, *, callback_id: int, number: str, call_id: str | None, on_answer: OnAnswer) -> None:
        """Arm the callback for `call_id` (keeping or restoring its place); returns at once.

        Raises TelephonyError `bad_number` for a malformed number."""
        trunk_endpoint(self.ctx.trunk_outbound, number)
        key = call_id or f"callback-{callback_id}"
        self.armed[key] = Armed(callback_id, number, on_answer)
        if key in self.dialling:  # its call is on the way; that call reports to the handler just stored
            return
        acd = self.ctx.acd
        if any(c.call_id == key for c in acd.queue.calls):
            try:
                acd.arm_callback(key, callback_id)
            except QueueError:  # the caller is still on hold in the queue: an agent will take the call
                log.info("callback %s: call %s is still waiting on hold", callback_id, key)
            return
        arrived = await self.arrival(call_id)
        acd.add_callback(key, number, arrived_at=arrived, callback_id=callback_id)
        log.info("callback %s for call %s back in the queue (arrived %s)", callback_id, key, arrived)

    async def arrival(self, call_id: str | None) -> datetime:
        """The original call's arrival (naive UTC in the call records), so the callback keeps its place."""
        record = None
        if call_id:
            try:
                record = await self.ctx.rows.get(call_id)
            except Exception:
                log.exception("call record %s could not be read", call_id)
        if record is None:
            return self.ctx.clock()
        arrived: datetime = record["arrived_at"]
        return arrived.replace(tzinfo=UTC) if arrived.tzinfo is None else arrived

    def offer(self, waiting: WaitingCall, agent_ids: tuple[str, ...]) -> None:
        """The ACD offered a callback entry to `agent_ids` (one agent): place the call in the background."""
        armed = self.armed.get(waiting.call_id)
        if armed is None:  # cannot happen: entries are armed together with their handler
            log.error("callback entry %s has no handler; dropped", waiting.call_id)
            for agent_id in agent_ids:
                self.command(agent_id, CancelRing(waiting.call_id))
            return
        self.dialling.add(waiting.call_id)
        self.ctx.routes.spawn(self.dial(waiting, agent_ids[0], armed), waiting.call_id)

    async def dial(self, waiting: WaitingCall, agent_id: str, armed: Armed) -> None:
        call: Call | None = None
        end: CallEvent = Failed()
        try:
            call = await self.new_call(waiting, agent_id, armed)
            end = await self.talk(call, waiting, agent_id, armed)
        except Exception:  # on any bug: free the agent and let the notify side retry the callback
            log.exception("callback call for %s failed", waiting.call_id)
            self.free_agent(agent_id, waiting.call_id)
            await self.report(waiting.call_id, armed, None)
        finally:
            self.dialling.discard(waiting.call_id)
        if call is not None:
            await finish(self.ctx, call, end)

    async def talk(self, call: Call, waiting: WaitingCall, agent_id: str, armed: Armed) -> CallEvent:
        ctx = self.ctx
        try:
            answered = await outbound.ring_agent(ctx, call, agent_id, armed.number)
        except CallerGone:  # declined
            answered = False
        if not answered:
            self.command(agent_id, RingNoAnswer(waiting.call_id))
            await ctx.rows.add_event(call, "no_answer", agent_id=agent_id)
            self.requeue(waiting)
            return NotAnswered()
        self.command(agent_id, AnswerCall(waiting.call_id))
        endpoint = trunk_endpoint(ctx.trunk_outbound, armed.number)
        try:
            result = await outbound.dial_and_bridge(
                ctx, call, armed.number, endpoint, on_answered=lambda: self.report(waiting.call_id, armed, 1))
        except CallerGone:  # the agent hung up while the citizen rang: the callback waits for the next agent
            self.requeue(waiting)
            return HungUp(Party.AGENT)
        finally:
            self.command(agent_id, EndCall(waiting.call_id))
        if result is None:
            await self.report(waiting.call_id, armed, None)
            return NotAnswered()
        return result

    async def new_call(self, waiting: WaitingCall, agent_id: str, armed: Armed) -> Call:
        """The outbound call's record, linked both ways to the original call through call events."""
        ctx = self.ctx
        call = outbound.new_call(ctx, "agent", agent_id, "outbound")
        call.agent_id = agent_id
        await ctx.rows.create(call, caller=agent_id, called=armed.number, direction="outbound")
        await ctx.rows.update(call, agent_id=agent_id)
        await ctx.rows.add_event(call, "callback_started", agent_id=agent_id, callback_id=armed.callback_id,
                     original_call_id=waiting.call_id, original_arrived_at=waiting.arrived_at.isoformat())
        await self.log_original(waiting.call_id, agent_id, callback_id=armed.callback_id,
                                callback_call_id=call.id)
        return call

    async def log_original(self, call_id: str, agent_id: str, **detail: Any) -> None:
        if call_id.startswith("callback-"):
            return
        try:
            await self.ctx.rows.add_event_to(call_id, "callback_dialled", agent_id, **detail)
        except Exception:  # the original record may be gone (or never stored): the outbound side links it
            log.warning("could not link callback to call %s", call_id)

    async def report(self, call_id: str, armed: Armed, answer: int | None) -> None:
        """Tell the notify side how the callback ended, once per start."""
        if armed.reported:
            return
        armed.reported = True
        if self.armed.get(call_id) is armed:
            del self.armed[call_id]
        try:
            await armed.on_answer(armed.callback_id, answer, None)
        except Exception:
            log.exception("on_answer for callback %s failed", armed.callback_id)

    def requeue(self, waiting: WaitingCall) -> None:
        """Back to its old place (same arrival time and sequence), unless it was re-armed meanwhile."""
        with contextlib.suppress(QueueError):
            self.ctx.acd.requeue(waiting)

    def free_agent(self, agent_id: str, call_id: str) -> None:
        agent = self.ctx.acd.agents.get(agent_id)
        if agent is not None and agent.call_id == call_id:
            if agent.state is AgentState.RINGING:
                self.command(agent_id, CancelRing(call_id))
            elif agent.state is AgentState.ON_CALL:
                self.command(agent_id, EndCall(call_id))

    def command(self, agent_id: str, command: object) -> None:
        try:
            self.ctx.acd.command(agent_id, command)
        except (IllegalAgentCommand, KeyError) as exc:  # e.g. the agent logged out meanwhile
            log.info("agent %s: %r refused: %s", agent_id, command, exc)
