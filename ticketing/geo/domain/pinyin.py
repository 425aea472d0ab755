"""Finding gazetteer names in free text, exactly or by toneless pinyin (for speech transcripts).

Speech recognisers mishear names as homophones or near-homophones (海滨东路 → 海边东路, 城北西路 → 陈北西路,
武原大道 → 五元大道). Comparing toneless pinyin, with the initials and finals that southern speakers and
recognisers confuse folded together (zh/z, ch/c, sh/s, n/l, -ng/-n), recovers most of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.pinyin import fold, is_han, phrase, reading


@lru_cache(maxsize=8192)
def syllable(ch: str) -> str:
    """Folded toneless pinyin of one character (the character itself when it is not a Han character)."""
    return fold(reading(ch))


def syllables(text: str) -> list[str]:
    return [syllable(ch) for ch in text]


def variants(name: str) -> set[str]:
    """Pinyin spellings of a name: character by character, and as a phrase (朝阳: chao-yang / zhao-yang)."""
    return {"".join(syllables(name)), "".join(fold(s) for s in phrase(name))}


@dataclass(frozen=True, slots=True)
class Mention:
    """A name found in a text: `key` is the canonical name, `surface` what the text said."""

    kind: str
    key: str
    surface: str
    start: int
    end: int
    score: float  # 1.0 exact characters; lower for pinyin matches


class NameMatcher:
    """Finds the names of one kind in a text. `names` are (surface name or alias, canonical key)."""

    def __init__(self, kind: str, names: Iterable[tuple[str, str]], threshold: float = 0.8) -> None:
        self.kind = kind
        self.threshold = threshold
        self._exact = sorted({(s, k) for s, k in names if s}, key=lambda sk: -len(sk[0]))
        self._by_length: dict[int, tuple[list[str], list[tuple[str, str]]]] = {}
        for surface, key in self._exact:
            choices, owners = self._by_length.setdefault(len(surface), ([], []))
            for spelling in sorted(variants(surface)):
                choices.append(spelling)
                owners.append((surface, key))

    def find(self, text: str, pinyin: list[str], taken: list[bool]) -> list[Mention]:
        """All mentions over untaken characters, best first (exact before pinyin, longer before shorter)."""
        found = self._find_exact(text, taken)
        found += self._find_fuzzy(text, pinyin, taken)
        found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
        return found

    def _find_exact(self, text: str, taken: list[bool]) -> list[Mention]:
        found = []
        for surface, key in self._exact:
            start = text.find(surface)
            while start >= 0:
                end = start + len(surface)
                if not any(taken[start:end]):
                    found.append(Mention(self.kind, key, surface, start, end, 1.0))
                start = text.find(surface, start + 1)
        return found

    def _find_fuzzy(self, text: str, pinyin: list[str], taken: list[bool]) -> list[Mention]:
        found = []
        for length, (choices, owners) in self._by_length.items():
            cutoff = 0.999 if length <= 2 else self.threshold
            for start in range(len(text) - length + 1):
                end = start + length
                span = text[start:end]
                if any(taken[start:end]) or not all(is_han(ch) for ch in span):
                    continue
                query = "".join(pinyin[start:end])
                for _, score, i in process.extract(query, choices, scorer=Levenshtein.normalized_similarity,
                                                   score_cutoff=cutoff, limit=3):
                    surface, key = owners[i]
                    if pinyin[end - 1] != syllable(surface[-1]) or span == surface:
                        continue  # the last syllable (路, 道, 园 …) anchors the name; exact ones found already
                    same = sum(a == b for a, b in zip(span, surface, strict=True)) / length
                    found.append(Mention(self.kind, key, span, start, end, score * (0.9 + 0.1 * same)))
        return found


def pick(mentions: list[Mention], taken: list[bool]) -> list[Mention]:
    """Greedily keep the best non-overlapping mentions and mark their characters taken; text order."""
    kept = []
    for m in mentions:
        if not any(taken[m.start:m.end]):
            kept.append(m)
            for i in range(m.start, m.end):
                taken[i] = True
    return sorted(kept, key=lambda m: m.start)
