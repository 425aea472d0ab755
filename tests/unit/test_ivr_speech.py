"""Mandarin readings of numbers, digit strings and dates as prompt ids."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr.speech import Prompt, SayDateTime, SayDigits, SayNumber, digit_ids, number_ids, prompt_ids

WORD = {
    **{f"digit_{d}": "零一二三四五六七八九"[d] for d in range(10)},
    "digit_yao": "幺",
    "num_shi": "十",
    "num_bai": "百",
    "num_qian": "千",
    "num_wan": "万",
    "num_dian": "点",
    "word_nian": "年",
    "word_yue": "月",
    "word_ri": "日",
    "word_shi": "时",
    "word_fen": "分",
    "word_fenzhong": "分钟",
}


def said(ids: list[str]) -> str:
    return "".join(WORD[i] for i in ids)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1000, "一千"),
        (1005, "一千零五"),
        (1050, "一千零五十"),
        (1500, "一千五百"),
        (10000, "一万"),
        (10010, "一万零一十"),
        (12319, "一万二千三百一十九"),
        (200000, "二十万"),
        (1002003, "一百万二千零三"),
        (3.5, "三点五"),
        (2.25, "二点二五"),
        (4.0, "四"),
    ],
)
def test_numbers(value: float, text: str) -> None:
    assert said(number_ids(value)) == text


def test_digits_read_one_as_yao_unless_asked_not_to() -> None:
    assert said(digit_ids("202611260001")) == "二零二六幺幺二六零零零幺"
    assert said(digit_ids("12319", yao=False)) == "一二三一九"


def test_datetime() -> None:
    assert said(prompt_ids([SayDateTime(datetime(2026, 11, 28, 17, 30))])) == "十一月二十八日十七时三十分"
    assert said(prompt_ids([SayDateTime(datetime(2026, 1, 2, 9, 0), with_year=True)])) == "二零二六年一月二日九时"
    assert said(prompt_ids([SayDateTime(datetime(2026, 1, 2, 9, 5), with_time=False)])) == "一月二日"


def test_fragments_flatten_in_order() -> None:
    ids = prompt_ids([Prompt("queue_position_before"), SayNumber(3), SayDigits("10")])
    assert ids == ["queue_position_before", "digit_3", "digit_yao", "digit_0"]


@pytest.mark.parametrize("bad", ["12a", "", "１２"])
def test_say_digits_refuses_non_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        SayDigits(bad)


@pytest.mark.parametrize("bad", [-1, 100_000_000])
def test_say_number_refuses_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError):
        SayNumber(bad)
