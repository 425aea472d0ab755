"""The delivery lifecycles (callback, outbox message, webhook delivery) walked edge by edge."""

from __future__ import annotations

from enum import StrEnum
from types import ModuleType

import pytest

from ticketing.notify.domain import callback_lifecycle, outbox_lifecycle, webhook_lifecycle
from ticketing.notify.domain.callback_lifecycle import CallbackEvent, CallbackState
from ticketing.notify.domain.lifecycle import IllegalTransition, Lifecycle
from ticketing.notify.domain.outbox_lifecycle import OutboxEvent, OutboxState
from ticketing.notify.domain.webhook_lifecycle import WebhookEvent, WebhookState

MODULES = [callback_lifecycle, outbox_lifecycle, webhook_lifecycle]
EVENTS: dict[ModuleType, type[StrEnum]] = {
    callback_lifecycle: CallbackEvent, outbox_lifecycle: OutboxEvent, webhook_lifecycle: WebhookEvent}


def pairs(module: ModuleType) -> list[tuple[StrEnum, StrEnum]]:
    lifecycle: Lifecycle = module.LIFECYCLE  # type: ignore[type-arg]
    return [(state, event) for state in lifecycle.states for event in EVENTS[module]]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_state_is_reachable_from_pending(module: ModuleType) -> None:
    assert module.LIFECYCLE.initial == "pending"
    assert module.LIFECYCLE.reachable() == frozenset(module.LIFECYCLE.states)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_terminal_states_have_no_exits_and_every_other_state_has_one(module: ModuleType) -> None:
    assert module.LIFECYCLE.terminal() == module.TERMINAL
    for state in module.TERMINAL:
        for event in EVENTS[module]:
            with pytest.raises(IllegalTransition):
                module.apply(state, event)
    assert all(module.LIFECYCLE.events_from(s) for s in module.LIFECYCLE.states if s not in module.TERMINAL)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_apply_follows_the_table_and_refuses_everything_else(module: ModuleType) -> None:
    for state, event in pairs(module):
        if (state, event) in module.TRANSITIONS:
            assert module.apply(state, event) is module.TRANSITIONS[(state, event)]
        else:
            with pytest.raises(IllegalTransition, match=f"{event.value!r} is not allowed in state"):
                module.apply(state, event)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_event_is_used_and_a_claim_leases_the_row(module: ModuleType) -> None:
    assert {event for _, event in module.TRANSITIONS} == set(EVENTS[module])
    claimed = module.apply(module.LIFECYCLE.initial, EVENTS[module]("claim"))
    assert module.apply(claimed, EVENTS[module]("lease_expired")) is claimed  # a dead worker's row is re-claimed


def test_a_callback_ends_its_call_in_deciding_before_any_outcome() -> None:
    S, E = CallbackState, CallbackEvent
    assert callback_lifecycle.apply(S.CALLING, E.CALL_ENDED) is S.DECIDING
    assert {callback_lifecycle.apply(S.DECIDING, e) for e in (E.RETRY, E.ANSWER, E.SMS_SURVEY, E.GIVE_UP)} == {
        S.PENDING, S.ANSWERED, S.SMS, S.FAILED}
    with pytest.raises(IllegalTransition):  # an answer reported twice: the second finds the row deciding
        callback_lifecycle.apply(S.DECIDING, E.CALL_ENDED)
    with pytest.raises(IllegalTransition):  # only a dialled survey is cancelled
        callback_lifecycle.apply(S.PENDING, E.CANCEL)


def test_outbox_and_webhook_tries_end_in_their_own_outcomes() -> None:
    assert outbox_lifecycle.apply(OutboxState.SENDING, OutboxEvent.OPTED_OUT) is OutboxState.SUPPRESSED
    assert outbox_lifecycle.apply(OutboxState.SENDING, OutboxEvent.RATE_LIMITED) is OutboxState.PENDING
    assert webhook_lifecycle.apply(WebhookState.SENDING, WebhookEvent.RETRY) is WebhookState.PENDING
    with pytest.raises(IllegalTransition):  # a pending row is sent only once claimed
        outbox_lifecycle.apply(OutboxState.PENDING, OutboxEvent.SENT)
    with pytest.raises(IllegalTransition):
        webhook_lifecycle.apply(WebhookState.DELIVERED, WebhookEvent.RETRY)


class Light(StrEnum):
    OFF = "off"
    ON = "on"
    BROKEN = "broken"


class Flip(StrEnum):
    PRESS = "press"
    SMASH = "smash"


def test_mermaid_draws_every_edge_merges_parallel_ones_and_marks_ends() -> None:
    table = {(Light.OFF, Flip.PRESS): Light.ON, (Light.ON, Flip.PRESS): Light.OFF,
             (Light.ON, Flip.SMASH): Light.BROKEN, (Light.OFF, Flip.SMASH): Light.BROKEN}
    lifecycle = Lifecycle("light", Light.OFF, table)
    assert lifecycle.mermaid().splitlines() == [
        "stateDiagram-v2", "    [*] --> off", "    off --> on: press", "    off --> broken: smash",
        "    on --> off: press", "    on --> broken: smash", "    broken --> [*]"]
    same_pair = Lifecycle("light", Light.OFF, {(Light.OFF, Flip.PRESS): Light.ON, (Light.OFF, Flip.SMASH): Light.ON})
    assert "    off --> on: press, smash" in same_pair.mermaid()
    assert same_pair.reachable() == {Light.OFF, Light.ON} and Light.BROKEN in same_pair.terminal()
