"""Toneless-pinyin similarity between what a recogniser wrote and the names we know. Pure.

Whisper's errors on names mostly keep the sound: 私搭乱建→似大乱见, 井盖→紧盖, 站亭→站停. Every character is
compared by its readings (all of them, so 似 counts as both si and shi), with the usual Mandarin confusions
(z/zh, c/ch, s/sh, l/n, -n/-ng: core/pinyin.py) folded together, and otherwise by spelling distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from core import pinyin
from core.pinyin import fold

SAME_CHAR, SAME_SOUND, FOLDED_SOUND, NEAR_SCALE = 1.0, 0.92, 0.82, 0.6
# Particles and everyday function words whose rare readings (的 as di, 了 as liao, 有 as wei, 个 as gan) would
# make them sound like content words: 有个 (you ge) is not 立杆 (li gan), whatever the dictionary's archaic readings.
_PARTICLES = {"的": "de", "了": "le", "着": "zhe", "地": "de", "得": "de", "么": "me", "有": "you", "个": "ge",
              "是": "shi"}


def readings(char: str) -> frozenset[str]:
    """All toneless readings of a character, particles by their usual one only."""
    return frozenset({_PARTICLES[char]}) if char in _PARTICLES else pinyin.readings(char)


@lru_cache(maxsize=65536)
def char_similarity(a: str, b: str) -> float:
    """1 for the same character, about 0.9 for the same sound, less for near sounds, 0 for unrelated."""
    if a == b:
        return SAME_CHAR
    ra, rb = readings(a), readings(b)
    if ra & rb:
        return SAME_SOUND
    if not (pinyin.is_han(a[:1]) and pinyin.is_han(b[:1])):
        return 0.0
    fa, fb = {fold(x) for x in ra}, {fold(x) for x in rb}
    if fa & fb:
        return FOLDED_SOUND
    return NEAR_SCALE * max(Levenshtein.normalized_similarity(x, y) for x in fa for y in fb)


@dataclass(frozen=True, slots=True)
class Hit:
    """Where `term` was heard in a text: characters [start, end) with a similarity in 0..1."""

    term: str
    start: int
    end: int
    similarity: float
    heard: str


def find(term: str, text: str, *, floor: float = 0.4, threshold: float = 0.8) -> Hit | None:
    """The best window of `text` that sounds like `term`, or None.

    Windows have the term's length; each character must reach `floor` and their mean `threshold`.
    """
    n = len(term)
    best: Hit | None = None
    if n == 0 or n > len(text):
        return None
    if term in text:
        start = text.index(term)
        return Hit(term, start, start + n, 1.0, term)
    for start in range(len(text) - n + 1):
        scores = [char_similarity(term[i], text[start + i]) for i in range(n)]
        if min(scores) < floor:
            continue
        mean = round(sum(scores) / n, 3)  # rounded before the comparison: (1 + 1 + 0.4) / 3 reaches 0.8
        if mean >= threshold and (best is None or mean > best.similarity):
            best = Hit(term, start, start + n, mean, text[start:start + n])
    return best


def find_all(term: str, text: str, *, floor: float = 0.4, threshold: float = 0.8) -> list[Hit]:
    """Every non-overlapping window sounding like `term`, left to right."""
    hits: list[Hit] = []
    offset = 0
    while offset < len(text):
        hit = find(term, text[offset:], floor=floor, threshold=threshold)
        if hit is None:
            break
        hits.append(Hit(term, hit.start + offset, hit.end + offset, hit.similarity, hit.heard))
        offset += hit.end
    return hits
