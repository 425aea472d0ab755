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
from datetime import UTC, datetime
from typing import Any

from callcenter import call_end, hold, outbound, reconcile, supervise, waiting
from callcenter.acd import AgentState, Strategy
from callcenter.acd_runtime import AcdRuntime
from callcenter.agent_sessions import SqlAgentSessions
from callcenter.ari.app_args import LegKind, decode
from callcenter.ari.ari_events import Channel, Event, StasisStart, TextMessageReceived
from callcenter.ari.client import AriClient, AriError
from callcenter.call import Call, CallerGone, Offered, TransferRequest
from callcenter.callback_desk import CallbackDesk, OnAnswer
from callcenter.callback_requests import CallbackRequests, RequestKind
from callcenter.case_lookup import CaseLookup
from callcenter.context import CallContext, CallOptions, CallRows, Routes
from callcenter.domain.adoption import Resume
from callcenter.domain.agent_session import restore
from callcenter.domain.call_lifecycle import Arrived, CallEvent, Failed, HungUp, Party
from callcenter.inbound_call import InboundCall
from callcenter.ivr_exec import sound
from callcenter.legs import TelephonyError
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.clock import Clock, utc_now
from core.phone import normalize_number
from ivr.flow_spec import InboundFlow, SurveyFlow
from ivr.inbound import InboundSession
from ivr.loader import load_inbound_flow, load_survey_flow
from ivr.session_events import CaseStatus

log = logging.getLogger(__name__)
# Incoming SIP MESSAGEs from the citizens' trunk: PJSIP routes them to ARI once the app subscribes (the
# endpoint's message_context has no dialplan destination, see config/asterisk/pjsip.conf.j2).
TEXT_SOURCE = "endpoint:PJSIP/citizens"
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
        self._recent_events: deque[Event] = deque(maxlen=256)  # to drop ARI's second copy (see on_event)
        self.bus = bus or EventBus()
        self.clock = clock
        self.acd = acd or AcdRuntime(tel.agent_extensions, ring_timeout_s=tel.ring_timeout_s,
                                     wrap_up_s=tel.wrapup_s, strategy=Strategy(tel.strategy), clock=clock)
        self.acd.listeners.append(self._agent_changed)
        self.sessions = sessions
        self.routes = Routes()
        self.calls = self.routes.calls
        self._owners = self.routes.owners
        self._tasks = self.routes.tasks
        self._loops: list[asyncio.Task[Any]] = []
        self.reconciled = asyncio.Event()  # set after the first reconcile with Asterisk
        self.rows = CallRows(records, self.bus, lambda: self.now())
        self.options = CallOptions(trunk_outbound or tel.trunk_outbound, announce_s,
                                   survey_ring_s or tel.survey_ring_s, flow or load_inbound_flow(),
                                   survey_flow or load_survey_flow())
        self.ctx = CallContext(client, self.rows, self.acd, lambda: self.now(), tel, self.routes, self.options,
                               case_lookup=case_lookup, callback_requests=callback_requests)
        self.handle_times = self.ctx.handle_times
        self.callbacks = CallbackDesk(self.ctx)
        # Texts citizens send by SIP MESSAGE (TextMessageReceived on the trunk endpoint) go to this port:
        # (sender URI, body, idempotency key) -> handled; set by the web lifecycle once the loop runs.
        self.text_inbox: Callable[[str, str, str], Awaitable[Any]] | None = None

    # What tests and the bench shorten on a running call centre (see CallOptions).
    @property
    def trunk_outbound(self) -> str:
        return self.options.trunk_outbound

    @trunk_outbound.setter
    def trunk_outbound(self, trunk: str) -> None:
        self.options.trunk_outbound = trunk

    @property
    def flow(self) -> InboundFlow:
        return self.options.flow

    @flow.setter
    def flow(self, flow: InboundFlow) -> None:
        self.options.flow = flow

    @property
    def tel_announce_s(self) -> float:
        return self.options.announce_s

    @tel_announce_s.setter
    def tel_announce_s(self, seconds: float) -> None:
        self.options.announce_s = seconds

    @property
    def survey_ring_s(self) -> int:
        return self.options.survey_ring_s

    @survey_ring_s.setter
    def survey_ring_s(self, seconds: int) -> None:
        self.options.survey_ring_s = seconds

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
        # The subscription to the trunk endpoint (for texts) makes ARI deliver every event of a citizen's channel
        # twice: once for the channel in our Stasis app, once for the endpoint. The copies are equal (same type,
        # channel, timestamp, fields); a DTMF digit read twice made case numbers unreadable. Drop the second.
        if event in self._recent_events:
            return
        self._recent_events.append(event)
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
        return await outbound.click_to_call(self.ctx, agent_id, number)

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
        await outbound.start_survey(self.ctx, callback_id=callback_id, number=number, case_no=case_no,
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
        await outbound.send_sip_message(self.ctx, to_endpoint_or_uri=to_endpoint_or_uri, body=body, sender=sender)

    async def audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        await self.rows.audit(actor, action, target, detail)

    # --- one call ---------------------------------------------------------------------------------------
    async def _new_call(self, channel: Channel, *, adopted: bool = False, direct: bool = False,
                        known: dict[str, Any] | None = None) -> None:
        """A caller in our application: a new call, or (`adopted`) one found after a restart, under its row
        (`known`, read by channel when the reconciler had none)."""
        if adopted and known is None:
            known = await self._known(channel)
        if known is not None:
            arrived = known["arrived_at"].replace(tzinfo=UTC) if known["arrived_at"].tzinfo is None \
                else known["arrived_at"]
            call = Call(known["id"], channel.id, known["caller"], arrived, path=list(known["dtmf_path"] or ""))
        else:
            # One form for repeat callers, masking and callbacks (core.phone).
            number = normalize_number(channel.caller_number, self.tel.area_code)
            call = Call(uuid.uuid4().hex[:16], channel.id, number, self.now())
        call.happened(Arrived())
        self.calls[call.id] = call
        self.own(channel.id, call)
        if known is None:
            try:
                await self.rows.create(call, caller=call.caller, called=channel.exten or self.tel.hotline_number)
            except Exception:  # the database is away: the caller is served all the same
                log.exception("could not store call %s", call.id)
        self.publish("call", "arrived", call, adopted=adopted)
        if adopted and channel.state != "Up":  # the previous instance died between StasisStart and answer
            with contextlib.suppress(AriError):
                await self.client.answer(channel.id)
        await self._run(call, adopted, direct)

    async def _known(self, channel: Channel) -> dict[str, Any] | None:
        """The row an adopted caller's channel already has (None when unknown or unreadable)."""
        try:
            return await self.records.by_channel(channel.id) if self.records else None
        except Exception:
            log.exception("call row of channel %s could not be read", channel.id)
            return None

    async def _run(self, call: Call, adopted: bool, direct: bool = False, answered: bool = False,
                   bridged: bool = False) -> None:
        session = None if adopted or direct else InboundSession(self.options.flow)
        end: CallEvent = HungUp(Party.CALLER)
        try:
            end = await InboundCall(self.ctx, call, session).run(adopted=adopted, direct=direct, answered=answered,
                                                                 bridged=bridged)
        except asyncio.CancelledError:
            # Shutdown: leave the caller in Stasis (on hold) for the next instance to adopt.
            self.calls.pop(call.id, None)
            raise
        except CallerGone:
            pass
        except Exception as exc:
            end = await call_end.after_error(self.ctx, call, exc)
            if isinstance(end, Failed):
                log.exception("call %s failed; handing it to the fallback dialplan", call.id)
                await self._rescue(call)
            else:  # nothing to hand over: Asterisk lost the channel (crashed or restarted)
                call.gone = True
                log.warning("call %s cut: Asterisk lost it (%s)", call.id, exc)
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
        """End the call with its end event (callcenter/call_end.py)."""
        await call_end.finish(self.ctx, call, end)

    # --- queue (callcenter/waiting.py) -------------------------------------------------------------------
    def enqueue(self, call: Call, reason: str, *, priority: int = 0, ivr_path: str = "") -> None:
        waiting.enqueue(self.ctx, call, reason, priority=priority, ivr_path=ivr_path)

    async def to_callback(self, call: Call) -> None:
        await waiting.to_callback(self.ctx, call)

    async def request_callback(self, call: Call, kind: RequestKind, recording: str | None = None) -> None:
        await waiting.request_callback(self.ctx, call, kind, recording)

    async def _dispatch(self) -> None:
        await self.reconciled.wait()
        while True:
            await self.acd.changed.wait()
            self.acd.changed.clear()
            while (offer := self.acd.next_offer()) is not None:
                waiting, agent_ids = offer
                if waiting.callback:
                    self.callbacks.offer(waiting, agent_ids)
                    continue
                call = self.calls.get(waiting.call_id)
                if call is None:  # ended meanwhile: the agents just offered it must not ring for nothing
                    call_end.cancel_offers(self.ctx, waiting.call_id)
                    continue
                call.mailbox.put_nowait(Offered(agent_ids))

    async def _sweep(self) -> None:
        await self.reconciled.wait()
        while True:
            await asyncio.sleep(0.5)
            self.acd.end_due_wrap_ups()

    # --- reconciliation (callcenter/reconcile.py) ----------------------------------------------------------
    async def reconcile(self) -> None:
        """After every (re)connect: take up what Asterisk still holds (Asterisk does not replay events).
        Queued calls are offered and wrap-ups end only after the first reconcile, so an agent whose
        conversation outlived a restart is never offered another call meanwhile."""
        try:
            await reconcile.reconcile(self.ctx, adopt_caller=self._adopt, resume=self._resume)
        except AriError:
            raise  # Asterisk went away again: the events loop reconnects and reconciles again
        except Exception:  # a bug must not stop the events loop: calls that arrive from now on still work
            log.exception("reconcile failed")
        finally:
            self.reconciled.set()

    async def _adopt(self, channel: Channel, row: dict[str, Any] | None) -> None:
        await self._new_call(channel, adopted=True, known=row)

    async def _resume(self, call: Call, found: Resume) -> None:
        self.publish("call", "resumed", call, agent_id=call.agent_id, held=call.held)
        if call.direction == "inbound":
            if not found.bridge_id:  # the agent answered while the service was away
                await self.rows.update(call, agent_id=call.agent_id)
            await self._run(call, adopted=True, answered=True, bridged=bool(found.bridge_id))
        else:
            await outbound.run_resumed(self.ctx, call)

    async def lookup_case(self, case_no: str) -> CaseStatus | None:
        """The IVR's progress query (the case lookup port)."""
        return await self.ctx.case_lookup(case_no) if self.ctx.case_lookup else None

    # --- events ------------------------------------------------------------------------------------------
    def publish(self, topic: str, kind: str, call: Call, **data: Any) -> None:
        self.rows.publish(topic, kind, call, **data)

    def _agent_changed(self, event: Any) -> None:
        self.bus.publish(BusEvent("agent", "state_changed", event.at, {
            "agent_id": event.agent_id, "old": event.old.value, "new": event.new.value,
            "reason": event.reason, "call_id": event.call_id}))
        if self.sessions is not None:
            self.sessions.changed(self.acd.agents[event.agent_id], event.at)
            self._spawn(self.sessions.flush(event.agent_id), "agent")
