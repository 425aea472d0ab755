"""The satisfaction survey on outbound callbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.actions import HangUp, Record, StoreSurveyAnswer
from ivr.flow_spec import SurveyFlow, parse_flow
from ivr.loader import load_prompt_catalogue
from ivr.session_events import ActionFailed, CallerHungUp, CallStarted, CaseStatus, RecordingFinished
from ivr.survey import SurveySession, SurveyState
from ivr.testing import FakeClock, IvrDriver

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
CASE = CaseStatus("202611260001", "closed")
CATALOGUE = load_prompt_catalogue()


def started(**flow_data: object) -> IvrDriver:
    drv = IvrDriver(SurveySession(parse_flow(SurveyFlow, flow_data), CASE), FakeClock(NOW), catalogue=CATALOGUE)
    out = drv.send(CallStarted("13800000000"))
    ids = drv.prompts(out)
    assert ids[:2] == ["survey_intro", "survey_case_is"]
    assert ids[-3:] == ["case_state_is", "state_closed", "survey_question"]
    return drv


def stored(drv: IvrDriver) -> StoreSurveyAnswer:
    (answer,) = drv.of(StoreSurveyAnswer)
    return answer


@pytest.mark.parametrize(("key", "answer"), [("1", "satisfied"), ("2", "basically_satisfied")])
def test_satisfied_answers_are_stored_and_thanked(key: str, answer: str) -> None:
    drv = started()
    drv.finish_prompts()
    out = drv.press(key)
    assert stored(drv) == StoreSurveyAnswer(CASE.case_no, answer, f"survey>answer:{key}")
    assert drv.prompts(out) == ["survey_thanks", "goodbye"]
    assert drv.of(HangUp, drv.finish_prompts()) == [HangUp("survey_done", f"survey>answer:{key}")]
    assert drv.session.finished


def test_dissatisfied_asks_for_a_voice_reason() -> None:
    drv = started()
    out = drv.press("3")
    assert drv.prompts(out) == ["survey_reason"] and not drv.of(StoreSurveyAnswer)
    assert drv.of(Record, drv.finish_prompts()) == [Record("survey_reason", 60)]
    drv.send(RecordingFinished("/rec/r.wav", 9.0))
    assert stored(drv) == StoreSurveyAnswer(CASE.case_no, "dissatisfied", "survey>answer:3>reason:9s", "/rec/r.wav")


def test_silent_reason_keeps_the_answer_without_recording() -> None:
    drv = started()
    drv.press("3")
    drv.finish_prompts()
    drv.send(RecordingFinished("/rec/r.wav", 0.1))
    assert stored(drv).answer == "dissatisfied" and stored(drv).reason_recording is None


def test_reason_can_be_switched_off() -> None:
    drv = started(ask_reason_for=[])
    drv.press("3")
    assert stored(drv).answer == "dissatisfied" and drv.session.state == SurveyState.CLOSING


def test_wrong_keys_retry_then_no_answer() -> None:
    drv = started()
    assert drv.prompts(drv.press("7")) == ["invalid_input", "survey_question"]
    assert drv.prompts(drv.press("#")) == ["invalid_input", "survey_question"]
    assert drv.prompts(drv.press("0")) == ["goodbye"]
    assert stored(drv) == StoreSurveyAnswer(
        CASE.case_no, None, "survey>answer:7>answer:#>answer:0", None, "invalid_input"
    )


def test_silence_retries_then_no_answer() -> None:
    drv = started()
    for _ in range(2):
        drv.finish_prompts()
        assert drv.prompts(drv.fire("input")) == ["no_input", "survey_question"]
    drv.finish_prompts()
    drv.fire("input")
    assert stored(drv).answer is None and stored(drv).reason == "no_input"
    assert drv.clock.now == NOW.replace(second=24)


def test_hang_up_before_answering_stores_no_answer() -> None:
    drv = started()
    drv.send(CallerHungUp())
    assert stored(drv).answer is None and stored(drv).reason == "hung_up" and drv.session.finished


def test_hang_up_during_the_reason_keeps_the_answer() -> None:
    drv = started()
    drv.press("3")
    drv.finish_prompts()
    drv.send(CallerHungUp())
    assert stored(drv).answer == "dissatisfied" and stored(drv).reason == "hung_up"


def test_hang_up_after_answering_stores_nothing_more() -> None:
    drv = started()
    drv.press("1")
    drv.send(CallerHungUp())
    assert len(drv.of(StoreSurveyAnswer)) == 1


def test_failure_apologises_and_stores_no_answer() -> None:
    drv = started()
    out = drv.send(ActionFailed("Play"))
    assert drv.prompts(out) == ["apology", "goodbye"] and stored(drv).reason == "error"
    assert drv.of(HangUp, drv.send(ActionFailed("Play")))[0].reason == "error"


def test_unknown_case_state_is_left_out_of_the_reading() -> None:
    drv = IvrDriver(SurveySession(SurveyFlow(), CaseStatus("202611260001", "odd")), FakeClock(NOW))
    ids = drv.prompts(drv.send(CallStarted("1")))
    assert "case_state_is" not in ids and ids[-1] == "survey_question"
