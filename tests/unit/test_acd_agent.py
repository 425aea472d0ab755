"""Agent state table: every state reachable, illegal commands refused with the agent unchanged."""

from __future__ import annotations

import copy
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest

from callcenter.acd import (
    INITIAL_STATE,
    NO_ANSWER_REASON,
    TRANSITIONS,
    Agent,
    AgentState,
    AnswerCall,
    CancelRing,
    EndCall,
    EndWrapUp,
    IllegalAgentCommand,
    LogIn,
    LogOut,
    OfferCall,
    RingNoAnswer,
    SetNotReady,
    SetReady,
    StartOutbound,
    apply,
    wrap_ups_due,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
S = AgentState

SAMPLE = {
    LogIn: LogIn(),
    LogOut: LogOut(),
    SetReady: SetReady(),
    SetNotReady: SetNotReady("lunch"),
    OfferCall: OfferCall("c1"),
    AnswerCall: AnswerCall("c1"),
    RingNoAnswer: RingNoAnswer("c1"),
    CancelRing: CancelRing("c1"),
    StartOutbound: StartOutbound("c1"),
    EndCall: EndCall("c1"),
    EndWrapUp: EndWrapUp(early=True),
}


def drive(agent: Agent, *commands: object, now: datetime = T0) -> Agent:
    for cmd in commands:
        apply(agent, cmd, now)  # type: ignore[arg-type]
    return agent


def ready_agent() -> Agent:
    return drive(Agent("a1", {"hotline": 0}), LogIn(), SetReady())


def test_every_state_is_reachable_from_logged_out() -> None:
    seen = {INITIAL_STATE}
    todo = deque([INITIAL_STATE])
    while todo:
        for targets in TRANSITIONS[todo.popleft()].values():
            for target in targets - seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(AgentState)


def test_every_table_edge_can_be_taken() -> None:
    paths = {
        S.LOGGED_OUT: [],
        S.NOT_READY: [LogIn()],
        S.READY: [LogIn(), SetReady()],
        S.RINGING: [LogIn(), SetReady(), OfferCall("c1")],
        S.ON_CALL: [LogIn(), SetReady(), OfferCall("c1"), AnswerCall("c1")],
        S.WRAP_UP: [LogIn(), SetReady(), OfferCall("c1"), AnswerCall("c1"), EndCall("c1")],
    }
    for state, table in TRANSITIONS.items():
        for command_type, targets in table.items():
            agent = drive(Agent("a1"), *paths[state])
            assert agent.state is state
            events = apply(agent, SAMPLE[command_type], T0)
            assert agent.state in targets and events[0].new is agent.state


@pytest.mark.parametrize("state", list(AgentState))
def test_illegal_commands_are_refused_and_change_nothing(state: AgentState) -> None:
    for command_type, command in SAMPLE.items():
        if command_type in TRANSITIONS[state]:
            continue
        agent = Agent("a1", state=state, call_id="c1", state_since=T0)
        before = copy.deepcopy(agent)
        with pytest.raises(IllegalAgentCommand):
            apply(agent, command, T0 + timedelta(seconds=5))
        assert agent == before


def test_log_in_starts_not_ready() -> None:
    agent = drive(Agent("a1"), LogIn())
    assert agent.state is S.NOT_READY and agent.reason == "logged_in"


def test_no_answer_makes_the_agent_not_ready_with_reason() -> None:
    agent = drive(ready_agent(), OfferCall("c9"))
    (event,) = apply(agent, RingNoAnswer("c9"), T0 + timedelta(seconds=15))
    assert agent.state is S.NOT_READY and agent.reason == NO_ANSWER_REASON
    assert (event.old, event.new, event.reason, event.call_id) == (S.RINGING, S.NOT_READY, NO_ANSWER_REASON, None)


def test_answer_for_another_call_is_refused() -> None:
    agent = drive(ready_agent(), OfferCall("c1"))
    with pytest.raises(IllegalAgentCommand):
        apply(agent, AnswerCall("c2"), T0)
    assert agent.state is S.RINGING and agent.call_id == "c1"


def test_cancelled_ring_keeps_idle_time() -> None:
    agent = ready_agent()
    drive(agent, OfferCall("c1"), CancelRing("c1"), now=T0 + timedelta(minutes=3))
    assert agent.state is S.READY and agent.idle_since == T0


def test_wrap_up_lasts_the_configured_time() -> None:
    agent = ready_agent()
    agent.wrap_up_s = 30
    drive(agent, OfferCall("c1"), AnswerCall("c1"))
    apply(agent, EndCall("c1"), T0 + timedelta(minutes=2))
    assert agent.state is S.WRAP_UP and agent.calls_handled == 1
    early = T0 + timedelta(minutes=2, seconds=29)
    assert wrap_ups_due([agent], early) == []
    with pytest.raises(IllegalAgentCommand):
        apply(agent, EndWrapUp(), early)
    assert agent.state is S.WRAP_UP
    done = T0 + timedelta(minutes=2, seconds=30)
    assert wrap_ups_due([agent], done) == ["a1"]
    apply(agent, EndWrapUp(), done)
    assert agent.state is S.READY and agent.idle_since == done


def test_zero_wrap_up_goes_straight_to_ready() -> None:
    agent = ready_agent()
    agent.wrap_up_s = 0
    drive(agent, OfferCall("c1"), AnswerCall("c1"), EndCall("c1"))
    assert agent.state is S.READY and agent.calls_handled == 1


def test_not_ready_during_wrap_up_and_reason_change() -> None:
    agent = drive(ready_agent(), OfferCall("c1"), AnswerCall("c1"), EndCall("c1"), SetNotReady("meeting"))
    assert agent.state is S.NOT_READY and agent.reason == "meeting"
    drive(agent, SetNotReady("lunch"))
    assert agent.reason == "lunch"


def test_not_ready_without_reason_is_refused() -> None:
    agent = ready_agent()
    with pytest.raises(IllegalAgentCommand):
        apply(agent, SetNotReady(""), T0)
    assert agent.state is S.READY


def test_outbound_from_not_ready_and_log_out_resets_counters() -> None:
    agent = drive(Agent("a1", wrap_up_s=0), LogIn(), StartOutbound("cb1"), EndCall("cb1"))
    assert agent.state is S.READY and agent.calls_handled == 1
    drive(agent, LogOut())
    assert agent.state is S.LOGGED_OUT and agent.calls_handled == 0 and agent.idle_since is None
