"""An inbound call from answer to agent: the pure IVR session (`ivr.inbound.InboundSession`) drives the
IVR and the queue announcements; the ACD core picks agents; this module carries both out.

One coroutine per call reads the call's mailbox in order. While the caller waits, agents are rung without
blocking the mailbox (ring-all rings several at once; the first to answer wins, the others are cancelled),
so a key pressed during ringing still reaches the session (the callback offer).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from callcenter import waiting
from callcenter.acd import AnswerCall, CancelRing, IllegalAgentCommand, QueueError, RingNoAnswer
from callcenter.ari.app_args import AppArgs, LegKind
from callcenter.ari.ari_events import ChannelDestroyed, ChannelEvent, ChannelHangupRequest, StasisStart
from callcenter.ari.client import AriError
from callcenter.call import Call, CallerGone, Item, Offered, TimerFired
from callcenter.callback_requests import RequestKind
from callcenter.context import CallContext
from callcenter.conversation import REQUEUE, converse
from callcenter.domain.call_lifecycle import (
    AgentRinging,
    Answered,
    CallbackChosen,
    CallEvent,
    CaseFound,
    Dequeued,
    Enqueued,
    HungUp,
    IvrHungUp,
    MessageLeft,
    Party,
    RingEnded,
)
from callcenter.ivr_exec import SessionRunner, sound
from callcenter.legs import agent_channel_id, ring_agent_phone
from callcenter.recording_space import room_of
from ivr.actions import Dequeue, Enqueue, IvrAction, LeaveMessage, LookupCase, RequestCallback
from ivr.inbound import InboundSession, InboundState
from ivr.session_events import ActionFailed, AgentAnswered, CallStarted, CaseStatusLooked, IvrEvent, QueueInfo

log = logging.getLogger(__name__)
QUEUE_INFO = "_queue_info"  # runner-internal timers start with "_" and never reach the session
RING = "_ring"

__all__ = ["InboundCall", "sound"]


class InboundCall:
    def __init__(self, ctx: CallContext, call: Call, session: InboundSession | None) -> None:
        self.ctx, self.call, self.ari = ctx, call, ctx.client
        self.session = session
        self.runner = SessionRunner(ctx.client, call, session, self.handle_action, ctx.clock, room=room_of(ctx.tel),
                                    unrecorded=self.unrecorded)
        self.connected = False

    async def unrecorded(self, detail: dict[str, Any]) -> None:
        """The caller's description (or message) could not be recorded: the call says why, names no file."""
        await self.ctx.rows.add_event(self.call, "recording_unavailable", **detail)

    # --- the whole call -------------------------------------------------------------------------------------
    async def run(self, *, adopted: bool, direct: bool, answered: bool = False, bridged: bool = False) -> CallEvent:
        """Return the call's end event. Raises CallerGone when the caller leaves first. Re-adopted after a
        restart of the service: `answered` (an agent leg is on the call), `bridged` (and in its bridge)."""
        call = self.call
        if answered:
            self.connected = True
        elif adopted or direct:
            if direct:
                await self.ari.answer(call.channel_id)
            await self.enqueue("adopted" if adopted else "direct")
        else:
            await self.ari.answer(call.channel_id)
            await self.runner.feed(CallStarted(call.caller, blocked=call.caller in self.ctx.tel.blocklist,
                                               repeat_caller=await waiting.is_repeat_caller(self.ctx, call)))
        while True:
            await self.wait()
            if not self.connected:
                return IvrHungUp(self.runner.hangup_reason or "")
            hangup_by = await converse(self.ctx, call, resumed=bridged)
            bridged = False
            if hangup_by != REQUEUE:
                return HungUp(Party(hangup_by))
            self.connected, self.session, self.runner.session = False, None, None
            await self.enqueue("transfer", keep_bridge=True)

    async def wait(self) -> None:
        """Read the mailbox until an agent is connected or the session ended the call."""
        try:
            while not self.connected and not (self.session is not None and self.session.finished):
                await self.on_item(await self.call.next())
        except CallerGone:
            await self.drop_ringing()
            await self.runner.caller_gone()
            raise
        finally:
            self.runner.cancel_timers()

    async def on_item(self, item: Item) -> None:
        if isinstance(item, Offered):
            await self.ring(item.agent_ids)
        elif isinstance(item, TimerFired) and item.kind == QUEUE_INFO:
            await self.queue_info()
        elif isinstance(item, TimerFired) and item.kind == RING:
            for channel_id in list(self.call.ringing):
                await self.ring_failed(channel_id)
        elif isinstance(item, ChannelEvent) and item.channel.id in self.call.ringing:
            if isinstance(item, StasisStart):
                await self.agent_answered(item.channel.id)
            elif isinstance(item, ChannelDestroyed | ChannelHangupRequest):
                await self.ring_failed(item.channel.id)
        else:
            await self.runner.on_item(item)

    # --- what the session asks of the call centre --------------------------------------------------------------
    async def handle_action(self, action: IvrAction) -> IvrEvent | None:
        if isinstance(action, LookupCase):
            return await self.lookup(action.case_no)
        if isinstance(action, Enqueue):
            await self.enqueue(action.reason, action.priority, action.ivr_path, action.recording)
        elif isinstance(action, Dequeue):
            self.ctx.acd.remove(self.call.id)
            self.call.happened(Dequeued())
            await self.ctx.rows.add_event(self.call, "dequeued", reason=action.reason)
        elif isinstance(action, RequestCallback):
            await self.request_callback()
        elif isinstance(action, LeaveMessage):
            self.call.happened(MessageLeft())
            await self.ctx.rows.update(self.call, description_recording=action.path)
            await self.ctx.rows.add_event(self.call, "message_left", path=action.path, duration_s=action.duration_s,
                                          reason=action.reason, ivr_path=action.ivr_path)
            await waiting.request_callback(self.ctx, self.call, RequestKind.MESSAGE, action.path)
            self.ctx.rows.publish("queue", "message_left", self.call, arrived_at=self.call.arrived_at.isoformat(),
                                  recording=action.path)
        else:
            log.warning("call %s: unexpected action %r", self.call.id, action)
            return ActionFailed(type(action).__name__, "unsupported")
        return None

    async def lookup(self, case_no: str) -> IvrEvent:
        await self.ctx.rows.update(self.call, case_no=case_no[:32])
        try:
            status = await self.ctx.case_lookup(case_no) if self.ctx.case_lookup else None
            if status is not None:
                self.call.happened(CaseFound())
            return CaseStatusLooked(case_no, status)
        except Exception:  # the case store is down: the session apologises and hands over to an agent
            log.exception("case lookup %s failed", case_no)
            return ActionFailed("LookupCase", "lookup failed")

    async def enqueue(self, reason: str, priority: int = 0, ivr_path: str = "", recording: str | None = None,
                      *, keep_bridge: bool = False) -> None:
        ctx, call, now = self.ctx, self.call, self.ctx.clock()
        waiting.enqueue(ctx, call, reason, priority=priority, ivr_path=ivr_path)
        call.happened(Enqueued(reason))
        values: dict[str, object] = {"enqueued_at": now, "queue": "hotline", "dtmf_path": "".join(call.path)}
        if recording:
            values["description_recording"] = recording
        if reason != "transfer":
            values["ivr_exit_at"] = now
        await ctx.rows.update(call, **values)
        await ctx.rows.add_event(call, "enqueued", reason=reason, priority=priority, ivr_path=ivr_path)
        if keep_bridge:  # a transferred caller waits in its bridge, with the bridge's music
            with contextlib.suppress(AriError):
                await self.ari.bridge_moh(call.bridge_id or "", True)
        else:
            self.runner.hold = True
            await self.runner.sync_hold()
        self.runner.start_timer(QUEUE_INFO, ctx.options.announce_s)

    async def queue_info(self) -> None:
        self.runner.start_timer(QUEUE_INFO, self.ctx.options.announce_s)
        if self.session is None or self.session.state != InboundState.QUEUED or self.call.ringing:
            return
        try:
            ahead = self.ctx.acd.ahead_of(self.call.id)
        except QueueError:
            return
        await self.runner.feed(QueueInfo(ahead, waiting.expected_wait_s(self.ctx, ahead + 1)))

    async def request_callback(self) -> None:
        await self.drop_ringing()
        if self.call.waiting is not None:
            with contextlib.suppress(QueueError):  # taken out to ring an agent: put it back first
                self.ctx.acd.requeue(self.call.waiting)
        await waiting.to_callback(self.ctx, self.call)
        self.call.happened(CallbackChosen())

    # --- ringing agents ---------------------------------------------------------------------------------------------
    def queued(self) -> bool:
        return self.session is None or self.session.state == InboundState.QUEUED

    async def ring(self, agent_ids: tuple[str, ...]) -> None:
        ctx, call = self.ctx, self.call
        if not self.queued():  # the caller is leaving (callback chosen): give the agents back
            for agent_id in agent_ids:
                self.command(agent_id, CancelRing(call.id))
            return
        await ctx.rows.update(call, ring_at=ctx.clock(), agent_id=agent_ids[0])
        for agent_id in agent_ids:
            channel_id = agent_channel_id(ctx, call, agent_id)
            call.ringing[channel_id] = agent_id
            call.happened(AgentRinging(agent_id))
            await ctx.rows.add_event(call, "ringing", agent_id=agent_id)
            try:  # without waiting: the caller's keys still reach the session while agents ring
                await ring_agent_phone(ctx, call, agent_id, channel_id, args=AppArgs(LegKind.AGENT, call.id),
                                       caller_id=call.caller)
            except AriError as exc:
                log.info("originate to %s failed: %s", agent_id, exc)
                await self.ring_failed(channel_id)
        if call.ringing:
            self.runner.start_timer(RING, ctx.tel.ring_timeout_s + 5)

    async def agent_answered(self, channel_id: str) -> None:
        call = self.call
        agent_id = call.ringing.pop(channel_id)
        await self.drop_ringing()  # ring-all: the others stop ringing and keep their idle time
        if not self.queued():
            await self.hang_up_leg(channel_id)
            self.command(agent_id, CancelRing(call.id))
            return
        self.command(agent_id, AnswerCall(call.id))
        call.happened(Answered())
        call.agent_id, call.agent_channel = agent_id, channel_id
        await self.ctx.rows.update(call, agent_id=agent_id)
        self.runner.hold = False
        if self.session is not None:
            await self.runner.feed(AgentAnswered(agent_id))
        self.connected = True

    async def ring_failed(self, channel_id: str) -> None:
        call = self.call
        agent_id = call.ringing.pop(channel_id, None)
        if agent_id is None:
            return
        await self.hang_up_leg(channel_id)
        self.command(agent_id, RingNoAnswer(call.id))
        await self.ctx.rows.add_event(call, "no_answer", agent_id=agent_id)
        if not call.ringing:
            self.runner.cancel_timer(RING)
            call.happened(RingEnded())
            if self.queued():
                waiting.requeue(self.ctx, call)

    async def drop_ringing(self) -> None:
        self.runner.cancel_timer(RING)
        if self.call.ringing:
            self.call.happened(RingEnded())
        for channel_id, agent_id in list(self.call.ringing.items()):
            self.call.ringing.pop(channel_id, None)
            await self.hang_up_leg(channel_id)
            self.command(agent_id, CancelRing(self.call.id))

    async def hang_up_leg(self, channel_id: str) -> None:
        self.ctx.routes.disown(channel_id)
        with contextlib.suppress(AriError):  # already gone
            await self.ari.hangup(channel_id)

    def command(self, agent_id: str, command: object) -> None:
        try:
            self.ctx.acd.command(agent_id, command)
        except (IllegalAgentCommand, KeyError) as exc:  # e.g. the agent logged out meanwhile
            log.info("agent %s: %r refused: %s", agent_id, command, exc)
