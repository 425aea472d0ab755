"""From a (normalised) transcript to suggestions for the agent: small class, place, one-line summary. Pure.

Nothing here is applied to a case by itself: the agent confirms or corrects every suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from transcribe.lexicon import Lexicon, SmallClass
from transcribe.phonetic import SAME_SOUND, Hit, char_similarity, find, find_all

CLASS_THRESHOLD = 0.8
ROAD_THRESHOLD = 0.75
ROAD_FLOOR = 0.3
EXTRA_TERM_BONUS = 0.08
_ROAD_SUFFIXES = ("大道", "路", "街", "巷", "弄", "道")
_HOUSE_NUMBER = re.compile(r"^(?:的|上)?(\d{1,5})号")
_MASK = "\u25a1"  # □: not a Han character, so it sounds like none


@dataclass(frozen=True, slots=True)
class ClassSuggestion:
    code: str
    name: str
    kind: str
    confidence: float
    evidence: tuple[str, ...]  # "phrase≈heard" for each matched phrase


@dataclass(frozen=True, slots=True)
class RoadMention:
    road: str
    heard: str
    start: int
    end: int
    similarity: float
    house_number: str | None = None
    number_end: int | None = None  # end of the house number after the road ("120号"), when one was heard

    @property
    def address(self) -> str:
        return self.road + (f"{self.house_number}号" if self.house_number else "")

    @property
    def span(self) -> tuple[int, int]:
        """The characters this mention explains: the road name and its house number."""
        return self.start, self.number_end or self.end


def _length_factor(phrase: str) -> float:
    # Two characters match by chance more often than four; long phrases are near-certain when they match.
    return min(1.0, 0.8 + 0.05 * len(phrase))


def mask_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text with the characters of `spans` replaced by a mark that sounds like nothing (same length)."""
    for start, end in spans:
        text = text[:start] + _MASK * (end - start) + text[end:]
    return text


def suggest_classes(text: str, lexicon: Lexicon, limit: int = 3,
                    explained: Sequence[tuple[int, int]] = ()) -> list[ClassSuggestion]:
    """Small classes the text talks about, best first, with a confidence in 0..1 (empty if none).

    `explained` are spans already known to be something else (a road name and its house number, from
    `find_roads`): no class phrase may be heard in them, or 新桥北路的 would hold 绿地 (路的 ≈ lu de).
    """
    scores: dict[str, list[tuple[float, str, Hit]]] = {}
    text = mask_spans(text, explained)
    for term in lexicon.terms:
        hit = find(term.phrase, text, threshold=CLASS_THRESHOLD)
        if hit is None:
            continue
        score = hit.similarity * term.weight * _length_factor(term.phrase)
        for rank, code in enumerate(term.codes):
            # Shared phrases (井盖) rank their classes in the order listed; the agent picks the right one.
            scores.setdefault(code, []).append((score - 0.001 * rank, f"{term.phrase}≈{hit.heard}", hit))
    ranked = [_suggestion(lexicon.classes[code], found) for code, found in scores.items()]
    ranked.sort(key=lambda s: (-s.confidence, s.code))
    return ranked[:limit]


def _suggestion(small: SmallClass, found: list[tuple[float, str, Hit]]) -> ClassSuggestion:
    """Best phrase's score, plus a little for each further phrase heard elsewhere in the text."""
    found.sort(key=lambda f: -f[0])
    spans: list[Hit] = []
    for _, _, hit in found:
        if all(hit.end <= s.start or hit.start >= s.end for s in spans):
            spans.append(hit)
    evidence = tuple(dict.fromkeys(e for _, e, _ in found))
    confidence = found[0][0] + EXTRA_TERM_BONUS * (len(spans) - 1)
    return ClassSuggestion(small.code, small.name, small.kind, round(min(confidence, 0.99), 3), evidence)


def _has_road_suffix(name: str) -> bool:
    return name.endswith(_ROAD_SUFFIXES)


def find_roads(text: str, road_names: Sequence[str]) -> list[RoadMention]:
    """Roads named in the text, in the order spoken; overlapping candidates keep the most similar one.

    The suffix (路, 大道, 街 …) must be heard as itself or a homophone (路 → 陆): it makes a window a road.
    """
    hits: list[Hit] = []
    for name in road_names:
        for hit in find_all(name, text, floor=ROAD_FLOOR, threshold=ROAD_THRESHOLD):
            suffix = next((s for s in _ROAD_SUFFIXES if name.endswith(s)), "")
            heard_suffix = hit.heard[len(hit.heard) - len(suffix):]
            if all(char_similarity(a, b) >= SAME_SOUND for a, b in zip(suffix, heard_suffix, strict=True)):
                hits.append(hit)
    hits.sort(key=lambda h: (-h.similarity, -len(h.term)))
    chosen: list[Hit] = []
    for hit in hits:
        if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
            chosen.append(hit)
    chosen.sort(key=lambda h: h.start)
    return [_mention(h, text) for h in chosen]


def _mention(hit: Hit, text: str) -> RoadMention:
    number = _HOUSE_NUMBER.match(text[hit.end:])
    return RoadMention(hit.term, hit.heard, hit.start, hit.end, hit.similarity,
                       number.group(1) if number else None, hit.end + number.end() if number else None)


def match_choice(text: str, options: Sequence[str], threshold: float = 0.7) -> tuple[str, float] | None:
    """The option of a closed set (是的, 不是, 满意, 不满意, 转人工 …) the answer sounds like, or None.

    The answer is the first clause that matches (a recogniser may append more after it); within a clause the
    longest option that matches wins over its substrings (不满意 over 满意), then the most similar.
    """
    for clause in re.split(r"[\s，。,.!?！？、：:]+", text):
        found = _match_clause(clause.removeprefix("请回答"), options, threshold)
        if found is not None:
            return found
    return None


def _match_clause(cleaned: str, options: Sequence[str], threshold: float) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for option in options:
        hit = find(option, cleaned, threshold=threshold)
        if hit is None:
            continue
        # Reward covering the whole answer: "不满意" heard fully beats "满意" found inside it.
        score = hit.similarity * (0.7 + 0.3 * len(option) / max(len(cleaned), len(option)))
        if best is None or score > best[1]:
            best = (option, round(score, 3))
    return best


def summarize(text: str, small: ClassSuggestion | None, place: str | None, width: int = 40) -> str:
    """One line for the case list: place and class first, then the start of what the caller said."""
    head = " · ".join(x for x in (place, small.name if small else None) if x)
    body = text.strip()
    body = body if len(body) <= width else body[: width - 1] + "…"
    return f"{head}：{body}" if head else body
