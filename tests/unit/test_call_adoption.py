"""The adoption plan after a restart of the service or a reconnect (callcenter/domain/adoption.py): what
Asterisk still holds is resumed, queued again, hung up once or closed; pure, on listed channels and bridges."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.acd import Agent, AgentState
from callcenter.ari.ari_events import Bridge, Channel
from callcenter.domain.adoption import OpenCall, Resume, agent_of, plan
from callcenter.domain.agent_session import resume_call
from callcenter.domain.call_lifecycle import HungUp, Outcome, Party, apply, replayed

APP = "hotline"
CALL, OUT = "a1b2c3d4e5f60718", "0f1e2d3c4b5a6978"


def stasis(channel_id: str, *args: str, state: str = "Up") -> Channel:
    return Channel(channel_id, f"PJSIP/x-{channel_id}", state, app_name="Stasis", app_data=",".join((APP, *args)))


def ringing(channel_id: str) -> Channel:
    return Channel(channel_id, f"PJSIP/8001-{channel_id}", "Ringing")


def bridge(call_id: str, *channels: str) -> Bridge:
    return Bridge(f"call-{call_id}", "mixing", channels)


CALLER = stasis("1733.1")
AGENT_LEG = stasis(f"{CALL}-8001-1", "agent", CALL)
OPEN = {CALL: OpenCall(CALL, "1733.1")}


def test_a_bridged_conversation_is_resumed_with_its_two_parties() -> None:
    found = plan([CALLER, AGENT_LEG], [bridge(CALL, "1733.1", AGENT_LEG.id)], OPEN, app_name=APP, owned=())
    assert found.resume == [Resume(CALL, "1733.1", AGENT_LEG.id, f"call-{CALL}", held=False)]
    assert found.queue == found.hang_up == found.destroy_bridges == found.close == []


def test_a_caller_out_of_the_bridge_is_resumed_on_hold() -> None:
    found = plan([CALLER, AGENT_LEG], [bridge(CALL, AGENT_LEG.id)], OPEN, app_name=APP, owned=())
    assert found.resume == [Resume(CALL, "1733.1", AGENT_LEG.id, f"call-{CALL}", held=True)]
    assert found.queue == []


def test_a_call_we_placed_is_resumed_from_the_agents_phone_leg() -> None:
    agent, citizen = stasis(f"{OUT}-agent", "outbound", OUT), stasis(f"{OUT}-callee", "outbound", OUT)
    found = plan(
        [agent, citizen],
        [bridge(OUT, agent.id, citizen.id)],
        {OUT: OpenCall(OUT, agent.id, "outbound")},
        app_name=APP,
        owned=(),
    )
    assert [(r.call_id, r.channel_id, r.other_channel) for r in found.resume] == [(OUT, agent.id, citizen.id)]


def test_a_waiting_or_ivr_caller_is_queued_and_its_ringing_leg_hung_up_once() -> None:
    leg = ringing(f"{CALL}-8002-4")
    found = plan([CALLER, leg, stasis("1733.9", "queue")], [], OPEN, app_name=APP, owned=())
    assert [c.id for c in found.queue] == ["1733.1", "1733.9"]
    assert found.hang_up == [leg.id]
    assert found.resume == found.close == []


def test_a_bridge_whose_caller_is_gone_is_destroyed_its_leg_hung_up_and_its_row_closed() -> None:
    found = plan([AGENT_LEG], [bridge(CALL, AGENT_LEG.id)], OPEN, app_name=APP, owned=())
    assert found.destroy_bridges == [f"call-{CALL}"] and found.hang_up == [AGENT_LEG.id]
    assert found.close == [CALL] and found.resume == []


def test_a_bridge_left_with_the_caller_alone_is_destroyed_and_the_caller_queued() -> None:
    found = plan([CALLER], [bridge(CALL, "1733.1")], OPEN, app_name=APP, owned=())
    assert found.destroy_bridges == [f"call-{CALL}"] and [c.id for c in found.queue] == ["1733.1"]
    assert found.close == []


def test_surveys_snoops_and_supervisor_phones_are_hung_up() -> None:
    survey = stasis(f"{OUT}-survey", "survey", OUT)
    snoop = stasis(f"sup-{CALL}-3-snoop", "snoop", CALL)
    phone = ringing(f"sup-{CALL}-3-phone")
    found = plan(
        [CALLER, AGENT_LEG, survey, snoop, phone],
        [bridge(CALL, "1733.1", AGENT_LEG.id)],
        {**OPEN, OUT: OpenCall(OUT, survey.id, "survey")},
        app_name=APP,
        owned=(),
    )
    assert sorted(found.hang_up) == sorted([survey.id, snoop.id, phone.id])
    assert found.close == [OUT] and len(found.resume) == 1


def test_what_live_calls_own_is_left_alone_and_their_missing_channels_reported() -> None:
    owned = {"1733.1", AGENT_LEG.id, f"call-{CALL}", "1733.5"}
    found = plan(
        [CALLER, AGENT_LEG],
        [bridge(CALL, "1733.1", AGENT_LEG.id)],
        {**OPEN, "ffff000011112222": OpenCall("ffff000011112222", "1733.5")},
        app_name=APP,
        owned=owned,
    )
    assert found.resume == found.queue == found.hang_up == found.destroy_bridges == found.close == []
    assert found.lost_channels == ["1733.5"]


def test_after_asterisk_restarted_every_owned_channel_is_lost_and_no_row_closed_twice() -> None:
    owned = {"1733.1", AGENT_LEG.id, f"call-{CALL}"}
    found = plan([], [], OPEN, app_name=APP, owned=owned)
    assert sorted(found.lost_channels) == sorted(["1733.1", AGENT_LEG.id])
    assert found.close == []  # the live call ends itself


def test_other_applications_and_dialplan_channels_are_not_ours() -> None:
    foreign = Channel("99.1", "PJSIP/x", "Up", app_name="Stasis", app_data="other-app")
    dialplan = Channel("99.2", "PJSIP/y", "Up", app_name="Playback", app_data="hello")
    found = plan([foreign, dialplan], [Bridge("other-bridge", "mixing", ())], {}, app_name=APP, owned=())
    assert found.queue == found.hang_up == found.destroy_bridges == []


def test_a_closed_row_gets_its_outcome_from_the_call_lifecycle() -> None:
    def outcome(direction: str, queued: bool, answered: bool) -> Outcome | None:
        return apply(replayed(direction, queued=queued, answered=answered), HungUp(Party.SYSTEM)).outcome

    assert outcome("inbound", queued=True, answered=False) is Outcome.ABANDONED
    assert outcome("inbound", queued=True, answered=True) is Outcome.ANSWERED
    assert outcome("outbound", queued=False, answered=False) is Outcome.NO_ANSWER
    assert outcome("survey", queued=False, answered=True) is Outcome.ANSWERED


def test_an_agent_whose_conversation_was_resumed_is_on_that_call_again() -> None:
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    agent = Agent("8001", state=AgentState.WRAP_UP, wrap_up_until=now)
    assert resume_call(agent, CALL, now) is AgentState.WRAP_UP
    assert (agent.state, agent.call_id, agent.wrap_up_until) == (AgentState.ON_CALL, CALL, None)


def test_an_agent_leg_answered_while_the_service_was_away_is_connected_to_its_caller() -> None:
    other = stasis(f"{CALL}-8002-2", "agent", CALL)  # ring-all: a second answered leg is hung up
    found = plan([CALLER, AGENT_LEG, other], [], OPEN, app_name=APP, owned=())
    assert found.resume == [Resume(CALL, "1733.1", AGENT_LEG.id, "", held=False)]
    assert found.hang_up == [other.id] and found.queue == [] and found.close == []


def test_the_agent_of_a_leg_is_read_from_its_name() -> None:
    assert agent_of(f"{CALL}-8001-7", CALL) == "8001"
    assert agent_of(f"{CALL}-out-3", CALL) is None
    assert agent_of(f"{OUT}-callee", OUT) is None
