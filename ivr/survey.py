"""The satisfaction survey on an outbound callback (一事一评): I/O-free, one transition table.

`SurveySession(flow, case).handle(event, now)`. When the callee answers (`CallStarted`), the result is read
(intro, case number, state), then "满意请按1，基本满意请按2，不满意请按3". A wrong key or silence is retried
`input.retries` times. A chosen answer in `ask_reason_for` (default: 不满意) asks for an optional voice reason.
Exactly one `StoreSurveyAnswer` is emitted per call, also when the callee hangs up or never answers
(`answer=None`, `reason` "no_input", "invalid_input", "hung_up" or "error").
"""

from __future__ import annotations

from enum import StrEnum

from ivr.actions import Record, StoreSurveyAnswer
from ivr.flow_spec import SurveyFlow
from ivr.machine import INPUT_TIMER, Session, Step, path_text
from ivr.session_events import (
    ActionFailed,
    CallerHungUp,
    CallStarted,
    CaseStatus,
    Digit,
    PromptFinished,
    RecordingFinished,
    Timeout,
)
from ivr.speech import Fragment, SayDigits


class SurveyState(StrEnum):
    START = "start"
    ASK = "ask"
    REASON_PROMPT = "reason_prompt"
    REASON_RECORDING = "reason_recording"
    CLOSING = "closing"
    ENDED = "ended"


Sv = SurveyState


def _live(state: Sv, extra: dict[type, frozenset[Sv]]) -> dict[type, frozenset[Sv]]:
    table: dict[type, frozenset[Sv]] = {
        Digit: frozenset({state}),
        PromptFinished: frozenset({state}),
        Timeout: frozenset({state}),
        CallerHungUp: frozenset({Sv.ENDED}),
    }
    table.update(extra)
    return table


TRANSITIONS: dict[SurveyState, dict[type, frozenset[SurveyState]]] = {
    Sv.START: {CallStarted: frozenset({Sv.ASK})},
    Sv.ASK: _live(
        Sv.ASK,
        {
            Digit: frozenset({Sv.ASK, Sv.REASON_PROMPT, Sv.CLOSING}),
            Timeout: frozenset({Sv.ASK, Sv.CLOSING}),
            ActionFailed: frozenset({Sv.CLOSING}),
        },
    ),
    Sv.REASON_PROMPT: _live(
        Sv.REASON_PROMPT,
        {
            PromptFinished: frozenset({Sv.REASON_PROMPT, Sv.REASON_RECORDING}),
            ActionFailed: frozenset({Sv.CLOSING}),
        },
    ),
    Sv.REASON_RECORDING: _live(
        Sv.REASON_RECORDING,
        {RecordingFinished: frozenset({Sv.CLOSING}), ActionFailed: frozenset({Sv.CLOSING})},
    ),
    Sv.CLOSING: _live(
        Sv.CLOSING, {PromptFinished: frozenset({Sv.CLOSING, Sv.ENDED}), ActionFailed: frozenset({Sv.ENDED})}
    ),
    Sv.ENDED: {},
}
"""state -> event type -> states it may lead to. Events missing for a state raise `IvrProtocolError`."""


class SurveySession(Session):
    """One survey call about `case`. `case.state` is read out with the flow's state prompts."""

    TRANSITIONS = TRANSITIONS
    INITIAL = Sv.START
    TERMINAL = frozenset({Sv.ENDED})

    def __init__(self, flow: SurveyFlow, case: CaseStatus) -> None:
        super().__init__()
        self.flow = flow
        self.case = case

    def _on_CallStarted(self, step: Step, event: CallStarted) -> None:
        step.set(caller=event.caller)
        step.mark("survey")
        self._ask(step, "survey_intro", *self._result(), "survey_question")

    def _result(self) -> list[Fragment | str]:
        out: list[Fragment | str] = ["survey_case_is", SayDigits(self.case.case_no)]
        state_prompt = self.flow.case_states.get(self.case.state)
        if state_prompt is not None:
            out += ["case_state_is", state_prompt]
        return out

    def _ask(self, step: Step, *fragments: Fragment | str) -> None:
        step.ask(*fragments, max_digits=1, terminator=None, timeout_s=self.flow.input.first_digit_timeout_s)
        step.goto(Sv.ASK)

    def _arm_input(self, step: Step) -> None:
        if step.ctx.state == Sv.ASK:
            step.start_timer(INPUT_TIMER, self.flow.input.first_digit_timeout_s)

    def _digit_ask(self, step: Step, digit: str) -> None:
        step.stop_input()
        step.mark(f"answer:{digit}")
        answer = self.flow.answers.get(digit)
        if answer is None:
            self._retry(step, "invalid_input")
        elif answer in self.flow.ask_reason_for:
            step.remember(answer=answer)
            step.play("survey_reason")
            step.goto(Sv.REASON_PROMPT)
        else:
            self._store(step, answer)
            self._close(step, "survey_thanks", "goodbye")

    def _timer_fired(self, step: Step, kind: str) -> None:
        if kind == INPUT_TIMER and step.ctx.state == Sv.ASK:
            step.mark("no_input")
            self._retry(step, "no_input")

    def _retry(self, step: Step, why: str) -> None:
        if step.ctx.retries >= self.flow.input.retries:
            self._store(step, None, reason=why)
            self._close(step, "goodbye")
        else:
            step.set(retries=step.ctx.retries + 1)
            self._ask(step, why, "survey_question")

    def _prompt_done(self, step: Step, play_id: str) -> None:
        if step.ctx.playing:
            return
        if step.ctx.state == Sv.REASON_PROMPT:
            step.emit(Record("survey_reason", self.flow.recording.max_seconds))
            step.goto(Sv.REASON_RECORDING)
        elif step.ctx.state == Sv.CLOSING:
            step.hang_up("survey_done", Sv.ENDED)

    def _on_RecordingFinished(self, step: Step, event: RecordingFinished) -> None:
        said = event.duration_s >= self.flow.recording.min_seconds
        step.mark(f"reason:{round(event.duration_s)}s")
        self._store(step, step.ctx.extra["answer"], recording=event.path if said else None)
        self._close(step, "survey_thanks", "goodbye")

    def _store(self, step: Step, answer: str | None, reason: str = "", recording: str | None = None) -> None:
        step.remember(stored=True)
        step.emit(StoreSurveyAnswer(self.case.case_no, answer, path_text(step.ctx.path), recording, reason))

    def _close(self, step: Step, *fragments: str) -> None:
        step.play(*fragments)
        step.goto(Sv.CLOSING)

    def _store_pending(self, step: Step, reason: str) -> None:
        """A chosen answer still waiting for its voice reason is kept; otherwise "no answer"."""
        if not step.ctx.extra.get("stored"):
            self._store(step, step.ctx.extra.get("answer"), reason=reason)

    def _on_CallerHungUp(self, step: Step, event: CallerHungUp) -> None:
        step.stop_prompts()
        step.cancel_all_timers()
        step.mark("hangup")
        self._store_pending(step, "hung_up")
        step.goto(Sv.ENDED)

    def _on_ActionFailed(self, step: Step, event: ActionFailed) -> None:
        step.mark(f"error:{event.action}")
        if step.ctx.state == Sv.CLOSING:
            step.hang_up("error", Sv.ENDED)
            return
        step.stop_input()
        self._store_pending(step, "error")
        self._close(step, "apology", "goodbye")
