"""The call runtime: routes ARI events into per-call mailboxes, runs each call's flow, dispatches queued
calls to agents, ends wrap-ups, and reconciles with Asterisk after every (re)connection.

On any unhandled error in a call the caller is handed back to the dialplan's fallback context (apology,
then app_queue), never left in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from callcenter.acd import EndCall
from callcenter.acd_runtime import AcdRuntime
from callcenter.ari.client import AriClient, AriError
from callcenter.ari.events import Channel, Event, StasisStart
from callcenter.call import Call, CallerGone, Offered
from callcenter.events import BusEvent, EventBus
from callcenter.flow import CallFlow, sound
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings

log = logging.getLogger(__name__)
CaseLookup = Callable[[str], Awaitable[str | None]]


class CallRuntime:
    def __init__(self, tel: TelephonySettings, client: AriClient, *, records: SqlCallRecords | None = None,
                 bus: EventBus | None = None, acd: AcdRuntime | None = None,
                 case_lookup: CaseLookup | None = None, announce_s: float = 20.0) -> None:
        self.tel = tel
        self.client = client
        self.records = records
        self.bus = bus or EventBus()
        self.acd = acd or AcdRuntime(tel.agent_extensions, ring_timeout_s=tel.ring_timeout_s,
                                     wrap_up_s=tel.wrapup_s)
        self.acd.listeners.append(self._agent_changed)
        self.case_lookup = case_lookup
        self.tel_announce_s = announce_s
        self.calls: dict[str, Call] = {}
        self._owners: dict[str, Call] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self._n = itertools.count(1)

    # --- lifecycle ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loops = [asyncio.create_task(self.client.run_events(self.on_event, self.reconcile)),
                       asyncio.create_task(self._dispatch()), asyncio.create_task(self._sweep())]

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.client.connected.wait(), timeout)

    async def stop(self) -> None:
        await self.client.unsubscribe_all()
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        await self.client.close()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def next_n(self) -> int:
        return next(self._n)

    # --- event routing --------------------------------------------------------------------------------
    def own(self, key: str, call: Call) -> None:
        self._owners[key] = call

    def disown(self, key: str) -> None:
        self._owners.pop(key, None)

    def on_event(self, event: Event) -> None:
        owner = self._owners.get(event.route_key)
        if owner is not None:
            owner.mailbox.put_nowait(event)
        elif isinstance(event, StasisStart) and event.args in ((), ("queue",)):
            # ("queue",): straight to the queue (the benchmark's number, and transfers back to the queue).
            self._spawn(self._new_call(event.channel, direct=bool(event.args)), event.channel.id)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- one call ---------------------------------------------------------------------------------------
    async def _new_call(self, channel: Channel, *, adopted: bool = False, direct: bool = False) -> None:
        known = await self.records.by_channel(channel.id) if adopted and self.records else None
        if known is not None:
            arrived = known["arrived_at"].replace(tzinfo=UTC)
            call = Call(known["id"], channel.id, known["caller"], arrived, path=list(known["dtmf_path"]))
        else:
            call = Call(uuid.uuid4().hex[:16], channel.id, channel.caller_number, self.now())
        self.calls[call.id] = call
        self.own(channel.id, call)
        if self.records and known is None:
            await self.records.create(call.id, caller=call.caller, called=channel.exten or self.tel.hotline_number,
                                      channel_id=channel.id, arrived_at=call.arrived_at)
        self.publish("call", "arrived", call, adopted=adopted)
        await self._run(call, adopted, direct)

    async def _run(self, call: Call, adopted: bool, direct: bool = False) -> None:
        flow, outcome, hangup_by = CallFlow(self, call), "abandoned", "caller"
        try:
            outcome, hangup_by = await self._flow(flow, adopted, direct)
        except asyncio.CancelledError:
            # Shutdown: leave the caller in Stasis (on hold) for the next instance to adopt.
            self.calls.pop(call.id, None)
            raise
        except CallerGone:
            outcome = "callback" if call.waiting and call.waiting.callback else outcome
        except Exception:
            log.exception("call %s failed; handing it to the fallback dialplan", call.id)
            outcome, hangup_by = "failed", "system"
            await self._rescue(call)
        await self._finish(call, outcome, hangup_by)

    async def _flow(self, flow: CallFlow, adopted: bool, direct: bool) -> tuple[str, str]:
        call = flow.call
        if direct:
            await self.client.answer(call.channel_id)
            reason = "direct"
        elif not adopted:
            await self.client.answer(call.channel_id)
            if call.caller in self.tel.blocklist:
                await flow.play("blocked", barge_in=False)
                return "blocked", "system"
            reason = await flow.ivr()
            await self.record(call, ivr_exit_at=self.now(), dtmf_path="".join(call.path))
            if not reason:
                return "query", "system"
        else:
            reason = "adopted"
        self.enqueue(call, reason)
        await self.record(call, enqueued_at=self.now(), queue="hotline")
        await flow.wait_in_queue()
        return "answered", await flow.converse()

    async def _rescue(self, call: Call) -> None:
        if call.gone:
            return
        try:
            await self.client.continue_in_dialplan(call.channel_id, "fallback", "s", 1)
        except AriError:
            with contextlib.suppress(AriError):
                await self.client.play(f"channel:{call.channel_id}", sound("apology"))

    async def _finish(self, call: Call, outcome: str, hangup_by: str) -> None:
        await self._release(call, outcome)
        await self.record(call, ended_at=self.now(), outcome=outcome, hangup_by=hangup_by,
                          dtmf_path="".join(call.path))
        self.publish("call", "ended", call, outcome=outcome)

    async def _release(self, call: Call, outcome: str) -> None:
        if call.waiting is not None and not call.waiting.callback:
            self.acd.remove(call.id)
        if call.agent_id and call.bridge_id:
            with contextlib.suppress(Exception):
                self.acd.command(call.agent_id, EndCall(call.id))
        if call.bridge_id:
            with contextlib.suppress(AriError):
                await self.client.destroy_bridge(call.bridge_id)
        if outcome not in ("failed",) and not call.gone:
            with contextlib.suppress(AriError):
                await self.client.hangup(call.channel_id)
        for key in (call.channel_id, call.agent_channel, call.bridge_id):
            if key:
                self.disown(key)
        self.calls.pop(call.id, None)

    # --- queue ------------------------------------------------------------------------------------------
    def enqueue(self, call: Call, reason: str) -> None:
        call.waiting = self.acd.enqueue(call.id, call.caller, arrived_at=call.arrived_at, reason=reason,
                                        ivr_path="".join(call.path))
        self.publish("queue", "enqueued", call, reason=reason)

    def requeue(self, call: Call) -> None:
        if call.waiting is not None:
            self.acd.requeue(call.waiting)
            self.publish("queue", "requeued", call)

    async def to_callback(self, call: Call) -> None:
        call.waiting = self.acd.to_callback(call.id)
        await self.log(call, "callback_requested")

    async def _dispatch(self) -> None:
        while True:
            await self.acd.changed.wait()
            self.acd.changed.clear()
            while (offer := self.acd.next_offer()) is not None:
                waiting, agent_id = offer
                call = self.calls.get(waiting.call_id)
                if call is None:
                    continue
                call.mailbox.put_nowait(Offered(agent_id))

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
            if channel.app_data.split(",")[0] != self.tel.app_name:
                continue
            if "agent," in channel.app_data:
                with contextlib.suppress(AriError):
                    await self.client.hangup(channel.id)
            else:
                self._spawn(self._new_call(channel, adopted=True), channel.id)
        for bridge in await self.client.list_bridges():
            if bridge.id.startswith("call-") and bridge.id not in self._owners and not bridge.channels:
                with contextlib.suppress(AriError):
                    await self.client.destroy_bridge(bridge.id)

    # --- persistence and events ---------------------------------------------------------------------------
    async def record(self, call: Call, **values: Any) -> None:
        if self.records:
            try:
                await self.records.update(call.id, **values)
            except Exception:
                log.exception("could not store call %s", call.id)

    async def log(self, call: Call, kind: str, agent_id: str | None = None, **detail: Any) -> None:
        self.publish("call", kind, call, agent_id=agent_id, **detail)
        if self.records:
            try:
                await self.records.log(call.id, kind, self.now(), agent_id, **detail)
            except Exception:
                log.exception("could not log %s for call %s", kind, call.id)

    async def lookup_case(self, case_no: str) -> str | None:
        return await self.case_lookup(case_no) if self.case_lookup else None

    def publish(self, topic: str, kind: str, call: Call, **data: Any) -> None:
        self.bus.publish(BusEvent(topic, kind, self.now(), {"call_id": call.id, "caller": call.caller,
                                                          "channel_id": call.channel_id, **data}))

    def _agent_changed(self, event: Any) -> None:
        self.bus.publish(BusEvent("agent", "state_changed", event.at, {
            "agent_id": event.agent_id, "old": event.old.value, "new": event.new.value,
            "reason": event.reason, "call_id": event.call_id}))
        if self.records:
            self._spawn(self.records.agent_changed(event.agent_id, event.at, event.old.value, event.new.value,
                                                   event.command, event.reason, event.call_id), "agent")
