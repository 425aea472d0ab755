"""In-memory spatial indexes: a bucket grid over polygons (point → cell) and over points (nearest).

A uniform bucket grid beats an R-tree here: unit cells are all about the same size, so each bucket holds a
handful of candidates and a lookup is two multiplications, one list read and one or two box tests.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ticketing.geo.domain.geometry import (
    M_PER_DEG_LAT,
    BBox,
    Point,
    Polygon,
    bbox_of,
    distance_m,
    in_polygon,
    m_per_deg_lon,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    bbox: BBox
    is_box: bool  # the polygon is its own bounding box: the box test is the whole test
    polygons: tuple[Polygon, ...]


def _is_box(polygons: Sequence[Polygon], bbox: BBox) -> bool:
    if len(polygons) != 1 or len(polygons[0]) != 1 or len(polygons[0][0]) != 5:
        return False
    corners = {(bbox[0], bbox[1]), (bbox[2], bbox[1]), (bbox[2], bbox[3]), (bbox[0], bbox[3])}
    return set(polygons[0][0]) == corners


class PolygonIndex:
    """Which polygon contains a point. Boxes are half-open ([min, max)) so shared edges have one owner."""

    def __init__(self, items: Iterable[tuple[str, Sequence[Polygon]]]) -> None:
        entries = []
        for key, polygons in items:
            box = bbox_of(p for polygon in polygons for p in polygon[0])
            entries.append(_Entry(key, box, _is_box(polygons, box), tuple(polygons)))
        self._entries = entries
        self._build(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def _build(self, entries: list[_Entry]) -> None:
        if not entries:
            self._x0 = self._y0 = 0.0
            self._nx = self._ny = 1
            self._kx = self._ky = 1.0
            self._buckets: list[list[_Entry]] = [[]]
            return
        x0 = min(e.bbox[0] for e in entries)
        y0 = min(e.bbox[1] for e in entries)
        x1 = max(e.bbox[2] for e in entries)
        y1 = max(e.bbox[3] for e in entries)
        # Bucket side = median entry width/height, so a bucket overlaps about four entries.
        w = sorted(e.bbox[2] - e.bbox[0] for e in entries)[len(entries) // 2] or 1e-3
        h = sorted(e.bbox[3] - e.bbox[1] for e in entries)[len(entries) // 2] or 1e-3
        self._x0, self._y0 = x0, y0
        self._nx = max(1, min(2048, math.ceil((x1 - x0) / w) + 1))
        self._ny = max(1, min(2048, math.ceil((y1 - y0) / h) + 1))
        self._kx = self._nx / ((x1 - x0) or 1.0)
        self._ky = self._ny / ((y1 - y0) or 1.0)
        self._buckets = [[] for _ in range(self._nx * self._ny)]
        for entry in entries:
            for slot in self._slots(entry.bbox):
                self._buckets[slot].append(entry)

    def _slots(self, box: BBox) -> Iterable[int]:
        ix0, iy0 = self._cell(box[0], box[1])
        ix1, iy1 = self._cell(box[2], box[3])
        for ix in range(ix0, ix1 + 1):
            for iy in range(iy0, iy1 + 1):
                yield iy * self._nx + ix

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        ix = min(self._nx - 1, max(0, int((x - self._x0) * self._kx)))
        iy = min(self._ny - 1, max(0, int((y - self._y0) * self._ky)))
        return ix, iy

    def locate(self, lon: float, lat: float) -> str | None:
        """Key of the polygon containing (lon, lat), or None."""
        ix = int((lon - self._x0) * self._kx)
        iy = int((lat - self._y0) * self._ky)
        if not (0 <= ix < self._nx and 0 <= iy < self._ny):
            return None
        for e in self._buckets[iy * self._nx + ix]:
            b = e.bbox
            if (b[0] <= lon < b[2] and b[1] <= lat < b[3]
                    and (e.is_box or any(in_polygon(lon, lat, p) for p in e.polygons))):
                return e.key
        return self._locate_closed(lon, lat, self._buckets[iy * self._nx + ix])

    @staticmethod
    def _locate_closed(lon: float, lat: float, bucket: list[_Entry]) -> str | None:
        # Points on the outer max edge of the whole grid belong to the cell that edge closes.
        for e in bucket:
            b = e.bbox
            if (b[0] <= lon <= b[2] and b[1] <= lat <= b[3]
                    and (e.is_box or any(in_polygon(lon, lat, p) for p in e.polygons))):
                return e.key
        return None

    def brute_force(self, lon: float, lat: float) -> str | None:
        """The same answer by scanning every polygon: the baseline of the benchmark and of tests."""
        for e in self._entries:
            b = e.bbox
            if (b[0] <= lon < b[2] and b[1] <= lat < b[3]
                    and (e.is_box or any(in_polygon(lon, lat, p) for p in e.polygons))):
                return e.key
        return self._locate_closed(lon, lat, self._entries)

    def intersecting(self, box: BBox) -> list[str]:
        """Keys of polygons whose bounding box meets `box` (for map viewports)."""
        seen: dict[str, None] = {}
        for slot in self._slots(box):
            for e in self._buckets[slot]:
                b = e.bbox
                if b[0] <= box[2] and box[0] <= b[2] and b[1] <= box[3] and box[1] <= b[3]:
                    seen.setdefault(e.key)
        return list(seen)


class PointIndex(Generic[T]):
    """Nearest items to a point, by metres, with a bucket grid of `bucket_m` metres."""

    def __init__(self, items: Iterable[tuple[Point, T]], bucket_m: float = 200.0) -> None:
        self._items = list(items)
        lat0 = self._items[0][0][1] if self._items else 30.0
        self._sx = bucket_m / m_per_deg_lon(lat0)
        self._sy = bucket_m / M_PER_DEG_LAT
        self._bucket_m = bucket_m
        self._buckets: dict[tuple[int, int], list[tuple[Point, T]]] = {}
        for point, item in self._items:
            self._buckets.setdefault(self._key(point), []).append((point, item))

    def __len__(self) -> int:
        return len(self._items)

    def _key(self, p: Point) -> tuple[int, int]:
        return (math.floor(p[0] / self._sx), math.floor(p[1] / self._sy))

    def within(self, p: Point, radius_m: float, limit: int = 10) -> list[tuple[float, T]]:
        """Up to `limit` items within `radius_m` metres, nearest first, as (metres, item)."""
        kx, ky = self._key(p)
        reach = int(radius_m // self._bucket_m) + 1
        found: list[tuple[float, int, T]] = []
        for ix in range(kx - reach, kx + reach + 1):
            for iy in range(ky - reach, ky + reach + 1):
                for point, item in self._buckets.get((ix, iy), ()):
                    d = distance_m(p, point)
                    if d <= radius_m:
                        found.append((d, len(found), item))
        return [(d, item) for d, _, item in heapq.nsmallest(limit, found)]

    def nearest(self, p: Point, max_m: float = 5_000.0) -> tuple[float, T] | None:
        """The nearest item within `max_m` metres, searching outwards in growing rings."""
        radius = self._bucket_m
        while True:
            hits = self.within(p, radius, limit=1)
            if hits or radius >= max_m:
                return hits[0] if hits else None
            radius = min(max_m, radius * 2)
