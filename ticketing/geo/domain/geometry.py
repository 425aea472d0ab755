"""Small pure-Python planar geometry on WGS-84 degrees, good to a few centimetres over a county.

Distances use a local equirectangular projection (metres), which is exact enough at the scale of a city
(error well below 0.1 % over 10 km). Geometries come in as GeoJSON-like mappings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Point = tuple[float, float]  # (lon, lat)
Ring = tuple[Point, ...]
Polygon = tuple[Ring, ...]  # outer ring first, then holes
Line = tuple[Point, ...]
BBox = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0


class GeometryError(ValueError):
    """A geometry is missing, of the wrong type or malformed."""

    code = "geo.bad_geometry"


def m_per_deg_lon(lat: float) -> float:
    return M_PER_DEG_LON_EQ * math.cos(math.radians(lat))


def distance_m(a: Point, b: Point) -> float:
    """Distance in metres between two nearby points."""
    mid = (a[1] + b[1]) / 2
    dx = (a[0] - b[0]) * m_per_deg_lon(mid)
    dy = (a[1] - b[1]) * M_PER_DEG_LAT
    return math.hypot(dx, dy)


def offset_m(origin: Point, east: float, north: float) -> Point:
    """The point `east`/`north` metres away from `origin`."""
    return (origin[0] + east / m_per_deg_lon(origin[1]), origin[1] + north / M_PER_DEG_LAT)


def polygons_of(geometry: Mapping[str, Any]) -> list[Polygon]:
    """Polygons of a Polygon or MultiPolygon geometry; raise GeometryError for anything else."""
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if kind == "Polygon":
        return [_polygon(coords)]
    if kind == "MultiPolygon" and isinstance(coords, list):
        return [_polygon(p) for p in coords]
    raise GeometryError(f"应为面(Polygon)几何，而不是{kind}")


def lines_of(geometry: Mapping[str, Any]) -> list[Line]:
    """Lines of a LineString or MultiLineString geometry."""
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
    if kind == "LineString":
        return [_line(coords)]
    if kind == "MultiLineString" and isinstance(coords, list):
        return [_line(c) for c in coords]
    raise GeometryError(f"应为线(LineString)几何，而不是{kind}")


def point_of(geometry: Mapping[str, Any]) -> Point:
    """The coordinates of a Point geometry."""
    if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
        raise GeometryError("应为点(Point)几何")
    return _point(geometry.get("coordinates"))


def _point(value: Any) -> Point:
    if not isinstance(value, Sequence) or len(value) < 2:
        raise GeometryError("坐标应为[经度, 纬度]")
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeometryError("坐标不是有限数值")
    return (lon, lat)


def _line(value: Any) -> Line:
    if not isinstance(value, list) or len(value) < 2:
        raise GeometryError("线至少需要两个点")
    return tuple(_point(p) for p in value)


def _polygon(value: Any) -> Polygon:
    if not isinstance(value, list) or not value:
        raise GeometryError("面缺少坐标环")
    rings = []
    for ring in value:
        points = tuple(_point(p) for p in ring) if isinstance(ring, list) else ()
        if len(points) < 4 or points[0] != points[-1]:
            raise GeometryError("面的坐标环至少4个点且首尾相同")
        rings.append(points)
    return tuple(rings)


def bbox_of(points: Iterable[Point]) -> BBox:
    xs, ys = zip(*points, strict=True)
    return (min(xs), min(ys), max(xs), max(ys))


def in_ring(x: float, y: float, ring: Ring) -> bool:
    """Even-odd ray casting; points exactly on an edge may fall either way."""
    inside = False
    x1, y1 = ring[-1]
    for x2, y2 in ring:
        if (y2 > y) != (y1 > y) and x < (x1 - x2) * (y - y2) / (y1 - y2) + x2:
            inside = not inside
        x1, y1 = x2, y2
    return inside


def in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    return in_ring(x, y, polygon[0]) and not any(in_ring(x, y, hole) for hole in polygon[1:])


def ring_centroid(ring: Ring) -> Point:
    """Area centroid of a simple ring (falls back to the vertex mean for degenerate rings)."""
    area2 = cx = cy = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        cross = x1 * y2 - x2 * y1
        area2 += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(area2) < 1e-18:
        n = len(ring) - 1
        return (sum(p[0] for p in ring[:-1]) / n, sum(p[1] for p in ring[:-1]) / n)
    return (cx / (3 * area2), cy / (3 * area2))


def ring_area_m2(ring: Ring) -> float:
    """Absolute area in square metres of a ring (shoelace in a local metric frame)."""
    lat0 = ring[0][1]
    kx, ky = m_per_deg_lon(lat0), M_PER_DEG_LAT
    area2 = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        area2 += (x1 * kx) * (y2 * ky) - (x2 * kx) * (y1 * ky)
    return abs(area2) / 2


def project_on_segment(p: Point, a: Point, b: Point) -> tuple[float, Point]:
    """Distance in metres from p to segment ab and the nearest point on it."""
    kx, ky = m_per_deg_lon(p[1]), M_PER_DEG_LAT
    ax, ay = (a[0] - p[0]) * kx, (a[1] - p[1]) * ky
    bx, by = (b[0] - p[0]) * kx, (b[1] - p[1]) * ky
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    nx, ny = ax + t * dx, ay + t * dy
    return math.hypot(nx, ny), (p[0] + nx / kx, p[1] + ny / ky)


def nearest_on_lines(p: Point, lines: Sequence[Line]) -> tuple[float, Point]:
    """Distance in metres from p to the nearest point of any line, and that point."""
    best: tuple[float, Point] = (math.inf, p)
    for line in lines:
        for a, b in itertools.pairwise(line):
            found = project_on_segment(p, a, b)
            if found[0] < best[0]:
                best = found
    return best


def line_length_m(line: Line) -> float:
    return sum(distance_m(a, b) for a, b in itertools.pairwise(line))


def interpolate(line: Line, metres: float) -> Point:
    """The point `metres` along the line from its start (clamped to the ends)."""
    remaining = max(0.0, metres)
    for a, b in itertools.pairwise(line):
        step = distance_m(a, b)
        if step > 0 and remaining <= step:
            t = remaining / step
            return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        remaining -= step
    return line[-1]


def segment_intersection(a: Point, b: Point, c: Point, d: Point) -> Point | None:
    """Intersection point of segments ab and cd (touching ends included), or None."""
    r = (b[0] - a[0], b[1] - a[1])
    s = (d[0] - c[0], d[1] - c[1])
    denom = r[0] * s[1] - r[1] * s[0]
    if denom == 0:
        return None
    qp = (c[0] - a[0], c[1] - a[1])
    t = (qp[0] * s[1] - qp[1] * s[0]) / denom
    u = (qp[0] * r[1] - qp[1] * r[0]) / denom
    eps = 1e-9
    if -eps <= t <= 1 + eps and -eps <= u <= 1 + eps:
        return (a[0] + t * r[0], a[1] + t * r[1])
    return None
