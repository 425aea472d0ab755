"""Flows as data: the shipped files load, bad data is refused with clear messages, service hours."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.flow_spec import FlowError, InboundFlow, SurveyFlow, parse_flow
from ivr.loader import load_inbound_flow, load_prompt_catalogue, load_survey_flow


def test_shipped_flows_load_and_match_the_defaults() -> None:
    assert load_inbound_flow() == InboundFlow()
    assert load_survey_flow() == SurveyFlow()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "chat"}, "mode: Input should be 'menu' or 'direct'"),
        ({"menu": {"5": {"do": "dance"}, "0": {"do": "agent"}}}, "menu.5.do"),
        ({"menu": {"#": {"do": "agent"}}}, "menu keys must be one of 0-9 or *"),
        ({"menu": {"1": {"do": "report"}}}, "the menu must offer an agent"),
        ({"menu_typo": {}}, "menu_typo: Extra inputs are not permitted"),
        ({"hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"hours": {"periods": [{"start": "18:00", "end": "08:00"}]}}, "must end after it starts"),
        ({"hours": {"periods": [{"days": [0], "start": "08:00"}]}}, "ISO weekdays"),
        ({"input": {"retries": -1}}, "input.retries"),
        ({"case_query": {"min_digits": 12, "max_digits": 10}}, "max_digits must be >= min_digits"),
    ],
)
def test_bad_inbound_flows_are_refused_with_the_key_named(data: dict, message: str) -> None:
    with pytest.raises(FlowError) as err:
        parse_flow(InboundFlow, data, "hotline.yaml")
    assert str(err.value).startswith("hotline.yaml: ") and message in str(err.value)


def test_bad_survey_answer_is_refused() -> None:
    with pytest.raises(FlowError, match=r"answers\.1"):
        parse_flow(SurveyFlow, {"answers": {"1": "happy"}}, "survey.yaml")


def test_unknown_prompt_ids_are_refused_on_load(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("case_query:\n  states:\n    closed: state_finished\n", encoding="utf-8")
    with pytest.raises(FlowError, match="unknown prompt ids state_finished"):
        load_inbound_flow(path)
    assert load_inbound_flow(path, check_prompts=False).case_query.states == {"closed": "state_finished"}


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="cannot read"):
        load_inbound_flow(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: [menu\n", encoding="utf-8")
    with pytest.raises(FlowError, match="not valid YAML"):
        load_inbound_flow(bad)


def test_prompt_catalogue_needs_the_number_prompts(tmp_path: Path) -> None:
    path = tmp_path / "prompts.yaml"
    path.write_text("greeting: 你好\n", encoding="utf-8")
    with pytest.raises(FlowError, match="number prompts missing: digit_0"):
        load_prompt_catalogue(path)


OFFICE = {
    "hours": {"periods": [{"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}], "closed_dates": ["2026-10-01"]}
}


@pytest.mark.dates
@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        (datetime(2026, 11, 26, 0, 30, tzinfo=UTC), True),  # Thursday 08:30 in Haiyan
        (datetime(2026, 11, 26, 0, 29, tzinfo=UTC), False),
        (datetime(2026, 11, 26, 9, 29, tzinfo=UTC), True),  # 17:29
        (datetime(2026, 11, 26, 9, 30, tzinfo=UTC), False),  # 17:30, end is exclusive
        (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), False),  # Saturday
        (datetime(2026, 10, 1, 3, 0, tzinfo=UTC), False),  # closed date (a Thursday)
    ],
)
def test_service_hours_in_local_time(utc: datetime, is_open: bool) -> None:
    assert parse_flow(InboundFlow, OFFICE).hours.is_open(utc) is is_open


@pytest.mark.dates
def test_no_periods_means_always_open_and_end_of_day_works() -> None:
    assert InboundFlow().hours.is_open(datetime(2026, 11, 29, 19, 0, tzinfo=UTC))
    late = parse_flow(InboundFlow, {"hours": {"periods": [{"start": "20:00", "end": "24:00"}]}})
    assert late.hours.is_open(datetime(2026, 11, 26, 15, 59, tzinfo=UTC))  # 23:59 local


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        InboundFlow().hours.is_open(datetime(2026, 11, 26, 9, 0))
