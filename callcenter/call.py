"""One live call: its mailbox (all events of its channels, in arrival order) and the small waits the call
flow is built from. A caller hang-up surfaces as `CallerGone` from any wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from callcenter.acd import WaitingCall
from callcenter.ari.ari_events import (
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEvent,
    ChannelHangupRequest,
    Event,
    PlaybackFinished,
    StasisEnd,
)
from callcenter.domain import call_lifecycle as lifecycle
from callcenter.domain.call_lifecycle import CallEvent, CallLifecycle, HungUp, IllegalCallEvent, Party

log = logging.getLogger(__name__)

GONE = (ChannelHangupRequest, ChannelDestroyed, StasisEnd)


class CallerGone(Exception):
    """The caller's channel hung up or left our application."""


@dataclass(frozen=True)
class Offered:
    """Internal: the dispatcher offered this call to these agents (several for ring-all)."""

    agent_ids: tuple[str, ...]


@dataclass(frozen=True)
class TimerFired:
    """Internal: a timer of the call fired (IVR timers echo the session's token)."""

    kind: str
    token: int = 0


@dataclass(frozen=True)
class TransferRequest:
    """Internal: blind-transfer the connected caller to an agent, a queue or an outside number."""

    kind: str  # "agent" | "queue" | "number"
    target: str
    done: asyncio.Future[None]
    actor: str = ""


Item = Event | Offered | TimerFired | TransferRequest


@dataclass
class Call:
    id: str
    channel_id: str
    caller: str
    arrived_at: datetime
    mailbox: asyncio.Queue[Item] = field(default_factory=asyncio.Queue)
    digits: list[str] = field(default_factory=list)  # keys pressed and not consumed yet
    path: list[str] = field(default_factory=list)  # every key pressed, for the call record
    waiting: WaitingCall | None = None
    agent_id: str | None = None
    agent_channel: str | None = None
    bridge_id: str | None = None
    gone: bool = False
    held: bool = False  # the caller is out of the conversation bridge, hearing music on hold
    ringing: dict[str, str] = field(default_factory=dict)  # agent channel id -> agent id, while ringing
    direction: str = "inbound"
    answered_at: datetime | None = None
    lifecycle: CallLifecycle = field(default_factory=CallLifecycle)  # outcome and hangup_by come from here

    def happened(self, event: CallEvent) -> None:
        """Advance the call's lifecycle; an event the table refuses is logged and changes nothing."""
        try:
            self.lifecycle = lifecycle.apply(self.lifecycle, event)
        except IllegalCallEvent as exc:
            log.warning("call %s: %s", self.id, exc)

    def end(self, event: CallEvent) -> CallLifecycle:
        """Apply the call's end event (falling back to a hang-up by `system` if the table refuses it)."""
        if self.lifecycle.outcome is not None:
            log.warning("call %s ended twice (%r)", self.id, event)
            return self.lifecycle
        self.happened(event)
        if self.lifecycle.outcome is None:
            self.happened(HungUp(getattr(event, "by", Party.SYSTEM)))
        return self.lifecycle

    def is_caller_gone(self, item: Item) -> bool:
        return isinstance(item, GONE) and item.channel.id == self.channel_id

    async def next(self, timeout: float | None = None) -> Item | None:
        """The next item of the mailbox (None on timeout). Keys are buffered; hang-up raises."""
        try:
            item = await asyncio.wait_for(self.mailbox.get(), timeout)
        except TimeoutError:
            return None
        if self.is_caller_gone(item):
            self.gone = True
            raise CallerGone
        if isinstance(item, ChannelDtmfReceived) and item.channel.id == self.channel_id:
            self.digits.append(item.digit)
            if len(self.path) < 200:
                self.path.append(item.digit)
        return item

    async def until(self, done: Callable[[Item], bool], timeout: float) -> Item | None:
        """Wait until `done(item)` or the timeout; items in between are only buffered (digits)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            item = await self.next(left)
            if item is not None and done(item):
                return item
        return None

    async def playback_done(self, playback_id: str, timeout: float, *, barge_in: bool) -> bool:
        """Wait for the end of a playback; with barge_in a key press ends the wait early (True)."""
        def done(item: Item) -> bool:
            if isinstance(item, PlaybackFinished) and item.playback.id == playback_id:
                return True
            return barge_in and isinstance(item, ChannelDtmfReceived) and bool(self.digits)
        item = await self.until(done, timeout)
        return isinstance(item, ChannelDtmfReceived)

    def take_digits(self) -> str:
        keys = "".join(self.digits)
        self.digits.clear()
        return keys


def on_channel(item: Item, channel_id: str | None, *types: type) -> bool:
    return isinstance(item, ChannelEvent) and item.channel.id == channel_id and isinstance(item, types)
