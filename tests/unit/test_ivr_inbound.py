"""Every path through the inbound IVR, driven with a fake clock and a fake runtime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.actions import (
    CollectDigits,
    Dequeue,
    Enqueue,
    HangUp,
    LeaveMessage,
    LookupCase,
    Play,
    Record,
    RequestCallback,
    StopPrompts,
)
from ivr.flow_spec import InboundFlow, parse_flow
from ivr.inbound import InboundSession, InboundState
from ivr.loader import load_prompt_catalogue
from ivr.session_events import (
    ActionFailed,
    AgentAnswered,
    CallerHungUp,
    CallStarted,
    CaseStatus,
    CaseStatusLooked,
    QueueInfo,
    RecordingFinished,
)
from ivr.testing import FakeClock, IvrDriver

NOON = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # Thursday 12:00 in Haiyan
CALLER = "13800000000"
CASE_NO = "202611260001"
CATALOGUE = load_prompt_catalogue()
S = InboundState


def driver(flow: InboundFlow | None = None, **flow_data: object) -> IvrDriver:
    flow = flow or parse_flow(InboundFlow, flow_data)
    return IvrDriver(InboundSession(flow), FakeClock(NOON), catalogue=CATALOGUE)


def at_menu(**flow_data: object) -> IvrDriver:
    drv = driver(**flow_data)
    drv.send(CallStarted(CALLER))
    return drv


def enqueue(drv: IvrDriver) -> Enqueue:
    (action,) = drv.of(Enqueue)
    return action


def test_greeting_then_menu_and_a_timer_only_after_the_prompt() -> None:
    drv = driver()
    out = drv.send(CallStarted(CALLER))
    assert drv.prompts(out) == ["greeting", "menu"]
    assert drv.of(CollectDigits, out) == [CollectDigits(1, None, 6.0)]
    assert drv.timers == {}
    drv.finish_prompts()
    assert "input" in drv.timers and drv.session.state == S.MENU


def test_menu_1_records_a_description_then_queues_with_it() -> None:
    drv = at_menu()
    drv.press("1")
    assert drv.prompts(drv.last) == ["record_after_tone"] and drv.session.state == S.RECORD_PROMPT
    out = drv.finish_prompts()
    assert drv.of(Record, out) == [Record("description", max_seconds=60, terminator="#", beep=True)]
    out = drv.send(RecordingFinished("/rec/a.wav", 23.4))
    assert drv.prompts(out) == ["thanks", "transferring"]
    assert enqueue(drv) == Enqueue("hotline", 0, "report", "menu:1>record:23s>queue:report", "/rec/a.wav")
    assert drv.session.state == S.QUEUED


def test_a_silent_description_is_queued_without_recording() -> None:
    drv = at_menu()
    drv.press("1")
    drv.finish_prompts()
    drv.send(RecordingFinished("/rec/a.wav", 0.4))
    assert enqueue(drv).recording is None


def test_menu_0_goes_to_an_agent() -> None:
    drv = at_menu()
    drv.finish_prompts()
    out = drv.press("0")
    assert drv.prompts(out) == ["transferring"]
    assert enqueue(drv) == Enqueue("hotline", 0, "agent", "menu:0>queue:agent")


def test_menu_option_can_name_its_own_queue() -> None:
    drv = at_menu(menu={"0": {"do": "agent", "queue": "supervisors"}})
    drv.press("0")
    assert enqueue(drv).queue == "supervisors"


def test_repeat_option_plays_the_menu_again() -> None:
    drv = at_menu(menu={"0": {"do": "agent"}, "*": {"do": "repeat"}})
    out = drv.press("*")
    assert drv.prompts(out) == ["menu"] and drv.session.state == S.MENU


def test_repeat_callers_get_the_configured_priority() -> None:
    drv = driver()
    drv.send(CallStarted(CALLER, repeat_caller=True))
    drv.press("0")
    assert enqueue(drv).priority == 10


def test_key_during_the_greeting_stops_it() -> None:
    drv = at_menu()
    out = drv.press("0")
    assert isinstance(out[0], StopPrompts) and drv.playing == ["p2"]


def test_no_input_retries_then_an_agent() -> None:
    drv = at_menu()
    for _ in range(2):
        drv.finish_prompts()
        out = drv.fire("input")
        assert drv.prompts(out) == ["no_input", "menu"]
    drv.finish_prompts()
    out = drv.fire("input")
    assert drv.prompts(out) == ["no_input", "transferring"]
    assert enqueue(drv) == Enqueue("hotline", 0, "no_input", "no_input>no_input>no_input>queue:no_input")
    assert drv.clock.now > NOON


def test_wrong_keys_retry_then_an_agent() -> None:
    drv = at_menu()
    assert drv.prompts(drv.press("5")) == ["invalid_input", "menu"]
    assert drv.prompts(drv.press("#")) == ["invalid_input", "menu"]
    assert drv.prompts(drv.press("9")) == ["invalid_input", "transferring"]
    assert enqueue(drv).reason == "invalid_input"
    assert drv.session.path[:2] == ("menu:5", "invalid_input")


def test_zero_retries_goes_to_an_agent_at_once() -> None:
    drv = at_menu(input={"retries": 0})
    drv.press("7")
    assert enqueue(drv).reason == "invalid_input"


def test_direct_mode_skips_the_menu() -> None:
    drv = driver(mode="direct")
    out = drv.send(CallStarted(CALLER))
    assert drv.prompts(out) == ["greeting", "transferring"]
    assert enqueue(drv) == Enqueue("hotline", 0, "direct", "queue:direct")
    assert not drv.of(CollectDigits)


@pytest.mark.parametrize("flag", [True, False])
def test_blocked_numbers_hear_a_polite_message_and_the_call_ends(flag: bool) -> None:
    drv = driver(blocklist=[] if flag else [CALLER])
    out = drv.send(CallStarted(CALLER, blocked=flag))
    assert drv.prompts(out) == ["blocked"] and not drv.of(HangUp)
    out = drv.finish_prompts()
    assert drv.of(HangUp, out) == [HangUp("blocked", "blocked")]
    assert drv.session.finished and drv.session.state == S.ENDED


OFFICE_HOURS = {"periods": [{"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}]}


def after_hours() -> IvrDriver:
    drv = IvrDriver(
        InboundSession(parse_flow(InboundFlow, {"hours": OFFICE_HOURS})),
        FakeClock(datetime(2026, 11, 26, 13, 0, tzinfo=UTC)),  # 21:00 local
        catalogue=CATALOGUE,
    )
    out = drv.send(CallStarted(CALLER))
    assert drv.prompts(out) == ["after_hours"]
    assert drv.of(Record, drv.finish_prompts()) == [Record("message", 60)]
    return drv


def test_after_hours_a_message_is_left_for_a_callback() -> None:
    drv = after_hours()
    out = drv.send(RecordingFinished("/rec/m.wav", 12.0))
    assert drv.of(LeaveMessage, out) == [
        LeaveMessage(CALLER, "/rec/m.wav", 12.0, "after_hours", "after_hours>message:12s")
    ]
    assert drv.prompts(out) == ["message_saved", "goodbye"]
    assert drv.of(HangUp, drv.finish_prompts())[0].reason == "after_hours"


def test_after_hours_silence_leaves_no_message() -> None:
    drv = after_hours()
    out = drv.send(RecordingFinished("/rec/m.wav", 0.2))
    assert not drv.of(LeaveMessage) and drv.prompts(out) == ["goodbye"]


# ---- case progress ----
def at_case_no() -> IvrDriver:
    drv = at_menu()
    drv.finish_prompts()
    out = drv.press("2")
    assert drv.prompts(out) == ["case_enter_number"]
    assert drv.of(CollectDigits, out) == [CollectDigits(16, "#", 6.0)]
    return drv


def test_case_found_reads_state_and_local_deadline_then_the_menu() -> None:
    drv = at_case_no()
    drv.finish_prompts()
    out = drv.press(CASE_NO + "#")
    assert drv.of(LookupCase, out) == [LookupCase(CASE_NO)] and drv.session.state == S.LOOKUP
    deadline = datetime(2026, 11, 28, 9, 30)  # naive UTC, as stored: 17:30 in Haiyan
    out = drv.send(CaseStatusLooked(CASE_NO, CaseStatus(CASE_NO, "dispatched", deadline)))
    ids = drv.prompts(out)
    assert ids[0] == "case_number_is" and ids[13:15] == ["case_state_is", "state_handling"]
    assert ids[15:] == [
        "case_deadline_is",
        "num_shi",
        "digit_1",
        "word_yue",
        "digit_2",
        "num_shi",
        "digit_8",
        "word_ri",
        "num_shi",
        "digit_7",
        "word_shi",
        "digit_3",
        "num_shi",
        "word_fen",
        "menu",
    ]
    assert drv.session.state == S.MENU and drv.session.path == ("menu:2", f"case:{CASE_NO}", "case:found")


def test_case_without_deadline_is_read_without_one() -> None:
    drv = at_case_no()
    drv.press(CASE_NO + "#")
    out = drv.send(CaseStatusLooked(CASE_NO, CaseStatus(CASE_NO, "closed")))
    assert drv.prompts(out)[-3:] == ["case_state_is", "state_closed", "menu"]


def test_typing_during_the_prompt_stops_it_and_uses_interdigit_timeouts() -> None:
    drv = at_case_no()
    out = drv.press("2")
    assert isinstance(out[0], StopPrompts)
    drv.press("0261126000")
    assert drv.timers["input"][1] == NOON.replace(second=4)
    drv.fire("input")  # 11 digits and silence: too short
    assert drv.prompts(drv.last) == ["invalid_input", "case_enter_number"]


def test_a_forgotten_hash_still_looks_up_after_the_timeout() -> None:
    drv = at_case_no()
    drv.press(CASE_NO)
    assert drv.of(LookupCase, drv.fire("input")) == [LookupCase(CASE_NO)]


def test_max_digits_complete_without_hash() -> None:
    drv = at_case_no()
    out = drv.press("1234567890123456")
    assert drv.of(LookupCase, out) == [LookupCase("1234567890123456")]


def test_hash_with_too_few_digits_retries() -> None:
    drv = at_case_no()
    out = drv.press("2026#")
    assert drv.prompts(out) == ["invalid_input", "case_enter_number"] and drv.session.state == S.CASE_NO
    drv.press(CASE_NO + "#")
    assert drv.of(LookupCase) == [LookupCase(CASE_NO)]


def test_no_case_number_at_all_retries_then_an_agent() -> None:
    drv = at_case_no()
    for _ in range(2):
        drv.finish_prompts()
        assert drv.prompts(drv.fire("input")) == ["no_input", "case_enter_number"]
    drv.finish_prompts()
    drv.fire("input")
    assert enqueue(drv).reason == "no_input"


def test_star_returns_to_the_menu() -> None:
    drv = at_case_no()
    out = drv.press("20*")
    assert drv.prompts(out) == ["menu"] and drv.session.state == S.MENU


def test_unknown_case_retries_then_an_agent() -> None:
    drv = at_case_no()
    for _ in range(2):
        drv.press(CASE_NO + "#")
        out = drv.send(CaseStatusLooked(CASE_NO, None))
        assert drv.prompts(out) == ["case_not_found", "case_enter_number"]
    drv.press(CASE_NO + "#")
    out = drv.send(CaseStatusLooked(CASE_NO, None))
    assert drv.prompts(out) == ["case_not_found", "transferring"] and enqueue(drv).reason == "case_query"


def test_a_state_the_flow_cannot_say_goes_to_an_agent() -> None:
    drv = at_case_no()
    drv.press(CASE_NO + "#")
    out = drv.send(CaseStatusLooked(CASE_NO, CaseStatus(CASE_NO, "archived")))
    assert drv.prompts(out) == ["apology", "transferring"] and enqueue(drv).reason == "case_query"


# ---- queue ----
def queued(**flow_data: object) -> IvrDriver:
    drv = at_menu(**flow_data)
    drv.press("0")
    drv.finish_prompts()
    return drv


def test_position_and_estimated_wait_are_read_out() -> None:
    drv = queued()
    out = drv.send(QueueInfo(3, 150.0))
    assert drv.prompts(out) == [
        "queue_position_before",
        "digit_3",
        "queue_position_after",
        "estimated_wait_before",
        "digit_3",
        "word_fenzhong",
    ]
    drv.finish_prompts()
    assert drv.prompts(drv.send(QueueInfo(0, 30.0))) == ["queue_next"]


def test_announcements_do_not_pile_up() -> None:
    drv = queued()
    drv.send(QueueInfo(3))
    assert drv.send(QueueInfo(2)) == []


def test_long_estimate_offers_a_callback_that_keeps_the_place() -> None:
    drv = queued()
    out = drv.send(QueueInfo(9, 600.0))
    assert drv.prompts(out)[-1] == "callback_offer" and "queue_wait" not in drv.timers
    out = drv.press("1")
    assert isinstance(out[0], StopPrompts)
    assert drv.of(RequestCallback, out) == [
        RequestCallback(CALLER, "hotline", "menu:0>queue:agent>callback_offer>callback")
    ]
    assert drv.prompts(out) == ["callback_confirmed", "goodbye"] and drv.session.state == S.CLOSING
    drv.send(QueueInfo(8))  # computed before the callback was taken: ignored
    assert drv.of(HangUp, drv.finish_prompts())[0].reason == "callback"


def test_a_long_wait_offers_the_callback_once() -> None:
    drv = queued()
    out = drv.fire("queue_wait")
    assert drv.prompts(out) == ["callback_offer"] and drv.clock.now == NOON.replace(minute=2)
    drv.finish_prompts()
    assert drv.prompts(drv.send(QueueInfo(5, 900.0))) == [
        "queue_position_before",
        "digit_5",
        "queue_position_after",
        "estimated_wait_before",
        "num_shi",
        "digit_5",
        "word_fenzhong",
    ]


def test_keys_in_the_queue_before_an_offer_are_ignored() -> None:
    drv = queued()
    assert drv.press("1") == [] and drv.session.state == S.QUEUED


def test_no_callback_offer_when_disabled() -> None:
    drv = queued(queue={"callback_offer": False})
    assert "queue_wait" not in drv.timers
    assert "callback_offer" not in drv.prompts(drv.send(QueueInfo(9, 6000.0)))


def test_agent_answer_finishes_the_ivr() -> None:
    drv = queued()
    drv.send(QueueInfo(1))
    out = drv.send(AgentAnswered("a7"))
    assert isinstance(out[0], StopPrompts) and drv.session.finished and drv.session.state == S.CONNECTED
    assert drv.session.path[-1] == "agent:a7"


def test_hanging_up_in_the_queue_dequeues() -> None:
    drv = queued()
    out = drv.send(CallerHungUp())
    assert drv.of(Dequeue, out) == [Dequeue("abandoned")] and drv.session.state == S.ENDED


def test_hanging_up_in_the_menu_just_ends() -> None:
    drv = at_menu()
    out = drv.send(CallerHungUp())
    assert not drv.of(Dequeue, out) and drv.session.finished


# ---- failures ----
def test_a_failure_before_the_queue_apologises_and_hands_over() -> None:
    drv = at_menu()
    drv.press("1")
    out = drv.send(ActionFailed("Play", "file missing"))
    assert drv.prompts(out) == ["apology", "transferring"] and enqueue(drv).reason == "error"


def test_a_failed_lookup_hands_over() -> None:
    drv = at_case_no()
    drv.press(CASE_NO + "#")
    drv.send(ActionFailed("LookupCase"))
    assert enqueue(drv).reason == "error"


def test_a_failed_prompt_in_the_queue_is_harmless() -> None:
    drv = queued()
    assert drv.send(ActionFailed("Play")) == [] and drv.session.state == S.QUEUED


def test_a_failed_enqueue_apologises_and_ends_the_call() -> None:
    drv = queued()
    out = drv.send(ActionFailed("Enqueue", "no such queue"))
    assert drv.prompts(out) == ["apology", "goodbye"]
    assert drv.of(HangUp, drv.finish_prompts())[0].reason == "error"


def test_a_failure_while_closing_hangs_up_at_once() -> None:
    drv = driver()
    drv.send(CallStarted(CALLER, blocked=True))
    out = drv.send(ActionFailed("Play"))
    assert drv.of(HangUp, out)[0].reason == "error" and drv.session.finished


def test_a_failed_after_hours_recording_ends_politely() -> None:
    drv = after_hours()
    out = drv.send(ActionFailed("Record"))
    assert drv.prompts(out) == ["apology", "goodbye"] and drv.session.state == S.CLOSING


def test_play_fragments_reach_the_runtime_as_prompt_ids() -> None:
    drv = driver()
    (play,) = drv.of(Play, drv.send(CallStarted(CALLER)))
    assert play.prompt_ids() == ["greeting", "menu"]
