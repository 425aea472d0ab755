"""Text normalisation for addresses: full-width forms, spaces, and Chinese numerals before address units.

Only numerals followed by an address unit (号, 弄, 幢, 单元, 室 …) are converted, so phrases such as 一下,
一片 or 十一点 stay as they are. Speech transcripts may read digits one by one (一二零号 → 120号).
"""

from __future__ import annotations

import re
import unicodedata

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "幺": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇○一幺二两三四五六七八九十百千万"
ADDRESS_UNITS = "号楼|号|弄|巷|幢|栋|单元|室|层|楼"
_NUMERAL_BEFORE_UNIT = re.compile(rf"([{_NUMERAL}]+)(?=(?:{ADDRESS_UNITS}))")
_SPACES = re.compile(r"\s+")


def chinese_to_int(text: str) -> int | None:
    """Value of a Chinese numeral (一百二十 → 120, 一二零 → 120, 十五 → 15); None when not a numeral."""
    if not text or any(ch not in _DIGITS and ch not in _UNITS and ch != "万" for ch in text):
        return None
    if not any(ch in _UNITS or ch == "万" for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))  # read digit by digit
    if "万" in text:
        high, _, low = text.partition("万")
        high_value = chinese_to_int(high) if high else 1
        low_value = chinese_to_int(low) if low else 0
        if high_value is None or low_value is None:
            return None
        return high_value * 10_000 + low_value
    return _below_10000(text)


def _below_10000(text: str) -> int:
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    if digit is not None:
        # 一百二 means 120 (the last digit inherits the next lower unit); 二十五 and 一百零五 are plain.
        last_unit = next((_UNITS[ch] for ch in reversed(text) if ch in _UNITS), 1)
        tail_after_zero = len(text) >= 2 and text[-2] in "零〇○"
        total += digit * (1 if last_unit == 10 or tail_after_zero else last_unit // 10)
    return total


def normalize(text: str) -> str:
    """NFKC (full-width → ASCII), drop whitespace, convert numerals that precede address units."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _SPACES.sub("", text)

    def _convert(match: re.Match[str]) -> str:
        value = chinese_to_int(match.group(1))
        return match.group(1) if value is None else str(value)

    return _NUMERAL_BEFORE_UNIT.sub(_convert, text)
