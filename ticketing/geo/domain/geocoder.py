"""Forward and reverse geocoding over a Gazetteer (CJ/T 215), and the nearest components to a point.

Confidence (0..1) says how sure the place is: an existing door plate 0.95, an interpolated one 0.9, an
intersection 0.92, a landmark or compound 0.9 (less when the text says 旁边/附近), a road alone 0.5, a
community 0.4, a street 0.2; each is multiplied by how well the name matched (1.0 exact, less by pinyin).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.places import PlaceFacts
from ticketing.geo.domain.address import ParsedAddress, parse
from ticketing.geo.domain.gazetteer import Gazetteer
from ticketing.geo.domain.geometry import Point, nearest_on_lines
from ticketing.geo.domain.model import AddressPoint, Component
from ticketing.geo.domain.pinyin import Mention

_DOOR_CONFIDENCE = {"exact": 0.95, "interpolated": 0.9, "nearest": 0.6}
_NEARBY = 0.9  # factor for 旁边, 附近, 对面 …: the place is near the named one, not on it
NEAR_M = 15.0  # within this many metres a reverse-geocoded address needs no "附近"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible place of a text, in WGS-84."""

    kind: str  # 门牌 | 交叉口 | 地标 | 小区 | 道路 | 社区 | 街道
    label: str
    lon: float
    lat: float
    confidence: float
    cell_code: str | None
    matched: str  # the words of the text that named it


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    query: str
    parsed: ParsedAddress
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, slots=True)
class ReverseResult:
    lon: float
    lat: float
    address: str | None  # 海滨东路120号 or 海滨东路120号附近
    nearest: AddressPoint | None
    nearest_m: float | None
    road: str | None
    road_m: float | None
    place: PlaceFacts


def forward(gazetteer: Gazetteer, text: str, limit: int = 5) -> GeocodeResult:
    """Places named in an address or a sentence, best first (at most `limit`)."""
    parsed = parse(text, gazetteer.lexicon)
    near = _NEARBY if parsed.relation and parsed.relation != "门口" else 1.0
    found = [
        *_doors(gazetteer, parsed),
        *_crossing(gazetteer, parsed),
        *(_place(gazetteer, m, near, parsed) for m in parsed.places),
        *_roads(gazetteer, parsed),
        *_areas(gazetteer, parsed),
    ]
    best: dict[str, Candidate] = {}
    for c in found:
        if c.label not in best or best[c.label].confidence < c.confidence:
            best[c.label] = c
    ranked = sorted(best.values(), key=lambda c: -c.confidence)
    return GeocodeResult(text, parsed, tuple(ranked[:limit]))


def _candidate(g: Gazetteer, kind: str, label: str, point: Point, confidence: float, matched: str) -> Candidate:
    return Candidate(kind, label, point[0], point[1], round(confidence, 3), g.cell_index.locate(*point), matched)


def _doors(g: Gazetteer, parsed: ParsedAddress) -> list[Candidate]:
    if parsed.number is None or parsed.number_road is None:
        return []
    road = next(m for m in parsed.roads if m.key == parsed.number_road)
    found = g.door(road.key, parsed.number)
    if found is None:
        return []
    point, how = found
    unit = "弄" if parsed.lane is not None else "号"
    label = f"{road.key}{parsed.number}{unit}"
    return [_candidate(g, "门牌", label, point, _DOOR_CONFIDENCE[how] * road.score, f"{road.surface}{parsed.number}")]


def _crossing(g: Gazetteer, parsed: ParsedAddress) -> list[Candidate]:
    found = []
    for i, a in enumerate(parsed.roads):
        for b in parsed.roads[i + 1:]:
            point = g.crossings.get(frozenset((a.key, b.key)))
            if point is None or a.key == b.key:
                continue
            weight = 0.92 if parsed.crossing else 0.6
            label = f"{a.key}与{b.key}交叉口"
            found.append(_candidate(g, "交叉口", label, point, weight * min(a.score, b.score),
                                    f"{a.surface}、{b.surface}"))
    return found


def _place(g: Gazetteer, mention: Mention, near: float, parsed: ParsedAddress) -> Candidate:
    place = g.places[mention.key]
    detail = "".join(f"{v}{u}" for v, u in ((parsed.building, "幢"), (parsed.unit, "单元"), (parsed.room, "室"))
                     if v is not None)
    confidence = (0.92 if detail else 0.9) * near * mention.score
    return _candidate(g, place.kind, place.name + detail, (place.lon, place.lat), confidence, mention.surface)


def _roads(g: Gazetteer, parsed: ParsedAddress) -> list[Candidate]:
    named = [(m, 0.5) for m in parsed.roads] + [(m, 0.4) for m in parsed.alternatives]
    return [_candidate(g, "道路", m.key, g.road_point(m.key), weight * m.score, m.surface) for m, weight in named]


def _areas(g: Gazetteer, parsed: ParsedAddress) -> list[Candidate]:
    found = []
    if parsed.community is not None:
        community = g.communities[parsed.community.key]
        found.append(_candidate(g, "社区", community.name, g.centroid(community.geometry),
                                0.4 * parsed.community.score, parsed.community.surface))
    if parsed.street is not None and parsed.street.key in g.streets:
        street = g.streets[parsed.street.key]
        found.append(_candidate(g, "街道", street.name, g.centroid(street.geometry), 0.2 * parsed.street.score,
                                parsed.street.surface))
    return found


def reverse(g: Gazetteer, lon: float, lat: float, max_m: float = 300.0) -> ReverseResult:
    """The nearest address, the nearest road and the 属地 facts of a point."""
    point = (lon, lat)
    hit = g.address_index.nearest(point, max_m=max_m)
    road, road_m = None, None
    for name, lines in g.road_lines.items():
        metres, _ = nearest_on_lines(point, lines)
        if metres <= max_m and (road_m is None or metres < road_m):
            road, road_m = name, metres
    nearest, nearest_m = (hit[1], hit[0]) if hit else (None, None)
    address = None
    if nearest is not None and nearest_m is not None:
        address = nearest.name if nearest_m <= NEAR_M else f"{nearest.name}附近"
    elif road is not None:
        address = f"{road}附近"
    facts = g.place_facts(g.cell_index.locate(lon, lat))
    return ReverseResult(lon, lat, address, nearest, nearest_m, road, road_m, facts)


def nearest_components(g: Gazetteer, lon: float, lat: float, *, class_code: str | None = None,
                       radius_m: float = 100.0, limit: int = 10) -> list[tuple[float, Component]]:
    """Components (of one class, or all) within `radius_m` metres, nearest first."""
    index = g.component_index if class_code is None else g.components_by_class.get(class_code)
    if index is None:
        return []
    return index.within((lon, lat), radius_m, limit=limit)
