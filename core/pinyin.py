"""Toneless pinyin, the one helper every package uses (category search, gazetteer names, speech). Pure.

`fold` merges the sounds southern speakers and speech recognisers confuse: zh/z, ch/c, sh/s, n/l, -ng/-n.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def fold(syllable: str) -> str:
    for retroflex, plain in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(retroflex):
            syllable = plain + syllable[2:]
            break
    if syllable.startswith("n") and not syllable.startswith("ng"):
        syllable = "l" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


@lru_cache(maxsize=8192)
def reading(ch: str) -> str:
    """The usual toneless reading of one character (the character itself, lower case, when it is not Han)."""
    return lazy_pinyin(ch, style=Style.NORMAL)[0] if is_han(ch) else ch.lower()


@lru_cache(maxsize=8192)
def readings(ch: str) -> frozenset[str]:
    """All toneless readings of a Han character (似: si and shi); other characters stand for themselves."""
    if not is_han(ch):
        return frozenset({ch.lower()})
    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


def phrase(text: str, *, han_only: bool = False) -> list[str]:
    """Toneless syllables of a text read as a phrase (朝阳 → chao yang), other characters kept unless han_only."""
    return lazy_pinyin(text, style=Style.NORMAL, errors="ignore" if han_only else "default")


def initials(text: str) -> str:
    """First letters of the Han characters' readings: 路灯 → "ld"."""
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore"))
