"""Test helpers: a fake clock and a driver that plays the runtime's part for a session (no I/O).

clock = FakeClock(datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
drv = IvrDriver(InboundSession(flow), clock)
drv.send(CallStarted("13800000000"))
drv.finish_prompts()          # PromptFinished for every Play still playing
drv.fire("input")             # Timeout with the token of the armed "input" timer
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from ivr.actions import CancelTimer, IvrAction, Play, StartTimer, StopPrompts
from ivr.machine import Session
from ivr.session_events import Digit, IvrEvent, PromptFinished, Timeout

A = TypeVar("A")


@dataclass
class FakeClock:
    now: datetime

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class IvrDriver:
    """Feeds events at the fake clock's time and keeps what a runtime would: playing prompts, armed timers."""

    session: Session
    clock: FakeClock
    actions: list[IvrAction] = field(default_factory=list)
    last: list[IvrAction] = field(default_factory=list)
    playing: list[str] = field(default_factory=list)
    timers: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    catalogue: Collection[str] | None = None  # when given, every played prompt id must be in it

    def send(self, event: IvrEvent) -> list[IvrAction]:
        self.last = self.session.handle(event, self.clock.now)
        self.actions.extend(self.last)
        for action in self.last:
            self._track(action)
        return self.last

    def _track(self, action: IvrAction) -> None:
        if isinstance(action, Play):
            unknown = set(action.prompt_ids()) - set(self.catalogue or action.prompt_ids())
            if unknown:
                raise AssertionError(f"unknown prompt ids {sorted(unknown)}")
            self.playing.append(action.play_id)
        elif isinstance(action, StopPrompts):
            self.playing.clear()
        elif isinstance(action, StartTimer):
            self.timers[action.kind] = (action.token, self.clock.now + timedelta(seconds=action.seconds))
        elif isinstance(action, CancelTimer):
            self.timers.pop(action.kind, None)

    def press(self, keys: str) -> list[IvrAction]:
        out: list[IvrAction] = []
        for key in keys:
            out += self.send(Digit(key))
        return out

    def finish_prompts(self) -> list[IvrAction]:
        out: list[IvrAction] = []
        while self.playing:
            out += self.send(PromptFinished(self.playing.pop(0)))
        return out

    def fire(self, kind: str) -> list[IvrAction]:
        """Advance the clock to the timer's deadline and deliver its Timeout."""
        token, due = self.timers.pop(kind)
        self.clock.now = max(self.clock.now, due)
        return self.send(Timeout(kind, token))

    def of(self, kind: type[A], actions: list[IvrAction] | None = None) -> list[A]:
        return [a for a in (self.actions if actions is None else actions) if isinstance(a, kind)]

    def prompts(self, actions: list[IvrAction] | None = None) -> list[str]:
        """Prompt ids of the Plays among `actions` (default: everything so far), flattened."""
        return [pid for play in self.of(Play, actions) for pid in play.prompt_ids()]
