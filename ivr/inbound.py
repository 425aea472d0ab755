"""The 12319 inbound IVR session: greeting, menu, report recording, case progress, queue, after hours.

I/O-free: `InboundSession(flow).handle(event, now) -> list[IvrAction]`. `TRANSITIONS` below is the whole
lifecycle; docs/ivr.md draws it. Paths through it:

- blocked caller → blocklist message → hang up;
- outside service hours → after-hours message, record a voice message (`LeaveMessage`), goodbye;
- direct mode → greeting + "transferring" while already queued;
- menu: 1 record a description (≤ 60 s, # ends) then queue; 2 type a case number + # and hear its state and
  deadline, then the menu again; 0 an agent. No input / wrong key: retry `input.retries` times, then an agent;
- queued: position and estimated wait are read out as `QueueInfo` comes in; when the wait is long (elapsed
  `offer_after_s`, or an estimate over `offer_if_estimate_over_s`) a callback is offered: 1 keeps the place
  (`RequestCallback`) and ends the call;
- any failed action before the queue: apology, then an agent ("on any bug, hand the caller to a person").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum

from ivr.actions import Dequeue, Enqueue, LeaveMessage, LookupCase, Record, RequestCallback
from ivr.flow_spec import InboundFlow
from ivr.machine import INPUT_TIMER, IvrProtocolError, Session, Step, path_text
from ivr.session_events import (
    ActionFailed,
    AgentAnswered,
    CallerHungUp,
    CallStarted,
    CaseStatusLooked,
    Digit,
    PromptFinished,
    QueueInfo,
    RecordingFinished,
    Timeout,
)
from ivr.speech import Fragment, SayDateTime, SayDigits, SayNumber

QUEUE_TIMER = "queue_wait"
# Failures of these leave a queued caller where it is; any other failure while queued ends the call.
HARMLESS_IN_QUEUE = frozenset({"Play", "StopPrompts", "StartTimer", "CancelTimer"})


class InboundState(StrEnum):
    START = "start"
    MENU = "menu"
    RECORD_PROMPT = "record_prompt"
    RECORDING = "recording"
    CASE_NO = "case_no"
    LOOKUP = "lookup"
    QUEUED = "queued"
    MESSAGE_PROMPT = "message_prompt"
    MESSAGE_RECORDING = "message_recording"
    CLOSING = "closing"
    CONNECTED = "connected"
    ENDED = "ended"


St = InboundState


def _live(state: St, **edges: frozenset[St]) -> dict[type, frozenset[St]]:
    """Edges every live state has (caller keys, stale prompt ends and timers, hang-up) plus its own."""
    table: dict[type, frozenset[St]] = {
        Digit: frozenset({state}),
        PromptFinished: frozenset({state}),
        Timeout: frozenset({state}),
        CallerHungUp: frozenset({St.ENDED}),
    }
    events = {
        cls.__name__: cls
        for cls in (
            Digit,
            PromptFinished,
            Timeout,
            RecordingFinished,
            CaseStatusLooked,
            QueueInfo,
            AgentAnswered,
            ActionFailed,
        )
    }
    for name, targets in edges.items():
        table[events[name]] = targets
    return table


def _s(*states: St) -> frozenset[St]:
    return frozenset(states)


TRANSITIONS: dict[InboundState, dict[type, frozenset[InboundState]]] = {
    St.START: {CallStarted: _s(St.MENU, St.QUEUED, St.MESSAGE_PROMPT, St.CLOSING)},
    St.MENU: _live(
        St.MENU,
        Digit=_s(St.MENU, St.RECORD_PROMPT, St.CASE_NO, St.QUEUED),
        Timeout=_s(St.MENU, St.QUEUED),
        ActionFailed=_s(St.QUEUED),
    ),
    St.RECORD_PROMPT: _live(
        St.RECORD_PROMPT, PromptFinished=_s(St.RECORD_PROMPT, St.RECORDING), ActionFailed=_s(St.QUEUED)
    ),
    St.RECORDING: _live(St.RECORDING, RecordingFinished=_s(St.QUEUED), ActionFailed=_s(St.QUEUED)),
    St.CASE_NO: _live(
        St.CASE_NO,
        Digit=_s(St.CASE_NO, St.LOOKUP, St.MENU, St.QUEUED),
        Timeout=_s(St.CASE_NO, St.LOOKUP, St.QUEUED),
        ActionFailed=_s(St.QUEUED),
    ),
    St.LOOKUP: _live(St.LOOKUP, CaseStatusLooked=_s(St.MENU, St.CASE_NO, St.QUEUED), ActionFailed=_s(St.QUEUED)),
    St.QUEUED: _live(
        St.QUEUED,
        Digit=_s(St.QUEUED, St.CLOSING),
        QueueInfo=_s(St.QUEUED),
        AgentAnswered=_s(St.CONNECTED),
        ActionFailed=_s(St.QUEUED, St.CLOSING),
    ),
    St.MESSAGE_PROMPT: _live(
        St.MESSAGE_PROMPT,
        PromptFinished=_s(St.MESSAGE_PROMPT, St.MESSAGE_RECORDING),
        ActionFailed=_s(St.CLOSING),
    ),
    St.MESSAGE_RECORDING: _live(St.MESSAGE_RECORDING, RecordingFinished=_s(St.CLOSING), ActionFailed=_s(St.CLOSING)),
    # A QueueInfo computed before the caller took the callback may still be in the mailbox: ignored.
    St.CLOSING: _live(
        St.CLOSING, PromptFinished=_s(St.CLOSING, St.ENDED), QueueInfo=_s(St.CLOSING), ActionFailed=_s(St.ENDED)
    ),
    St.CONNECTED: {},
    St.ENDED: {},
}
"""state -> event type -> states it may lead to. Events missing for a state raise `IvrProtocolError`."""


class InboundSession(Session):
    """One inbound call. Construct per call with the validated flow; feed events; run the actions."""

    TRANSITIONS = TRANSITIONS
    INITIAL = St.START
    TERMINAL = frozenset({St.CONNECTED, St.ENDED})

    def __init__(self, flow: InboundFlow) -> None:
        super().__init__()
        self.flow = flow

    # ---- start ----
    def _on_CallStarted(self, step: Step, event: CallStarted) -> None:
        step.set(caller=event.caller)
        step.remember(repeat_caller=event.repeat_caller)
        if event.blocked or event.caller in self.flow.blocklist:
            step.mark("blocked")
            self._close(step, "blocked", "blocked")
        elif not self.flow.hours.is_open(step.now):
            step.mark("after_hours")
            step.play("after_hours")
            step.goto(St.MESSAGE_PROMPT)
        elif self.flow.mode == "direct":
            step.play("greeting", "transferring")
            self._enqueue(step, "direct")
        else:
            self._ask_menu(step, "greeting", "menu")

    # ---- menu ----
    def _ask_menu(self, step: Step, *fragments: Fragment | str) -> None:
        step.ask(*fragments, max_digits=1, terminator=None, timeout_s=self.flow.input.first_digit_timeout_s)
        step.goto(St.MENU)

    def _digit_menu(self, step: Step, digit: str) -> None:
        step.stop_input()
        option = self.flow.menu.get(digit)
        if option is None:
            step.mark(f"menu:{digit}")
            self._retry(step, "invalid_input")
            return
        step.mark(f"menu:{digit}")
        if option.do == "report":
            step.play("record_after_tone")
            step.goto(St.RECORD_PROMPT)
        elif option.do == "case_query":
            self._ask_case_no(step, "case_enter_number")
        elif option.do == "agent":
            step.play("transferring")
            self._enqueue(step, "agent", option.queue)
        else:
            self._ask_menu(step, "menu")

    def _retry(self, step: Step, why: str) -> None:
        """Wrong or no input: say so and ask again, or after the last retry hand over to an agent."""
        step.mark(why)
        if step.ctx.retries >= self.flow.input.retries:
            step.play(why, "transferring")
            self._enqueue(step, why)
        elif step.ctx.state == St.MENU:
            step.set(retries=step.ctx.retries + 1)
            self._ask_menu(step, why, "menu")
        else:
            step.set(retries=step.ctx.retries + 1)
            self._ask_case_no(step, why, "case_enter_number")

    def _arm_input(self, step: Step) -> None:
        if step.ctx.state in (St.MENU, St.CASE_NO):
            step.start_timer(INPUT_TIMER, self.flow.input.first_digit_timeout_s)

    def _timer_fired(self, step: Step, kind: str) -> None:
        if kind == QUEUE_TIMER and step.ctx.state == St.QUEUED:
            self._offer_callback(step)
        elif kind == INPUT_TIMER and step.ctx.state == St.MENU:
            self._retry(step, "no_input")
        elif kind == INPUT_TIMER and step.ctx.state == St.CASE_NO:
            self._case_no_timeout(step)

    # ---- case progress ----
    def _ask_case_no(self, step: Step, *fragments: Fragment | str) -> None:
        q = self.flow.case_query
        step.ask(*fragments, max_digits=q.max_digits, terminator="#", timeout_s=self.flow.input.first_digit_timeout_s)
        step.goto(St.CASE_NO)

    def _digit_case_no(self, step: Step, digit: str) -> None:
        if digit == "*":
            step.stop_input()
            step.mark("case:*")
            step.set(retries=0)
            self._ask_menu(step, "menu")
        elif digit == "#":
            step.stop_input()
            self._case_no_complete(step)
        else:
            step.stop_prompts()
            step.set(digits=step.ctx.digits + digit)
            if len(step.ctx.digits) >= self.flow.case_query.max_digits:
                step.cancel_timer(INPUT_TIMER)
                self._case_no_complete(step)
            else:
                step.start_timer(INPUT_TIMER, self.flow.input.interdigit_timeout_s)

    def _case_no_timeout(self, step: Step) -> None:
        digits = step.ctx.digits
        if len(digits) >= self.flow.case_query.min_digits:
            self._case_no_complete(step)  # the caller forgot the #
        else:
            self._retry(step, "invalid_input" if digits else "no_input")

    def _case_no_complete(self, step: Step) -> None:
        digits, q = step.ctx.digits, self.flow.case_query
        step.mark(f"case:{digits}")
        if not q.min_digits <= len(digits) <= q.max_digits:
            self._retry(step, "invalid_input")
            return
        step.remember(case_no=digits)
        step.emit(LookupCase(digits))
        step.goto(St.LOOKUP)

    def _on_CaseStatusLooked(self, step: Step, event: CaseStatusLooked) -> None:
        if event.case_no != step.ctx.extra.get("case_no"):
            raise IvrProtocolError(f"lookup answer for {event.case_no}, asked for {step.ctx.extra.get('case_no')}")
        result = event.result
        if result is None:
            step.set(state=St.CASE_NO)
            self._retry_not_found(step)
            return
        state_prompt = self.flow.case_query.states.get(result.state)
        if state_prompt is None:  # a state the flow cannot say: let a person explain
            step.mark(f"case_state:{result.state}")
            step.play("apology", "transferring")
            self._enqueue(step, "case_query")
            return
        step.mark("case:found")
        step.set(retries=0)
        self._ask_menu(step, *self._case_reading(result.case_no, state_prompt, result.deadline), "menu")

    def _retry_not_found(self, step: Step) -> None:
        step.mark("case:not_found")
        if step.ctx.retries >= self.flow.input.retries:
            step.play("case_not_found", "transferring")
            self._enqueue(step, "case_query")
        else:
            step.set(retries=step.ctx.retries + 1)
            self._ask_case_no(step, "case_not_found", "case_enter_number")

    def _case_reading(self, case_no: str, state_prompt: str, deadline: datetime | None) -> list[Fragment | str]:
        out: list[Fragment | str] = ["case_number_is", SayDigits(case_no), "case_state_is", state_prompt]
        if deadline is not None:
            aware = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)  # stored as naive UTC
            out += ["case_deadline_is", SayDateTime(self.flow.hours.local(aware))]
        return out

    # ---- recording a description ----
    def _prompt_done(self, step: Step, play_id: str) -> None:
        if step.ctx.playing:
            return
        state = step.ctx.state
        if state == St.RECORD_PROMPT:
            step.emit(Record("description", self.flow.recording.max_seconds))
            step.goto(St.RECORDING)
        elif state == St.MESSAGE_PROMPT:
            step.emit(Record("message", self.flow.recording.max_seconds))
            step.goto(St.MESSAGE_RECORDING)
        elif state == St.CLOSING:
            step.hang_up(step.ctx.extra.get("close_reason", "done"), St.ENDED)

    def _on_RecordingFinished(self, step: Step, event: RecordingFinished) -> None:
        said = event.duration_s >= self.flow.recording.min_seconds
        if step.ctx.state == St.RECORDING:
            step.mark(f"record:{round(event.duration_s)}s")
            step.play("thanks", "transferring")
            self._enqueue(step, "report", recording=event.path if said else None)
            return
        if said:
            step.mark(f"message:{round(event.duration_s)}s")
            step.emit(
                LeaveMessage(step.ctx.caller, event.path, event.duration_s, "after_hours", path_text(step.ctx.path))
            )
            self._close(step, "after_hours", "message_saved", "goodbye")
        else:
            step.mark("message:none")
            self._close(step, "after_hours", "goodbye")

    # ---- queue ----
    def _enqueue(self, step: Step, reason: str, queue: str | None = None, recording: str | None = None) -> None:
        q = self.flow.queue
        priority = q.priority_base + (q.priority_repeat_caller if step.ctx.extra.get("repeat_caller") else 0)
        name = queue or q.queue
        step.mark(f"queue:{reason}")
        step.emit(Enqueue(name, priority, reason, path_text(step.ctx.path), recording))
        step.remember(queue=name, offered=False)
        step.goto(St.QUEUED)
        if q.callback_offer:
            step.start_timer(QUEUE_TIMER, q.offer_after_s)

    def _on_QueueInfo(self, step: Step, event: QueueInfo) -> None:
        if step.ctx.state != St.QUEUED or step.ctx.playing:
            return  # never pile announcements on top of each other
        q, fragments = self.flow.queue, []
        if q.announce_position:
            fragments += self._position(event)
        wait = event.estimated_wait_s
        if q.callback_offer and wait is not None and wait > q.offer_if_estimate_over_s:
            self._offer_callback(step, *fragments)
        elif fragments:
            step.play(*fragments)

    @staticmethod
    def _position(event: QueueInfo) -> list[Fragment | str]:
        if event.ahead <= 0:
            out: list[Fragment | str] = ["queue_next"]
        else:
            out = ["queue_position_before", SayNumber(event.ahead), "queue_position_after"]
        if event.estimated_wait_s is not None and event.estimated_wait_s >= 60:
            out += ["estimated_wait_before", SayNumber(math.ceil(event.estimated_wait_s / 60)), "word_fenzhong"]
        return out

    def _offer_callback(self, step: Step, *before: Fragment | str) -> None:
        if step.ctx.extra.get("offered"):
            if before:
                step.play(*before)
            return
        step.cancel_timer(QUEUE_TIMER)
        step.mark("callback_offer")
        step.remember(offered=True)
        step.play(*before, "callback_offer")

    def _digit_queued(self, step: Step, digit: str) -> None:
        if not (step.ctx.extra.get("offered") and digit == "1"):
            return
        step.stop_prompts()
        step.cancel_all_timers()
        step.mark("callback")
        step.emit(RequestCallback(step.ctx.caller, step.ctx.extra["queue"], path_text(step.ctx.path)))
        self._close(step, "callback", "callback_confirmed", "goodbye")

    def _on_AgentAnswered(self, step: Step, event: AgentAnswered) -> None:
        step.stop_prompts()
        step.cancel_all_timers()
        step.mark(f"agent:{event.agent_id}")
        step.goto(St.CONNECTED)

    # ---- endings ----
    def _close(self, step: Step, reason: str, *fragments: str) -> None:
        step.remember(close_reason=reason)
        step.play(*fragments)
        step.goto(St.CLOSING)

    def _on_CallerHungUp(self, step: Step, event: CallerHungUp) -> None:
        step.stop_prompts()
        step.cancel_all_timers()
        if step.ctx.state == St.QUEUED:
            step.emit(Dequeue("abandoned"))
        step.mark("hangup")
        step.goto(St.ENDED)

    def _on_ActionFailed(self, step: Step, event: ActionFailed) -> None:
        state = step.ctx.state
        step.mark(f"error:{event.action}")
        if state == St.CLOSING:
            step.hang_up("error", St.ENDED)
        elif state == St.QUEUED and event.action in HARMLESS_IN_QUEUE:
            return
        elif state in (St.QUEUED, St.MESSAGE_PROMPT, St.MESSAGE_RECORDING):
            step.stop_prompts()
            step.cancel_all_timers()
            self._close(step, "error", "apology", "goodbye")
        else:
            step.stop_input()
            step.play("apology", "transferring")
            self._enqueue(step, "error")
