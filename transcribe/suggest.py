"""Turn a transcript into suggestions for a draft case: normalised text, small class, place, summary.

The place goes through the geocoder port (ticketing.geo's SqlGeoLocator in production, a fake in tests).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from core.places import Location
from transcribe.lexicon import Lexicon
from transcribe.normalize import normalize
from transcribe.ports import Transcript
from transcribe.understand import ClassSuggestion, RoadMention, find_roads, suggest_classes, summarize

log = logging.getLogger("hotline.speech")


class PlaceLocator(Protocol):
    """The geocoder port (ticketing.geo.service.SqlGeoLocator): an address or a caller's sentence → a Location
    with its grid cell, or None. May be sync or async."""

    def locate(
        self, *, address: str | None, lat: float | None, lon: float | None
    ) -> Location | Awaitable[Location | None] | None: ...


@dataclass(frozen=True, slots=True)
class PlaceSuggestion:
    road: str | None
    house_number: str | None
    cell_code: str | None
    address: str | None
    confidence: float
    lat: float | None = None
    lon: float | None = None
    other_roads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Understanding:
    text: str  # normalised
    classes: tuple[ClassSuggestion, ...]
    place: PlaceSuggestion | None
    summary: str


class Understander:
    """Suggests, never decides: the agent confirms class and place before a case is created."""

    def __init__(self, lexicon: Lexicon, road_names: Sequence[str], locator: PlaceLocator | None = None) -> None:
        self.lexicon = lexicon
        self.road_names = tuple(road_names)
        self.locator = locator

    async def understand(self, raw_text: str) -> Understanding:
        text = normalize(raw_text)
        roads = find_roads(text, self.road_names)
        classes = tuple(suggest_classes(text, self.lexicon, explained=[r.span for r in roads]))
        place = await self.suggest_place(text, roads)
        label = place.address if place else None
        return Understanding(text, classes, place, summarize(text, classes[0] if classes else None, label))

    async def suggest_place(self, text: str, roads: Sequence[RoadMention] | None = None) -> PlaceSuggestion | None:
        """The place the text names; `roads` are the text's road mentions when the caller found them already."""
        roads = find_roads(text, self.road_names) if roads is None else roads
        first = roads[0] if roads else None
        address = _crossing(roads) or (first.address if first else text)
        location = await self._locate(address)
        if first is None and location is None:
            return None
        place = _place(first, roads[1:], location)
        return replace(place, address=address) if first is not None else place

    async def _locate(self, address: str) -> Location | None:
        if self.locator is None:
            return None
        try:
            found = self.locator.locate(address=address, lat=None, lon=None)
            if inspect.isawaitable(found):
                found = await found
        except Exception:  # no geocoder data (not seeded) or a geocoder bug: the suggestion just has no cell
            log.warning("geocoder failed for %r", address, exc_info=True)
            return None
        return found if isinstance(found, Location) and (found.place.cell_code or found.lat) else None


def _crossing(roads: Sequence[RoadMention]) -> str | None:
    """Two roads named one after the other ("A和B交叉口", however misheard the 交叉口) mean their crossing."""
    if len(roads) >= 2 and roads[1].start - roads[0].end <= 2 and roads[0].house_number is None:
        return f"{roads[0].road}与{roads[1].road}交叉口"
    return None


def _place(road: RoadMention | None, others: Sequence[RoadMention], location: Location | None) -> PlaceSuggestion:
    similarity = road.similarity if road else 1.0
    located = location.confidence if location else 0.6  # a road without a cell is still worth showing
    address = road.address if road else (location.address if location else None)
    return PlaceSuggestion(
        road=road.road if road else None,
        house_number=road.house_number if road else None,
        cell_code=location.place.cell_code if location else None,
        address=address,
        confidence=round(similarity * located, 3),
        lat=location.lat if location else None,
        lon=location.lon if location else None,
        other_roads=tuple(r.road for r in others),
    )


def result_json(transcript: Transcript, understanding: Understanding | None) -> dict[str, Any]:
    """The JSON shape shared by `hotline transcribe` and POST /api/v1/transcriptions."""
    body: dict[str, Any] = {
        "engine": transcript.engine,
        "duration": round(transcript.duration, 2),
        "raw_text": transcript.text,
        "text": understanding.text if understanding else transcript.text,
        "segments": [asdict(s) for s in transcript.segments],
        "suggested_class": None,
        "alternative_classes": [],
        "suggested_place": None,
        "summary": understanding.summary if understanding else "",
    }
    if understanding is None:
        return body
    classes = [{"code": c.code, "name": c.name, "kind": c.kind, "confidence": c.confidence,
                "evidence": list(c.evidence)} for c in understanding.classes]
    body["suggested_class"] = classes[0] if classes else None
    body["alternative_classes"] = classes[1:]
    if understanding.place is not None:
        place = asdict(understanding.place)
        place["other_roads"] = list(understanding.place.other_roads)
        body["suggested_place"] = place
    return body
