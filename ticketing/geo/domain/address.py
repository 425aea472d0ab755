"""Parsing Chinese addresses and callers' sentences against the gazetteer's names (CJ/T 215).

Unsegmented Chinese cannot be cut into address parts by patterns alone ("我要反映一下海滨东路" has no
boundary before 海滨), so the parser first finds the names it knows — roads, landmarks and compounds,
communities, streets and the county — exactly or by pinyin, then reads the numbers that follow them
(号, 弄, 幢, 单元, 室) and the words around them (交叉口, 旁边 …).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from ticketing.geo.domain.numerals import normalize
from ticketing.geo.domain.pinyin import Mention, NameMatcher, pick, syllables

_NUMBER_AFTER_ROAD = re.compile(r"(?:的|上)?(\d{1,5})(?:(弄|巷)(?:(\d{1,4})号)?|号|(?![\d幢栋单室层楼]))")
_BUILDING = re.compile(r"(\d{1,3})(?:幢|栋|号楼)")
_UNIT = re.compile(r"(\d{1,2})单元")
_ROOM = re.compile(r"(\d{1,5})室")
_CROSSING = re.compile(r"交叉口|交叉路口|十字路口|丁字路口|路口|交汇处|交界处|交口|交叉")
_CONNECTOR = re.compile(r"^(?:和|与|跟|同|及|、|/|,|交)?$")
_RELATION = re.compile(r"旁边|附近|对面|边上|隔壁|周边|一带|那边|那里|这边|东侧|西侧|南侧|北侧|后面|前面|门口|里面")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The names a parser can find, one matcher per kind."""

    roads: NameMatcher
    places: NameMatcher
    communities: NameMatcher
    streets: NameMatcher


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """What an address or a sentence says about a place."""

    text: str  # normalised text the positions refer to
    roads: tuple[Mention, ...] = ()
    number: int | None = None  # door number on `number_road`
    number_road: str | None = None
    lane: int | None = None  # 弄/巷 number (the number is then the lane's entrance on the road)
    building: int | None = None
    unit: int | None = None
    room: int | None = None
    places: tuple[Mention, ...] = ()
    community: Mention | None = None
    street: Mention | None = None
    crossing: bool = False  # two roads named as an intersection
    relation: str | None = None  # 旁边, 附近, 对面 …
    alternatives: tuple[Mention, ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        return not (self.roads or self.places or self.community or self.street)


def parse(text: str, lexicon: Lexicon) -> ParsedAddress:
    """Parse an address or a whole sentence; positions refer to the normalised text."""
    norm = normalize(text)
    pinyin = syllables(norm)
    taken = [False] * len(norm)
    road_found = lexicon.roads.find(norm, pinyin, taken)
    roads = pick(road_found, taken)
    places = pick(lexicon.places.find(norm, pinyin, taken), taken)
    community = _first(pick(lexicon.communities.find(norm, pinyin, taken), taken))
    # The county is in the street matcher with an empty key, so that "海盐县" is consumed but not a street.
    street = next((m for m in pick(lexicon.streets.find(norm, pinyin, taken), taken) if m.key), None)
    number, number_road, lane = _door_number(norm, roads)
    kept = {(m.key, m.start) for m in roads}
    return ParsedAddress(
        text=norm, roads=tuple(roads), number=number, number_road=number_road, lane=lane,
        building=_int(_BUILDING, norm), unit=_int(_UNIT, norm), room=_int(_ROOM, norm),
        places=tuple(places), community=community, street=street,
        crossing=_is_crossing(norm, roads), relation=_relation(norm),
        alternatives=tuple(m for m in road_found if (m.key, m.start) not in kept),
    )


def _first(mentions: list[Mention]) -> Mention | None:
    return mentions[0] if mentions else None


def _int(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1)) if match else None


def _door_number(text: str, roads: list[Mention]) -> tuple[int | None, str | None, int | None]:
    """The number right after a road name: 120号, 120弄(5号), or a bare 120 not followed by 幢/单元."""
    for road in roads:
        match = _NUMBER_AFTER_ROAD.match(text, road.end)
        if match:
            lane = int(match.group(1)) if match.group(2) else None
            return int(match.group(1)), road.key, lane
    return None, None, None


def _is_crossing(text: str, roads: list[Mention]) -> bool:
    """Two different roads with an intersection word, or joined by 和/与/、 right next to each other."""
    if len({m.key for m in roads}) < 2:
        return False
    if _CROSSING.search(text):
        return True
    return any(_CONNECTOR.match(text[a.end:b.start]) and a.key != b.key for a, b in itertools.pairwise(roads))


def _relation(text: str) -> str | None:
    match = _RELATION.search(text)
    return match.group(0) if match else None
