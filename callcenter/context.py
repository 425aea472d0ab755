"""What a telephony feature is given instead of the whole runtime: `CallContext`.

The runtime (callcenter/runtime.py) builds one context and hands it to every feature (the inbound call,
calls we place, callbacks, the conversation and transfers, hold, supervision, placing legs): the ARI
client, the call rows and the bus (`CallRows`), the ACD, the clock, the settings and the options tests may
shorten (`CallOptions`), the routing table that sends ARI events to the call owning a channel (`Routes`),
and the two ports a call uses (the IVR's case lookup, durable callback requests). No feature module imports
or receives the runtime.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callcenter.acd_runtime import AcdRuntime
from callcenter.ari.client import AriClient
from callcenter.call import Call
from callcenter.callback_requests import CallbackRequests
from callcenter.case_lookup import CaseLookup
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.clock import Clock
from ivr.flow_spec import InboundFlow, SurveyFlow

log = logging.getLogger(__name__)


class Routes:
    """Live calls by id, which call owns which channel or bridge id, and the calls' background tasks."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self.owners: dict[str, Call] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        # Leg and bridge ids carry this number; a restarted service must not reuse the ids of legs its
        # previous instance left behind (a cut ring being hung up, a resumed call's agent leg).
        self._n = itertools.count(secrets.randbelow(10**9) + 1)

    def own(self, key: str, call: Call) -> None:
        self.owners[key] = call

    def disown(self, key: str) -> None:
        self.owners.pop(key, None)

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def next_n(self) -> int:
        """A number unique in this process (and unlikely to repeat one of an earlier process), for channel and
        bridge ids."""
        return next(self._n)


class CallRows:
    """The call records (rows of `calls` and `call_events`) and the bus: a fact about a call is stored and
    published here. A database failure is logged; the call goes on."""

    def __init__(self, records: SqlCallRecords | None, bus: EventBus, clock: Clock) -> None:
        self.records, self.bus, self.clock = records, bus, clock

    async def create(self, call: Call, *, caller: str, called: str, direction: str = "inbound") -> None:
        """The call's row, written when the call starts (a failure here is the caller's to handle)."""
        if self.records:
            await self.records.create(call.id, caller=caller, called=called, channel_id=call.channel_id,
                                      arrived_at=call.arrived_at, direction=direction)

    async def get(self, call_id: str) -> dict[str, Any] | None:
        """A stored call with its events (None without a database or when unknown)."""
        return await self.records.get(call_id) if self.records else None

    async def add_event_to(self, call_id: str, kind: str, agent_id: str | None = None, **detail: Any) -> None:
        """An event on another call's row (a callback links its original call); raises on failure."""
        if self.records:
            await self.records.add_event(call_id, kind, self.clock(), agent_id, **detail)

    async def close(self, call: Call, **values: Any) -> bool:
        """End a row that has no outcome yet (compare-and-set on the outcome); False when it had one."""
        return await self.records.close(call.id, **values) if self.records else False

    async def end(self, call: Call, **values: Any) -> bool:
        """Write the call's end once, whoever comes first (the call's own end, or a reconcile closing a row
        nothing is left of): False when the row had an end already, which is kept. A database failure is
        logged and counts as written (the call is over all the same)."""
        if not self.records:
            return True
        try:
            return await self.records.close(call.id, **values)
        except Exception:
            log.exception("could not store the end of call %s", call.id)
            return True

    async def unfinished(self) -> list[dict[str, Any]]:
        """Call rows without an end (empty without a database)."""
        return await self.records.unfinished() if self.records else []

    async def calls_since(self, caller: str, since: datetime, exclude_id: str) -> int:
        return await self.records.calls_since(caller, since, exclude_id) if self.records else 0

    async def update(self, call: Call, **values: Any) -> None:
        if self.records:
            try:
                await self.records.update(call.id, **values)
            except Exception:
                log.exception("could not store call %s", call.id)

    async def add_event(self, call: Call, kind: str, agent_id: str | None = None, **detail: Any) -> None:
        self.publish("call", kind, call, agent_id=agent_id, **detail)
        if self.records:
            try:
                await self.records.add_event(call.id, kind, self.clock(), agent_id, **detail)
            except Exception:
                log.exception("could not store event %s of call %s", kind, call.id)

    def publish(self, topic: str, kind: str, call: Call, **data: Any) -> None:
        self.bus.publish(BusEvent(topic, kind, self.clock(), {"call_id": call.id, "caller": call.caller,
                                                            "channel_id": call.channel_id, **data}))

    async def audit(self, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
        if self.records is None:
            log.warning("audit without a database: %s %s %s %s", actor, action, target, detail)
            return
        await self.records.audit(self.clock(), actor, action, target, detail)


@dataclass
class CallOptions:
    """What a running call centre may change (tests shorten it): trunk, announcement and ring times, flows."""

    trunk_outbound: str  # the carrier's SIP proxy (host:port) for calls and MESSAGEs to outside numbers
    announce_s: float  # between queue announcements (position, expected wait)
    survey_ring_s: int
    flow: InboundFlow
    survey_flow: SurveyFlow


@dataclass(frozen=True)
class CallContext:
    client: AriClient
    rows: CallRows
    acd: AcdRuntime
    clock: Clock
    tel: TelephonySettings
    routes: Routes
    options: CallOptions
    case_lookup: CaseLookup | None = None
    callback_requests: CallbackRequests | None = None
    handle_times: deque[float] = field(default_factory=lambda: deque(maxlen=50))  # seconds, last 50 calls

    @property
    def trunk_outbound(self) -> str:
        return self.options.trunk_outbound
