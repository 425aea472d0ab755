"""The engine shared by IVR sessions: one transition table, atomic steps, prompt and timer bookkeeping.

A session keeps all its data in one frozen `Ctx`. `handle(event, now)` looks (state, event type) up in the
subclass's `TRANSITIONS`; a missing pair raises `IvrProtocolError` and nothing changes. Otherwise a `Step`
works on a copy of the context, collects actions, and is committed only when the handler returned and the
new state is one the table allows for that pair. Handlers are therefore free to raise half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from ivr.actions import CancelTimer, CollectDigits, HangUp, IvrAction, Play, StartTimer, StopPrompts
from ivr.session_events import Digit, IvrEvent, PromptFinished, Timeout
from ivr.speech import Fragment, Prompt

INPUT_TIMER = "input"
PATH_SEPARATOR = ">"


class IvrProtocolError(Exception):
    """The event does not fit the session's state (a runtime bug); the session is unchanged."""

    code = "ivr_protocol"


@dataclass(frozen=True)
class Ctx:
    """Everything a session knows. Replaced wholesale on each committed step."""

    state: str
    caller: str = ""
    path: tuple[str, ...] = ()
    serial: int = 0  # source of play ids and timer tokens (both unique within the call)
    playing: frozenset[str] = frozenset()  # play ids not yet reported finished
    ask_play: str | None = None  # the input timer starts when this play finishes
    timers: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    digits: str = ""
    retries: int = 0
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Step:
    """A context being changed plus the actions produced on the way; thrown away if the handler raises."""

    def __init__(self, ctx: Ctx, now: datetime) -> None:
        self.ctx = ctx
        self.now = now
        self.actions: list[IvrAction] = []

    def set(self, **changes: Any) -> None:
        self.ctx = replace(self.ctx, **changes)

    def remember(self, **values: Any) -> None:
        self.set(extra=MappingProxyType({**self.ctx.extra, **values}))

    def goto(self, state: str) -> None:
        self.set(state=state)

    def mark(self, step: str) -> None:
        """Append to the call's IVR path (menu choices, digits typed, outcomes)."""
        self.set(path=(*self.ctx.path, step))

    def emit(self, *actions: IvrAction) -> None:
        self.actions.extend(actions)

    def _next_serial(self) -> int:
        self.set(serial=self.ctx.serial + 1)
        return self.ctx.serial

    def play(self, *fragments: Fragment | str, ask: bool = False) -> str:
        """Queue a Play; with `ask=True` the no-input timer is armed when it finishes."""
        play_id = f"p{self._next_serial()}"
        frags = tuple(Prompt(f) if isinstance(f, str) else f for f in fragments)
        self.emit(Play(play_id, frags))
        self.set(playing=self.ctx.playing | {play_id})
        if ask:
            self.set(ask_play=play_id)
        return play_id

    def ask(self, *fragments: Fragment | str, max_digits: int, terminator: str | None, timeout_s: float) -> None:
        self.set(digits="")
        self.play(*fragments, ask=True)
        self.emit(CollectDigits(max_digits, terminator, timeout_s))

    def stop_prompts(self) -> None:
        if self.ctx.playing:
            self.emit(StopPrompts())
            self.set(playing=frozenset(), ask_play=None)

    def start_timer(self, kind: str, seconds: float) -> None:
        token = self._next_serial()
        self.set(timers=MappingProxyType({**self.ctx.timers, kind: token}))
        self.emit(StartTimer(kind, seconds, token))

    def cancel_timer(self, kind: str) -> None:
        if kind in self.ctx.timers:
            self.set(timers=MappingProxyType({k: v for k, v in self.ctx.timers.items() if k != kind}))
            self.emit(CancelTimer(kind))

    def cancel_all_timers(self) -> None:
        for kind in sorted(self.ctx.timers):
            self.cancel_timer(kind)

    def stop_input(self) -> None:
        self.stop_prompts()
        self.cancel_timer(INPUT_TIMER)
        self.set(ask_play=None)

    def hang_up(self, reason: str, state: str) -> None:
        self.cancel_all_timers()
        self.emit(HangUp(reason, path_text(self.ctx.path)))
        self.goto(state)


def path_text(path: tuple[str, ...]) -> str:
    return PATH_SEPARATOR.join(path)


class Session:
    """Base of `InboundSession` and `SurveySession`. Subclasses define the table and `_on_<Event>` handlers."""

    TRANSITIONS: ClassVar[Mapping[str, Mapping[type, frozenset[str]]]]
    INITIAL: ClassVar[str]
    TERMINAL: ClassVar[frozenset[str]]

    def __init__(self) -> None:
        self._ctx = Ctx(state=self.INITIAL)

    @property
    def state(self) -> str:
        return self._ctx.state

    @property
    def finished(self) -> bool:
        """True once the IVR is done with the call (hung up, or handed to an agent): drop the session."""
        return self._ctx.state in self.TERMINAL

    @property
    def path(self) -> tuple[str, ...]:
        return self._ctx.path

    @property
    def context(self) -> Ctx:
        return self._ctx

    def handle(self, event: IvrEvent, now: datetime) -> list[IvrAction]:
        """Feed one event; return the actions to execute in order. Raises `IvrProtocolError` unchanged."""
        allowed = self.TRANSITIONS.get(self._ctx.state, {}).get(type(event))
        if allowed is None:
            raise IvrProtocolError(f"{type(event).__name__} is not expected in state {self._ctx.state}")
        step = Step(self._ctx, now)
        getattr(self, f"_on_{type(event).__name__}")(step, event)
        if step.ctx.state not in allowed:
            raise AssertionError(f"{self._ctx.state} -> {step.ctx.state} on {type(event).__name__} not in table")
        self._ctx = step.ctx
        return step.actions

    # ---- events every live state handles the same way ----
    def _on_PromptFinished(self, step: Step, event: PromptFinished) -> None:
        if event.play_id not in step.ctx.playing:
            if not _issued(event.play_id, step.ctx.serial):
                raise IvrProtocolError(f"no prompt {event.play_id} was played")
            return  # stopped by barge-in: its end is old news
        step.set(playing=step.ctx.playing - {event.play_id})
        if event.play_id == step.ctx.ask_play:
            step.set(ask_play=None)
            self._arm_input(step)
        self._prompt_done(step, event.play_id)

    def _on_Timeout(self, step: Step, event: Timeout) -> None:
        if step.ctx.timers.get(event.kind) != event.token:
            if not 0 < event.token <= step.ctx.serial:
                raise IvrProtocolError(f"no timer {event.kind}/{event.token} was started")
            return  # cancelled or re-armed before it fired
        step.set(timers=MappingProxyType({k: v for k, v in step.ctx.timers.items() if k != event.kind}))
        self._timer_fired(step, event.kind)

    def _on_Digit(self, step: Step, event: Digit) -> None:
        handler = getattr(self, f"_digit_{step.ctx.state}", None)
        if handler is not None:  # a key nobody asked for is ignored
            handler(step, event.digit)

    # ---- hooks ----
    def _arm_input(self, step: Step) -> None:
        """Called when the asking prompt finished; sessions arm their no-input timer here."""

    def _prompt_done(self, step: Step, play_id: str) -> None:
        """Called when a prompt (not stopped by barge-in) finished."""

    def _timer_fired(self, step: Step, kind: str) -> None:
        """Called for a timer that is still armed."""


def _issued(play_id: str, serial: int) -> bool:
    return play_id.startswith("p") and play_id[1:].isdigit() and 0 < int(play_id[1:]) <= serial
