"""What a telephony feature is given instead of the whole runtime: `CallContext`.

The runtime (callcenter/runtime.py) builds one context and hands it to the features (the conversation and
transfers, hold, supervision, placing legs): the ARI client, the call rows and the bus (`CallRows`), the
ACD, the clock, the settings, and the routing table that sends ARI events to the call owning a channel
(`Routes`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from callcenter.acd_runtime import AcdRuntime
from callcenter.ari.client import AriClient
from callcenter.call import Call
from callcenter.records import SqlCallRecords
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.clock import Clock

log = logging.getLogger(__name__)


class Routes:
    """Live calls by id, which call owns which channel or bridge id, and the calls' background tasks."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self.owners: dict[str, Call] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self._n = itertools.count(1)

    def own(self, key: str, call: Call) -> None:
        self.owners[key] = call

    def disown(self, key: str) -> None:
        self.owners.pop(key, None)

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def next_n(self) -> int:
        """A number unique in this process, for channel and bridge ids."""
        return next(self._n)


class CallRows:
    """The call records (rows of `calls` and `call_events`) and the bus: a fact about a call is stored and
    published here. A database failure is logged; the call goes on."""

    def __init__(self, records: SqlCallRecords | None, bus: EventBus, clock: Clock) -> None:
        self.records, self.bus, self.clock = records, bus, clock

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


@dataclass(frozen=True)
class CallContext:
    client: AriClient
    rows: CallRows
    acd: AcdRuntime
    clock: Clock
    tel: TelephonySettings
    routes: Routes
    trunk_outbound: str  # the carrier's SIP proxy (host:port) for outside numbers
