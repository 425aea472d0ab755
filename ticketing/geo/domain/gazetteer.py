"""The base data held in memory with its indexes: point → cell, names → places, nearest addresses."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.places import PlaceFacts
from ticketing.geo.domain.address import Lexicon
from ticketing.geo.domain.geometry import (
    Line,
    Point,
    bbox_of,
    lines_of,
    polygons_of,
    ring_centroid,
    segment_intersection,
)
from ticketing.geo.domain.model import AddressPoint, Cell, Community, Component, DutyGrid, Road, Street
from ticketing.geo.domain.pinyin import NameMatcher
from ticketing.geo.domain.spatial import PointIndex, PolygonIndex


@dataclass(frozen=True, slots=True)
class BaseData:
    """All objects of the base data, as loaded from the database or files."""

    streets: tuple[Street, ...] = ()
    communities: tuple[Community, ...] = ()
    cells: tuple[Cell, ...] = ()
    duty_grids: tuple[DutyGrid, ...] = ()
    roads: tuple[Road, ...] = ()
    addresses: tuple[AddressPoint, ...] = ()
    components: tuple[Component, ...] = ()


@dataclass(slots=True)
class _Side:
    """Door plates of one side of a road (odd or even numbers), sorted by number."""

    numbers: list[int] = field(default_factory=list)
    points: list[AddressPoint] = field(default_factory=list)


class Gazetteer:
    """Read-only indexes over one snapshot of the base data (rebuild it to refresh)."""

    def __init__(self, data: BaseData, *, fuzzy_threshold: float = 0.8, county_name: str = "海盐县") -> None:
        self.data = data
        self.streets = {s.code: s for s in data.streets}
        self.communities = {c.code: c for c in data.communities}
        self.cells = {c.code: c for c in data.cells}
        self.duty_grids = {d.code: d for d in data.duty_grids}
        self.roads = {r.name: r for r in data.roads}
        self.road_lines: dict[str, list[Line]] = {r.name: lines_of(r.geometry) for r in data.roads}
        self.components = {c.id: c for c in data.components}
        self.cell_index = PolygonIndex((c.code, polygons_of(c.geometry)) for c in data.cells)
        self.places = {a.name: a for a in data.addresses if a.kind != "门牌"}
        self.doorplates = _doorplates(data.addresses)
        self.address_index: PointIndex[AddressPoint] = PointIndex(((a.lon, a.lat), a) for a in data.addresses)
        self.component_index: PointIndex[Component] = PointIndex(((c.lon, c.lat), c) for c in data.components)
        by_class: dict[str, list[Component]] = {}
        for c in data.components:
            by_class.setdefault(c.class_code, []).append(c)
        self.components_by_class = {k: PointIndex(((c.lon, c.lat), c) for c in v) for k, v in by_class.items()}
        self.crossings = _crossings(self.road_lines)
        self.lexicon = self._lexicon(fuzzy_threshold, county_name)

    def _lexicon(self, threshold: float, county_name: str) -> Lexicon:
        place_names = [(n, a.name) for a in self.places.values() for n in (a.name, *a.aliases)]
        road_names = [(n, r.name) for r in self.roads.values() for n in (r.name, *r.aliases)]
        community_names = [(c.name, c.code) for c in self.communities.values()]
        street_names = [(s.name, s.code) for s in self.streets.values()]
        street_names += [(s.name.removesuffix("街道") + "镇", s.code) for s in self.streets.values()
                         if s.name.endswith("街道")]
        county = [(county_name, ""), (county_name.removesuffix("县"), "")]
        return Lexicon(
            roads=NameMatcher("road", road_names, threshold),
            places=NameMatcher("place", place_names, threshold),
            communities=NameMatcher("community", community_names, threshold),
            streets=NameMatcher("street", street_names + county, threshold),
        )

    def cell_at(self, lon: float, lat: float) -> Cell | None:
        code = self.cell_index.locate(lon, lat)
        return self.cells[code] if code else None

    def place_facts(self, cell_code: str | None) -> PlaceFacts:
        """属地 facts of a cell: community and street, with the departments answering for them."""
        cell = self.cells.get(cell_code) if cell_code else None
        if cell is None:
            return PlaceFacts()
        community = self.communities.get(cell.community_code)
        street = self.streets.get(cell.street_code)
        return PlaceFacts(
            cell_code=cell.code,
            community_code=cell.community_code,
            community_name=community.name if community else None,
            street_code=cell.street_code,
            street_name=street.name if street else None,
            street_dept_code=street.dept_code if street else None,
            community_dept_code=community.dept_code if community else None,
        )

    def door(self, road: str, number: int) -> tuple[Point, str] | None:
        """Point of a door number: exact, interpolated between neighbours of the same side, or clamped.

        Returns the point and how it was found: "exact", "interpolated" or "nearest".
        """
        sides = self.doorplates.get(road)
        if not sides:
            return None
        side = sides.get(number % 2) or next(iter(sides.values()))
        i = bisect.bisect_left(side.numbers, number)
        if i < len(side.numbers) and side.numbers[i] == number:
            return (side.points[i].lon, side.points[i].lat), "exact"
        if 0 < i < len(side.numbers):
            n0, n1 = side.numbers[i - 1], side.numbers[i]
            a, b = side.points[i - 1], side.points[i]
            t = (number - n0) / (n1 - n0)
            return (a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)), "interpolated"
        end = side.points[min(i, len(side.points) - 1)]
        return (end.lon, end.lat), "nearest"

    def road_point(self, road: str) -> Point:
        """A representative point of a road: the middle of its longest line."""
        line = max(self.road_lines[road], key=len)
        return line[len(line) // 2] if len(line) > 2 else ((line[0][0] + line[-1][0]) / 2,
                                                           (line[0][1] + line[-1][1]) / 2)

    def centroid(self, geometry: dict) -> Point:
        return ring_centroid(polygons_of(geometry)[0][0])

    def bbox(self) -> tuple[float, float, float, float] | None:
        corners = [p for c in self.data.cells for poly in polygons_of(c.geometry) for p in poly[0]]
        return bbox_of(corners) if corners else None


def _doorplates(addresses: Iterable[AddressPoint]) -> dict[str, dict[int, _Side]]:
    by_road: dict[str, dict[int, _Side]] = {}
    for a in sorted((a for a in addresses if a.kind == "门牌" and a.road and a.number is not None),
                    key=lambda a: a.number or 0):
        side = by_road.setdefault(a.road or "", {}).setdefault((a.number or 0) % 2, _Side())
        side.numbers.append(a.number or 0)
        side.points.append(a)
    return by_road


def _crossings(road_lines: dict[str, list[Line]]) -> dict[frozenset[str], Point]:
    """Where each pair of roads meets (first meeting point found)."""
    names = sorted(road_lines)
    boxes = {n: bbox_of(p for line in road_lines[n] for p in line) for n in names}
    found: dict[frozenset[str], Point] = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ba, bb = boxes[a], boxes[b]
            if ba[0] > bb[2] or bb[0] > ba[2] or ba[1] > bb[3] or bb[1] > ba[3]:
                continue
            point = _meet(road_lines[a], road_lines[b])
            if point is not None:
                found[frozenset((a, b))] = point
    return found


def _meet(lines_a: list[Line], lines_b: list[Line]) -> Point | None:
    for la in lines_a:
        for p, q in itertools.pairwise(la):
            for lb in lines_b:
                for r, s in itertools.pairwise(lb):
                    hit = segment_intersection(p, q, r, s)
                    if hit is not None:
                        return hit
    return None
