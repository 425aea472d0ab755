"""The IVR transition tables (h11 style): illegal events raise and change nothing; stale events are ignored."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

import pytest

from ivr.flow_spec import InboundFlow, SurveyFlow
from ivr.inbound import TRANSITIONS as INBOUND
from ivr.inbound import InboundSession, InboundState
from ivr.machine import IvrProtocolError
from ivr.session_events import (
    ActionFailed,
    AgentAnswered,
    CallerHungUp,
    CallStarted,
    CaseStatus,
    CaseStatusLooked,
    Digit,
    PromptFinished,
    QueueInfo,
    RecordingFinished,
    Timeout,
)
from ivr.survey import TRANSITIONS as SURVEY
from ivr.survey import SurveySession, SurveyState
from ivr.testing import FakeClock, IvrDriver

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
CASE_NO = "202611260001"
TABLES = [
    (INBOUND, InboundState.START, {InboundState.CONNECTED, InboundState.ENDED}),
    (SURVEY, SurveyState.START, {SurveyState.ENDED}),
]


def reachable(table: dict, start: object) -> set:
    seen, todo = {start}, deque([start])
    while todo:
        for targets in table[todo.popleft()].values():
            for target in set(targets) - seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize(("table", "start", "terminal"), TABLES)
def test_every_state_is_reachable(table: dict, start: object, terminal: set) -> None:
    assert reachable(table, start) == set(table)


@pytest.mark.parametrize(("table", "start", "terminal"), TABLES)
def test_terminal_states_have_no_exits_and_every_state_can_end(table: dict, start: object, terminal: set) -> None:
    assert all(not table[state] for state in terminal)
    for state in table:
        assert reachable(table, state) & terminal


def queued() -> IvrDriver:
    drv = IvrDriver(InboundSession(InboundFlow()), FakeClock(NOW))
    drv.send(CallStarted("13800000000"))
    drv.press("0")
    return drv


ILLEGAL = [
    (RecordingFinished("/r.wav", 3.0), "menu"),
    (CaseStatusLooked(CASE_NO, None), "menu"),
    (QueueInfo(2), "menu"),
    (AgentAnswered("a1"), "menu"),
    (CallStarted("1"), "menu"),
    (PromptFinished("p99"), "menu"),
    (PromptFinished("intro"), "menu"),
    (Timeout("input", 99), "menu"),
    (Timeout("queue_wait", 0), "menu"),
    (CaseStatusLooked(CASE_NO, None), "queued"),
    (RecordingFinished("/r.wav", 3.0), "queued"),
]


@pytest.mark.parametrize(("event", "where"), ILLEGAL, ids=lambda x: type(x).__name__)
def test_illegal_events_raise_and_change_nothing(event: object, where: str) -> None:
    drv = IvrDriver(InboundSession(InboundFlow()), FakeClock(NOW))
    drv.send(CallStarted("13800000000"))
    if where == "queued":
        drv.press("0")
    before = drv.session.context
    with pytest.raises(IvrProtocolError):
        drv.session.handle(event, NOW)  # type: ignore[arg-type]
    assert drv.session.context is before


def test_events_before_the_start_and_after_the_end_raise() -> None:
    session = InboundSession(InboundFlow())
    for event in (Digit("1"), PromptFinished("p1"), CallerHungUp(), ActionFailed("Play")):
        with pytest.raises(IvrProtocolError):
            session.handle(event, NOW)
    drv = queued()
    drv.send(AgentAnswered("a1"))
    for event in (Digit("1"), CallerHungUp(), QueueInfo(1), PromptFinished("p1")):
        with pytest.raises(IvrProtocolError):
            drv.session.handle(event, NOW)


def test_wrong_lookup_answer_raises_and_keeps_waiting() -> None:
    drv = IvrDriver(InboundSession(InboundFlow()), FakeClock(NOW))
    drv.send(CallStarted("13800000000"))
    drv.press("2" + CASE_NO + "#")
    before = drv.session.context
    with pytest.raises(IvrProtocolError):
        drv.send(CaseStatusLooked("202611269999", CaseStatus("202611269999", "closed")))
    assert drv.session.context is before and drv.session.state == InboundState.LOOKUP


def test_prompt_finished_after_barge_in_is_ignored() -> None:
    drv = IvrDriver(InboundSession(InboundFlow()), FakeClock(NOW))
    drv.send(CallStarted("13800000000"))
    drv.press("2")  # stops p1 (greeting + menu), plays p3 (case prompt)
    assert drv.send(PromptFinished("p1")) == [] and drv.session.state == InboundState.CASE_NO


def test_cancelled_or_rearmed_timer_is_ignored() -> None:
    drv = IvrDriver(InboundSession(InboundFlow()), FakeClock(NOW))
    drv.send(CallStarted("13800000000"))
    drv.finish_prompts()
    old_token = drv.timers["input"][0]
    drv.press("2")  # cancels the menu's input timer
    assert drv.send(Timeout("input", old_token)) == []
    drv.press("20")
    rearmed = drv.timers["input"][0]
    drv.press("2")
    assert drv.send(Timeout("input", rearmed)) == [] and drv.session.state == InboundState.CASE_NO


def test_stray_keys_are_ignored_and_not_recorded() -> None:
    drv = queued()
    path = drv.session.path
    assert drv.press("5#*") == [] and drv.session.path == path


def test_digit_event_refuses_non_dtmf_keys() -> None:
    with pytest.raises(ValueError):
        Digit("A")


def test_handler_bug_leaves_the_session_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    session = SurveySession(SurveyFlow(), CaseStatus(CASE_NO, "closed"))
    monkeypatch.setattr(SurveySession, "_on_CallStarted", lambda self, step, event: step.goto(SurveyState.ENDED))
    with pytest.raises(AssertionError, match="not in table"):
        session.handle(CallStarted("1"), NOW)
    assert session.state == SurveyState.START
