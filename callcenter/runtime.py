"""The call runtime: routes ARI events into per-call mailboxes, runs each call's flow, dispatches queued
calls to agents, ends wrap-ups, and reconciles with Asterisk after every (re)connection.

On any unhandled error in a call the caller is handed back to the dialplan's fallback context (apology,
then app_queue), never left in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from callcenter import hold, outbound, supervise
from callcenter.acd import AgentState, EndCall, Strategy, estimated_wait_s
from callcenter.acd_runtime import AcdRuntime
from callcenter.agent_sessions import SqlAgentSessions
from callcenter.ari.app_args import LegKind, decode, decode_app_data, in_app
from callcenter.ari.ari_events import Channel, Event, StasisStart, TextMessageReceived
from callcenter.ari.client import AriClient, AriError
from callcenter.call import Call, CallerGone, Offered, TransferRequest
from callcenter.callback_desk import CallbackDesk, OnAnswer
from callcenter.callback_requests import CallbackRequest, CallbackRequests, RequestKind
from callcenter.case_lookup import CaseLookup
from callcenter.context import CallContext, CallRows, Routes
from callcenter.domain.agent_session import restore
from callcenter.domain.call_lifecycle import Arrived, CallEvent, Failed, HungUp, Outcome, Party
from callcenter.inbound_call import InboundCall
from callcenter.ivr_exec import sound
from callcenter.legs import TelephonyError
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.clock import Clock, utc_now
from ivr.flow_spec import InboundFlow, SurveyFlow
from ivr.inbound import InboundSession
from ivr.loader import load_inbound_flow, load_survey_flow
from ivr.session_events import CaseStatus

log = logging.getLogger(__name__)
# Incoming SIP MESSAGEs from the citizens' trunk: PJSIP routes them to ARI once the app subscribes (the
# endpoint's message_context has no dialplan destination, see config/asterisk/pjsip.conf.j2).
TEXT_SOURCE = "endpoint:PJSIP/citizens"
REPEAT_WINDOW = timedelta(hours=24)
TRANSFER_KINDS = ("agent", "queue", "number")


class CallRuntime:
    def __init__(self, tel: TelephonySettings, client: AriClient, *, records: SqlCallRecords | None = None,
                 bus: EventBus | None = None, acd: AcdRuntime | None = None,
                 case_lookup: CaseLookup | None = None, announce_s: float = 20.0,
                 flow: InboundFlow | None = None, survey_flow: SurveyFlow | None = None,
                 trunk_outbound: str | None = None, survey_ring_s: int | None = None,
                 sessions: SqlAgentSessions | None = None,
                 callback_requests: CallbackRequests | None = None, clock: Clock = utc_now) -> None:
        self.tel = tel
        self.client = client
        self.records = records
        self.bus = bus or EventBus()
        self.flow = flow or load_inbound_flow()
        self.survey_flow = survey_flow or load_survey_flow()
        self.handle_times: deque[float] = deque(maxlen=50)
        # The carrier's SIP proxy (host:port) for calls and MESSAGEs to outside numbers.
        self._trunk_outbound = trunk_outbound or tel.trunk_outbound
        self.survey_ring_s = survey_ring_s or tel.survey_ring_s
        self.clock = clock
        self.acd = acd or AcdRuntime(tel.agent_extensions, ring_timeout_s=tel.ring_timeout_s,
                                     wrap_up_s=tel.wrapup_s, strategy=Strategy(tel.strategy), clock=clock)
        self.acd.listeners.append(self._agent_changed)
        self.sessions = sessions
        self.callback_requests = callback_requests
        self.case_lookup = case_lookup
        self.tel_announce_s = announce_s
        self.routes = Routes()
        self.calls = self.routes.calls
        self._owners = self.routes.owners
        self._tasks = self.routes.tasks
        self._loops: list[asyncio.Task[Any]] = []
        self.rows = CallRows(records, self.bus, lambda: self.now())
        self.ctx = CallContext(client, self.rows, self.acd, lambda: self.now(), tel, self.routes,
                               self.trunk_outbound)
        self.callbacks = CallbackDesk(self)
        # Texts citizens send by SIP MESSAGE (TextMessageReceived on the trunk endpoint) go to this port:
        # (sender URI, body, idempotency key) -> handled; set by the web lifecycle once the loop runs.
        self.text_inbox: Callable[[str, str, str], Awaitable[Any]] | None = None

    @property
    def trunk_outbound(self) -> str:
        return self._trunk_outbound

    @trunk_outbound.setter
    def trunk_outbound(self, trunk: str) -> None:
        self._trunk_outbound = trunk
        self.ctx = replace(self.ctx, trunk_outbound=trunk)

    # --- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.restore_agents()
        self._loops = [asyncio.create_task(self.client.run_events(self.on_event, self._connected)),
                       asyncio.create_task(self._dispatch()), asyncio.create_task(self._sweep())]

    async def restore_agents(self) -> None:
        """Bring the agents back to their stored sessions (a restart does not log anybody out)."""
        if self.sessions is None:
            return
        now = self.now()
        for extension, session in (await self.sessions.load()).items():
            agent = self.acd.agents.get(extension)
            if agent is not None and session.state is not AgentState.LOGGED_OUT:
                restore(agent, session, now)
                self.sessions.changed(agent, now)
        await self.sessions.flush()
        self.acd.changed.set()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.client.connected.wait(), timeout)

    async def stop(self) -> None:
        await self.client.unsubscribe_all()
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        await self.client.close()

    def now(self) -> datetime:
        return self.clock()

    def next_n(self) -> int:
        return self.routes.next_n()

    # --- event routing --------------------------------------------------------------------------------
    def own(self, key: str, call: Call) -> None:
        self.routes.own(key, call)

    def disown(self, key: str) -> None:
        self.routes.disown(key)

    async def _connected(self) -> None:
        """After each (re)connect: listen for texts from the citizens' trunk, then reconcile calls."""
        try:  # without it texts are refused by Asterisk (404); calls must still work
            await self.client.subscribe(TEXT_SOURCE)
        except AriError as exc:
            log.warning("cannot subscribe to %s for incoming texts: %s", TEXT_SOURCE, exc)
        await self.reconcile()

    def on_event(self, event: Event) -> None:
        if isinstance(event, TextMessageReceived):
            self._spawn(self._text(event), f"text-{event.timestamp}")
            return
        owner = self._owners.get(event.route_key)
        if owner is not None:
            owner.mailbox.put_nowait(event)
        elif isinstance(event, StasisStart) and (args := decode(event.args)) is not None and args.is_caller:
            direct = args.kind is LegKind.QUEUE  # straight to the queue
            self._spawn(self._new_call(event.channel, direct=direct), event.channel.id)

    async def _text(self, event: TextMessageReceived) -> None:
        inbox = self.text_inbox
        if inbox is None:
            log.warning("a text from %s arrived while nothing takes texts; dropped", event.sender)
            return
        key = hashlib.sha256(f"{event.timestamp}|{event.sender}|{event.body}".encode()).hexdigest()[:40]
        try:
            await inbox(event.sender, event.body, key)
        except Exception:  # one bad text must not stop the runtime; it is logged with its sender
            log.exception("text from %s could not be taken", event.sender)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        self.routes.spawn(coro, name)

    spawn = _spawn

    # --- call control for the API and other features (see docs/telephony.md) ----------------------------------
    async def transfer(self, call_id: str, kind: str, target: str, *, actor: str) -> None:
        """Blind-transfer a connected call to an agent, the queue, or an outside number (`kind`)."""
        call = self.calls.get(call_id)
        if call is None or not call.bridge_id or not call.agent_channel or call.direction != "inbound":
            raise TelephonyError("call_not_connected", "该通话不是进行中的来电，不能转接", 404)
        if kind not in TRANSFER_KINDS:
            raise TelephonyError("bad_transfer", f"不支持的转接方式：{kind}", 422)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        call.mailbox.put_nowait(TransferRequest(kind, target, done, actor))
        try:
            await asyncio.wait_for(done, 10)
        except TimeoutError as exc:  # the call ended, or is busy with another transfer
            raise TelephonyError("transfer_not_taken", "通话已结束或正在转接，未能转接", 409) from exc

    async def hold(self, call_id: str, on: bool, *, actor: str) -> bool:
        """Hold or resume a connected call (the caller hears music on hold); returns the hold state."""
        call = self.calls.get(call_id)
        if call is None:
            raise TelephonyError("call_not_connected", "该通话不在进行中", 404)
        return await hold.set_hold(self.ctx, call, on, actor=actor)

    async def originate(self, agent_id: str, number: str) -> str:
        """Click-to-call: ring the agent's phone, then `number` through the trunk; return the call id."""
        return await outbound.click_to_call(self, agent_id, number)

    async def supervise(self, call_id: str, supervisor_ext: str, mode: str, *, actor: str) -> dict[str, str]:
        """Listen / whisper / barge on a connected call from the supervisor's phone (audited)."""
        return await supervise.start(self.ctx, call_id=call_id, supervisor_ext=supervisor_ext, mode=mode,
                                     actor=actor)

    async def start_survey(self, *, callback_id: int, number: str, case_no: str, state: str,
                           result_text: str | None,
                           on_answer: Callable[[int, int | None, str | None], Awaitable[None]]) -> None:
        """Call `number` through the trunk and run the satisfaction survey; returns once the call is
        started. `on_answer(callback_id, key 1/2/3 or None, reason recording or None)` is awaited exactly
        once when the call is over (None: no answer, hung up, or no valid key)."""
        await outbound.start_survey(self, callback_id=callback_id, number=number, case_no=case_no,
                                    state=state, result_text=result_text, on_answer=on_answer)

    async def start_callback(self, *, callback_id: int, number: str, call_id: str | None,
                             on_answer: OnAnswer) -> None:
        """Call `number` back when its original call's place in the queue comes up (agent first, then the
        citizen through the trunk); returns at once. `on_answer(callback_id, 1 or None, None)` is awaited
        once: 1 when the citizen answered and was bridged to the agent, None when the citizen did not answer.
        Raises TelephonyError `bad_number` for a malformed number."""
        await self.callbacks.start(callback_id=callback_id, number=number, call_id=call_id, on_answer=on_answer)

    async def send_sip_message(self, *, to_endpoint_or_uri: str, body: str, sender: str) -> None:
        """SMS over SIP MESSAGE: to an agent's extension, a `sip:` URI, or a number via the trunk."""
        await outbound.send_sip_message(self, to_endpoint_or_uri=to_endpoint_or_uri, body=body, sender=sender)

    async def audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        await self.rows.audit(actor, action, target, detail)

    # --- one call ---------------------------------------------------------------------------------------
    async def _new_call(self, channel: Channel, *, adopted: bool = False, direct: bool = False) -> None:
        known = await self.records.by_channel(channel.id) if adopted and self.records else None
        if known is not None:
            arrived = known["arrived_at"].replace(tzinfo=UTC)
            call = Call(known["id"], channel.id, known["caller"], arrived, path=list(known["dtmf_path"]))
        else:
            call = Call(uuid.uuid4().hex[:16], channel.id, channel.caller_number, self.now())
        call.happened(Arrived())
        self.calls[call.id] = call
        self.own(channel.id, call)
        if self.records and known is None:
            await self.records.create(call.id, caller=call.caller, called=channel.exten or self.tel.hotline_number,
                                      channel_id=channel.id, arrived_at=call.arrived_at)
        self.publish("call", "arrived", call, adopted=adopted)
        await self._run(call, adopted, direct)

    async def _run(self, call: Call, adopted: bool, direct: bool = False) -> None:
        session = None if adopted or direct else InboundSession(self.flow)
        end: CallEvent = HungUp(Party.CALLER)
        try:
            end = await InboundCall(self, call, session).run(adopted=adopted, direct=direct)
        except asyncio.CancelledError:
            # Shutdown: leave the caller in Stasis (on hold) for the next instance to adopt.
            self.calls.pop(call.id, None)
            raise
        except CallerGone:
            pass
        except Exception:
            log.exception("call %s failed; handing it to the fallback dialplan", call.id)
            end = Failed()
            await self._rescue(call)
        await self.finish(call, end)

    async def _rescue(self, call: Call) -> None:
        if call.gone:
            return
        try:
            await self.client.continue_in_dialplan(call.channel_id, "fallback", "s", 1)
        except AriError:
            with contextlib.suppress(AriError):
                await self.client.play(f"channel:{call.channel_id}", sound("apology"))

    async def finish(self, call: Call, end: CallEvent) -> None:
        """End the call with its end event: the lifecycle decides the outcome, the row is written from it."""
        ended = call.end(end)
        outcome = str(ended.outcome)
        await self._release(call, ended.outcome)
        await self.update_call_row(call, ended_at=self.now(), outcome=outcome, hangup_by=str(ended.hangup_by),
                          dtmf_path="".join(call.path))
        self.publish("call", "ended", call, outcome=outcome)

    async def _release(self, call: Call, outcome: Outcome | None) -> None:
        if call.waiting is not None and not call.waiting.callback:
            self.acd.remove(call.id)
        if call.agent_id and call.bridge_id:
            with contextlib.suppress(Exception):
                self.acd.command(call.agent_id, EndCall(call.id))
            if call.answered_at is not None:
                self.handle_times.append((self.now() - call.answered_at).total_seconds())
        if call.bridge_id:
            with contextlib.suppress(AriError):
                await self.client.destroy_bridge(call.bridge_id)
        if outcome is not Outcome.FAILED and not call.gone:
            with contextlib.suppress(AriError):
                await self.client.hangup(call.channel_id)
        if call.agent_channel:
            with contextlib.suppress(AriError):
                await self.client.hangup(call.agent_channel)
        for key in (call.channel_id, call.agent_channel, call.bridge_id):
            if key:
                self.disown(key)
        self.calls.pop(call.id, None)

    # --- queue ------------------------------------------------------------------------------------------
    def enqueue(self, call: Call, reason: str, *, priority: int = 0, ivr_path: str = "") -> None:
        self.acd.remove(call.id)
        call.waiting = self.acd.enqueue(call.id, call.caller, arrived_at=call.arrived_at, reason=reason,
                                        priority=priority, ivr_path=ivr_path)
        self.publish("queue", "enqueued", call, reason=reason)

    def estimated_wait_s(self, position: int) -> float | None:
        return estimated_wait_s(position, list(self.handle_times), self.acd.serving_agents())

    async def is_repeat_caller(self, call: Call) -> bool:
        if self.records is None:
            return False
        try:
            return await self.records.calls_since(call.caller, call.arrived_at - REPEAT_WINDOW, call.id) > 0
        except Exception:
            log.exception("repeat-caller check failed for %s", call.id)
            return False

    def requeue(self, call: Call) -> None:
        if call.waiting is not None:
            self.acd.requeue(call.waiting)
            self.publish("queue", "requeued", call)

    async def to_callback(self, call: Call) -> None:
        call.waiting = self.acd.to_callback(call.id)
        await self.add_call_event(call, "callback_requested")
        await self.request_callback(call, RequestKind.CALLBACK)
        self.publish("queue", "callback_requested", call, arrived_at=call.arrived_at.isoformat())

    async def request_callback(self, call: Call, kind: RequestKind, recording: str | None = None) -> None:
        """Write the caller's callback request durably (the notify sweep later calls start_callback); the
        bus event published after it only wakes readers."""
        if self.callback_requests is not None:
            await self.callback_requests.request(
                CallbackRequest(kind, call.id, call.caller, call.arrived_at, recording), self.now())

    async def _dispatch(self) -> None:
        while True:
            await self.acd.changed.wait()
            self.acd.changed.clear()
            while (offer := self.acd.next_offer()) is not None:
                waiting, agent_ids = offer
                if waiting.callback:
                    self.callbacks.offer(waiting, agent_ids)
                    continue
                call = self.calls.get(waiting.call_id)
                if call is None:
                    continue
                call.mailbox.put_nowait(Offered(agent_ids))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.acd.end_due_wrap_ups()

    # --- reconciliation -----------------------------------------------------------------------------------
    async def reconcile(self) -> None:
        """After a (re)connect: adopt our app's callers we do not know (they were waiting while we were
        away), hang up orphaned agent legs, destroy empty bridges of ours. Asterisk does not replay events."""
        for channel in await self.client.list_channels():
            if channel.id in self._owners or channel.app_name != "Stasis":
                continue
            if not in_app(channel.app_data, self.tel.app_name):
                continue
            args = decode_app_data(channel.app_data)
            if args is None or not args.is_caller:  # agent, outbound, survey, snoop legs: their call is gone
                with contextlib.suppress(AriError):
                    await self.client.hangup(channel.id)
            else:
                self._spawn(self._new_call(channel, adopted=True), channel.id)
        for bridge in await self.client.list_bridges():
            if bridge.id.startswith("call-") and bridge.id not in self._owners and not bridge.channels:
                with contextlib.suppress(AriError):
                    await self.client.destroy_bridge(bridge.id)

    # --- persistence and events ---------------------------------------------------------------------------
    async def update_call_row(self, call: Call, **values: Any) -> None:
        await self.rows.update(call, **values)

    async def add_call_event(self, call: Call, kind: str, agent_id: str | None = None, **detail: Any) -> None:
        await self.rows.add_event(call, kind, agent_id, **detail)

    async def lookup_case(self, case_no: str) -> CaseStatus | None:
        return await self.case_lookup(case_no) if self.case_lookup else None

    def publish(self, topic: str, kind: str, call: Call, **data: Any) -> None:
        self.rows.publish(topic, kind, call, **data)

    def _agent_changed(self, event: Any) -> None:
        self.bus.publish(BusEvent("agent", "state_changed", event.at, {
            "agent_id": event.agent_id, "old": event.old.value, "new": event.new.value,
            "reason": event.reason, "call_id": event.call_id}))
        if self.sessions is not None:
            self.sessions.changed(self.acd.agents[event.agent_id], event.at)
            self._spawn(self.sessions.flush(event.agent_id), "agent")
