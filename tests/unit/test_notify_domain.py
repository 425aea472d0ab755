"""Pure decisions of the loop: thresholds, lights, backoff, rate limit, calling window, survey steps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketing.notify.domain.deadlines import light, parse_threshold, passed, urge_text
from ticketing.notify.domain.delivery import backoff, dedup_key, next_attempt, rate_limited
from ticketing.notify.domain.survey import Step, decide
from ticketing.notify.domain.window import in_window, next_in_window, parse_window

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Haiyan
pytestmark = pytest.mark.dates  # fixed dates are this module's inputs, not the machine's date
TZ = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


@pytest.mark.parametrize(("text", "mark", "hours"), [
    ("yellow", "yellow", 0), ("due", "due", 0), ("due+24h", "due", 24), ("due-2h", "due", -2),
    ("due+0.5h", "due", 0.5)])
def test_thresholds_parse_to_a_mark_and_an_offset(text: str, mark: str, hours: float) -> None:
    threshold = parse_threshold(text)
    assert (threshold.mark, threshold.offset, threshold.name) == (mark, timedelta(hours=hours), text)


@pytest.mark.parametrize("text", ["red", "due+", "due+2", "yellow-h", "due*2h", ""])
def test_bad_thresholds_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="threshold"):
        parse_threshold(text)


def test_a_threshold_is_passed_at_its_mark_plus_offset() -> None:
    yellow, due = T0 + 3 * H, T0 + 4 * H
    late = parse_threshold("due+24h")
    assert not passed(late, yellow, due, due + 23 * H)
    assert passed(late, yellow, due, due + 24 * H)
    assert passed(parse_threshold("due-2h"), yellow, due, due - 2 * H)
    assert not passed(parse_threshold("yellow"), yellow, due, yellow - timedelta(seconds=1))


def test_lights_match_the_stage_clock_rule() -> None:
    yellow, due = T0 + 3 * H, T0 + 4 * H
    assert [light(yellow, due, t) for t in (T0, yellow, due, due + timedelta(microseconds=1))] == [
        "green", "yellow", "yellow", "red"]


def test_urge_texts_name_the_case_and_the_due_time() -> None:
    assert "即将到期" in urge_text("yellow", "202611230001", "11月23日14:30")
    assert "已超期" in urge_text("due+24h", "202611230001", "x")
    assert "值班长" in urge_text("escalation", "202611230001", "x")
    assert all("202611230001" in urge_text(level, "202611230001", "x") for level in ("due", "due-2h"))


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 30, 600).total_seconds() for n in range(0, 7)] == [0, 30, 60, 120, 240, 480, 600]
    assert backoff(10_000, 1, 60) == timedelta(seconds=60)


def test_next_attempt_gives_up_after_the_allowance() -> None:
    assert next_attempt(T0, 1, 3, 10, 100) == T0 + timedelta(seconds=10)
    assert next_attempt(T0, 3, 3, 10, 100) is None


def test_rate_limit_and_dedup_key() -> None:
    assert not rate_limited(4, 5) and rate_limited(5, 5)
    assert dedup_key("202611230001", "closed", "138") == "202611230001:closed:138"
    assert dedup_key(None, "x", "1" * 300).startswith("-:x:") and len(dedup_key(None, "x", "1" * 300)) == 200


def test_calling_window_moves_late_calls_to_the_next_morning() -> None:
    window = parse_window(("09:00", "20:00"))
    assert window == (time(9), time(20))
    assert next_in_window(T0, window, TZ) == T0  # 09:00 local: open
    evening = T0 + 11 * H  # 20:00 local: closed (end is exclusive)
    assert not in_window(evening, window, TZ)
    assert next_in_window(evening, window, TZ) == T0 + 24 * H
    early = T0 - 3 * H  # 06:00 local: later the same day
    assert next_in_window(early, window, TZ) == T0


def test_a_window_to_24_00_is_open_until_midnight() -> None:
    all_day = parse_window(("00:00", "24:00"))
    last_second = T0 + 15 * H - timedelta(seconds=1)  # 23:59:59 local
    for at in (T0 - 9 * H, T0, last_second, last_second + timedelta(seconds=1)):  # 00:00, 09:00, 23:59:59, 00:00
        assert in_window(at, all_day, TZ) and next_in_window(at, all_day, TZ) == at
    evening = parse_window(("18:00", "24:00"))
    assert in_window(last_second, evening, TZ) and not in_window(T0, evening, TZ)
    assert next_in_window(T0, evening, TZ) == T0 + 9 * H


@pytest.mark.parametrize("value", [("20:00", "09:00"), ("9", "20:00"), ("09:00", "09:00"), ("00:00", "00:00"),
                                   ("24:00", "24:00")])
def test_bad_windows_are_refused(value: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="calling window"):
        parse_window(value)


@pytest.mark.parametrize(("answer", "attempts", "step"), [
    (1, 1, Step.RATE), (2, 3, Step.RATE), (3, 1, Step.RATE_AND_REOPEN), (None, 1, Step.RETRY),
    (None, 2, Step.RETRY), (None, 3, Step.SMS)])
def test_survey_answers_lead_to_the_next_step(answer: int | None, attempts: int, step: Step) -> None:
    assert decide(answer, attempts, retries=2, sms_survey=True).step is step


def test_no_sms_survey_means_giving_up_and_unsatisfied_carries_a_reason() -> None:
    assert decide(None, 5, retries=2, sms_survey=False).step is Step.GIVE_UP
    assert "不满意" in (decide(3, 1, 0, True).reason or "")


def test_replies_are_read_as_rating_query_opt_out_or_other() -> None:
    from ticketing.notify.domain.replies import ReplyKind, parse_reply

    assert parse_reply("１").rating == 1 and parse_reply(" 2 ").kind is ReplyKind.RATING
    three = parse_reply("3，路灯晚上还是不亮")
    assert three.rating == 3 and three.words == "路灯晚上还是不亮"
    assert parse_reply("查询 202611230001").case_no == "202611230001"
    assert parse_reply("查询：202611230001").kind is ReplyKind.QUERY
    assert {parse_reply(t).kind for t in ("TD", "td", "退订", "ＴＤ")} == {ReplyKind.OPT_OUT}
    assert {parse_reply(t).kind for t in ("4", "12", "谢谢", "", "查询 123")} == {ReplyKind.OTHER}
