"""Spoken fragments and how Mandarin numbers, digit strings and dates become prompt ids. Pure.

A `Play` action carries fragments; `prompt_ids(fragments)` flattens them into the ids of recorded prompts
(`ivr/prompts/prompts.yaml`). Numbers use the prompts digit_0..digit_9 and the unit words 十 百 千 万 点;
dates use 年 月 日 时 分. Digit strings (case numbers, phone numbers) read 1 as 幺 (`digit_yao`), as is
usual on the telephone, unless `yao=False`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

NUMBER_PROMPTS = (
    *(f"digit_{d}" for d in range(10)),
    "digit_yao",
    "num_shi",
    "num_bai",
    "num_qian",
    "num_wan",
    "num_dian",
    "word_nian",
    "word_yue",
    "word_ri",
    "word_shi",
    "word_fen",
    "word_fenzhong",
)
"""Prompt ids this module may produce besides those named by `Prompt` fragments."""

_UNITS = ((1000, "num_qian"), (100, "num_bai"), (10, "num_shi"), (1, None))
MAX_NUMBER = 99_999_999


@dataclass(frozen=True)
class Prompt:
    id: str


@dataclass(frozen=True)
class SayDigits:
    digits: str
    yao: bool = True

    def __post_init__(self) -> None:
        if not self.digits.isdigit() or not self.digits.isascii():
            raise ValueError(f"SayDigits needs ASCII digits, got {self.digits!r}")


@dataclass(frozen=True)
class SayNumber:
    """An integer 0..99,999,999, or a non-negative number with up to two decimals (read with 点)."""

    value: int | float

    def __post_init__(self) -> None:
        if not 0 <= self.value <= MAX_NUMBER:
            raise ValueError(f"SayNumber supports 0..{MAX_NUMBER}, got {self.value!r}")


@dataclass(frozen=True)
class SayDateTime:
    """Local wall-clock date/time: [YYYY年]M月D日[H时[M分]]. The caller converts to local time first."""

    value: datetime
    with_year: bool = False
    with_time: bool = True


Fragment = Prompt | SayDigits | SayNumber | SayDateTime


def prompt_ids(fragments: tuple[Fragment, ...] | list[Fragment]) -> list[str]:
    """Flatten fragments into prompt ids, in playing order."""
    out: list[str] = []
    for fragment in fragments:
        out.extend(_expand(fragment))
    return out


def _expand(fragment: Fragment) -> list[str]:
    if isinstance(fragment, Prompt):
        return [fragment.id]
    if isinstance(fragment, SayDigits):
        return digit_ids(fragment.digits, yao=fragment.yao)
    if isinstance(fragment, SayNumber):
        return number_ids(fragment.value)
    return datetime_ids(fragment.value, with_year=fragment.with_year, with_time=fragment.with_time)


def digit_ids(digits: str, yao: bool = True) -> list[str]:
    """'202611260001' -> digit_2 digit_0 ... ; 1 is 幺 when `yao`."""
    return ["digit_yao" if (d == "1" and yao) else f"digit_{d}" for d in digits]


def number_ids(value: int | float) -> list[str]:
    """Read a number the Mandarin way: 10 十, 15 十五, 105 一百零五, 1050 一千零五十, 20000 二万, 3.5 三点五."""
    if isinstance(value, float) and not value.is_integer():
        whole, _, frac = f"{value:.2f}".rstrip("0").partition(".")
        return [*_integer_ids(int(whole)), "num_dian", *digit_ids(frac, yao=False)]
    return _integer_ids(int(value))


def _integer_ids(n: int) -> list[str]:
    if n == 0:
        return ["digit_0"]
    high, low = divmod(n, 10_000)
    if not high:
        return _section_ids(low, leading=True)
    out = [*_section_ids(high, leading=True), "num_wan"]
    if low:
        if low < 1000:
            out.append("digit_0")
        out.extend(_section_ids(low, leading=False))
    return out


def _section_ids(n: int, leading: bool) -> list[str]:
    """1..9999. A run of zeros between non-zero digits is read as one 零; 10..19 at the start say 十, not 一十."""
    out: list[str] = []
    started = zero_pending = False
    for value, unit in _UNITS:
        digit = n // value % 10
        if digit == 0:
            zero_pending = zero_pending or started
            continue
        if zero_pending:
            out.append("digit_0")
            zero_pending = False
        if not (unit == "num_shi" and digit == 1 and leading and not started):
            out.append(f"digit_{digit}")
        if unit:
            out.append(unit)
        started = True
    return out


def datetime_ids(value: datetime, with_year: bool = False, with_time: bool = True) -> list[str]:
    """2026-11-28 17:30 -> [二零二六年]十一月二十八日十七时三十分 (minutes left out when zero)."""
    out: list[str] = []
    if with_year:
        out += [*digit_ids(f"{value.year:04d}", yao=False), "word_nian"]
    out += [*number_ids(value.month), "word_yue", *number_ids(value.day), "word_ri"]
    if with_time:
        out += [*number_ids(value.hour), "word_shi"]
        if value.minute:
            out += [*number_ids(value.minute), "word_fen"]
    return out
