"""The call's lifecycle table: every state reachable, the end state has no exits, illegal events raise and
change nothing, and the outcome is decided by the end event from the call's facts."""

from __future__ import annotations

from collections import deque

import pytest

from callcenter.domain import call_lifecycle as lc
from callcenter.domain.call_lifecycle import (
    INITIAL_STATE,
    TERMINAL_STATES,
    TRANSITIONS,
    AgentRinging,
    Answered,
    Arrived,
    CallbackChosen,
    CallLifecycle,
    CallState,
    CaseFound,
    Dequeued,
    Enqueued,
    Failed,
    HungUp,
    IllegalCallEvent,
    IvrHungUp,
    MessageLeft,
    NotAnswered,
    Outcome,
    Party,
    Placed,
    RingEnded,
    Transferred,
)

S = CallState
SAMPLE = {
    Arrived: Arrived(), Placed: Placed(), Enqueued: Enqueued("agent"), Dequeued: Dequeued(),
    AgentRinging: AgentRinging("8001"), RingEnded: RingEnded(), Answered: Answered(),
    Transferred: Transferred("agent"), CaseFound: CaseFound(), MessageLeft: MessageLeft(),
    CallbackChosen: CallbackChosen(), IvrHungUp: IvrHungUp("done"), HungUp: HungUp(Party.CALLER),
    NotAnswered: NotAnswered(), Failed: Failed(),
}


def drive(*events: lc.CallEvent) -> CallLifecycle:
    call = CallLifecycle()
    for event in events:
        call = lc.apply(call, event)
    return call


def reachable() -> dict[CallState, CallLifecycle]:
    """Breadth-first over the table from the initial state, one sample event per edge."""
    found = {INITIAL_STATE: CallLifecycle()}
    todo = deque([CallLifecycle()])
    while todo:
        call = todo.popleft()
        for event_type in TRANSITIONS[call.state]:
            after = lc.apply(call, SAMPLE[event_type])
            if after.state not in found:
                found[after.state] = after
                todo.append(after)
    return found


def test_every_state_is_reachable_and_every_event_has_a_sample() -> None:
    assert set(reachable()) == set(CallState)
    assert {t for edges in TRANSITIONS.values() for t in edges} <= set(SAMPLE)


def test_the_end_state_has_no_exits_and_every_other_state_can_end() -> None:
    assert {S.ENDED} == TERMINAL_STATES and TRANSITIONS[S.ENDED] == {}
    for state, edges in TRANSITIONS.items():
        if state not in TERMINAL_STATES:
            assert HungUp in edges and Failed in edges, state


@pytest.mark.parametrize("state", list(CallState))
def test_illegal_events_raise_and_change_nothing(state: CallState) -> None:
    call = reachable()[state]
    for event_type, event in SAMPLE.items():
        if event_type in TRANSITIONS[state]:
            continue
        with pytest.raises(IllegalCallEvent):
            lc.apply(call, event)
        assert reachable()[state] == call


def test_every_edge_lands_where_the_table_says() -> None:
    for state, call in reachable().items():
        for event_type, targets in TRANSITIONS[state].items():
            assert lc.apply(call, SAMPLE[event_type]).state in targets


def test_only_the_end_event_sets_the_outcome() -> None:
    for state, call in reachable().items():
        assert (call.outcome is None) == (state is not S.ENDED)


@pytest.mark.parametrize(("events", "outcome", "by"), [
    ((Arrived(), Enqueued(), AgentRinging("8001"), Answered(), HungUp(Party.CALLER)), Outcome.ANSWERED,
     Party.CALLER),
    ((Arrived(), Enqueued(), AgentRinging("8001"), Answered(), HungUp(Party.AGENT)), Outcome.ANSWERED,
     Party.AGENT),
    ((Arrived(), Enqueued(), HungUp(Party.CALLER)), Outcome.ABANDONED, Party.CALLER),
    ((Arrived(), Enqueued(), CallbackChosen(), HungUp(Party.CALLER)), Outcome.CALLBACK, Party.CALLER),
    ((Arrived(), Enqueued(), CallbackChosen(), IvrHungUp("done")), Outcome.CALLBACK, Party.SYSTEM),
    ((Arrived(), MessageLeft(), IvrHungUp("done")), Outcome.MESSAGE, Party.SYSTEM),
    ((Arrived(), CaseFound(), HungUp(Party.CALLER)), Outcome.QUERY, Party.CALLER),
    ((Arrived(), CaseFound(), Enqueued(), HungUp(Party.CALLER)), Outcome.ABANDONED, Party.CALLER),
    ((Arrived(), IvrHungUp("blocked")), Outcome.BLOCKED, Party.SYSTEM),
    ((Arrived(), IvrHungUp("after_hours")), Outcome.AFTER_HOURS, Party.SYSTEM),
    ((Arrived(), IvrHungUp("error")), Outcome.FAILED, Party.SYSTEM),
    ((Arrived(), Enqueued(), Failed()), Outcome.FAILED, Party.SYSTEM),
    ((Arrived(), Enqueued(), Answered(), Transferred("queue"), Enqueued("transfer"), HungUp(Party.CALLER)),
     Outcome.ABANDONED, Party.CALLER),
    ((Arrived(), Enqueued(), Answered(), Transferred("agent"), Answered(), HungUp(Party.CALLER)),
     Outcome.ANSWERED, Party.CALLER),
    ((Placed(), NotAnswered()), Outcome.NO_ANSWER, Party.SYSTEM),
    ((Placed(), HungUp(Party.AGENT)), Outcome.NO_ANSWER, Party.AGENT),
    ((Placed(), Answered(), HungUp(Party.CALLEE)), Outcome.ANSWERED, Party.CALLEE),
    ((Placed(), Answered(), HungUp(Party.SYSTEM)), Outcome.ANSWERED, Party.SYSTEM),
])
def test_the_outcome_follows_from_the_calls_events(events: tuple[lc.CallEvent, ...], outcome: Outcome,
                                                   by: Party) -> None:
    ended = drive(*events)
    assert (ended.state, ended.outcome, ended.hangup_by) == (S.ENDED, outcome, by)


def test_the_last_wish_counts() -> None:
    assert drive(Arrived(), Enqueued(), CallbackChosen(), MessageLeft(), HungUp(Party.CALLER)).outcome is \
        Outcome.MESSAGE


def test_an_ended_call_cannot_end_again() -> None:
    ended = drive(Arrived(), HungUp(Party.CALLER))
    with pytest.raises(IllegalCallEvent):
        lc.apply(ended, Failed())
