"""Make recogniser output read like a case description. Pure.

- Vosk's Chinese models put spaces between words: removed between CJK characters (and digits).
- Whisper sometimes writes traditional characters: converted to simplified (OpenCC t2s).
- Numbers become digits where they are numbers: house, building and room numbers (一百二十号 → 120号),
  digit strings such as phone and case numbers (幺三八… → 138…), counts and times with a unit (十一点 → 11点).
  Words that merely contain a numeral (一下, 一片, 十分危险) are left alone.
- A decoder caught in a loop (the same phrase again and again up to the end) is cut after its first telling.
"""

from __future__ import annotations

import re
from functools import lru_cache

import cn2an

_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
           "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_CJK = r"\u4e00-\u9fff\u3000-\u303f\uff00-\uffef"
_SPACE_BETWEEN = re.compile(rf"(?<=[{_CJK}0-9])\s+(?=[{_CJK}0-9])")
_NUMERAL = "零〇一二三四五六七八九十百千万两幺"
_NUMBER_UNITS = "号楼幢栋单元室层弄巷点米天年月日岁个辆间次路"
_RUN = re.compile(rf"[{_NUMERAL}]+")
_PLACE_UNITS = ("号", "幢", "栋", "单元", "室", "层", "弄")


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def remove_word_spaces(text: str) -> str:
    return _SPACE_BETWEEN.sub("", text).strip()


def to_simplified(text: str) -> str:
    return str(_converter().convert(text))


def _digit_string(run: str) -> str | None:
    if all(c in _DIGITS for c in run):
        return "".join(_DIGITS[c] for c in run)
    return None


def _number(run: str) -> str | None:
    try:
        return str(cn2an.cn2an(run.replace("幺", "一"), "smart"))
    except (ValueError, KeyError):
        return None


def _replace(match: re.Match[str]) -> str:
    run, after = match.group(0), match.string[match.end():]
    digits = _digit_string(run)
    if digits is not None and len(run) >= 3:
        return digits  # phone number, case number: read digit by digit
    place = after.startswith(_PLACE_UNITS)
    has_unit = any(c in "十百千万" for c in run)
    if place or (has_unit and after[:1] and after[:1] in _NUMBER_UNITS):
        return _number(run) or run
    return run


def numerals_to_digits(text: str) -> str:
    return _RUN.sub(_replace, text)


_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
_ASCII_PUNCT = re.compile(r"(?<=[\u4e00-\u9fff])\s*([,?!:;])\s*")


def full_width_punctuation(text: str) -> str:
    """Whisper writes ASCII commas after Chinese text; Chinese text uses full-width ones."""
    return _ASCII_PUNCT.sub(lambda m: _FULL_WIDTH[m.group(1)], text)


def normalize(text: str) -> str:
    """Spaces, script, punctuation and numbers (OpenCC first so that numerals are simplified)."""
    return numerals_to_digits(full_width_punctuation(to_simplified(remove_word_spaces(text))))


MIN_LOOP = 3  # characters: shorter repeats (谢谢谢谢, 快点快点) are how people talk
_WORDY = re.compile(rf"[\u4e00-\u9fff](?<![{_NUMERAL}])")


def cut_runaway_repetition(text: str) -> str:
    """Cut a phrase repeated back to back up to the end of the text after its first occurrence.

    Whisper on short audio sometimes loops ("站亭玻璃碎了。站亭玻璃碎了。站亭玻"): the text from the first
    phrase of at least MIN_LOOP characters that is followed by nothing but more of itself up to the end (at
    least most of one copy; the last copy may be cut short) is dropped from the second copy on. Repeats inside
    the text are kept, and so are phrases of fewer than two Chinese characters other than numerals: phone and
    case numbers repeat their digits.
    """
    for start in range(len(text)):
        rest = len(text) - start
        for period in range(MIN_LOOP, rest):
            phrase = text[start:start + period]
            tail = text[start + period:]
            if 2 * len(tail) > period and len(tail) >= MIN_LOOP and len(_WORDY.findall(phrase)) >= 2 \
                    and (phrase * (len(tail) // period + 1)).startswith(tail):
                return text[:start + period]
    return text
