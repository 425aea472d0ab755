"""Checks of base data before an import: codes, duplicates, geometries, overlapping and gapped cells.

Each problem names the feature by its 1-based number in the file, so an administrator can find it.
Errors block the import; warnings (odd cell sizes) are reported only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shapely import STRtree, make_valid
from shapely.geometry import shape
from shapely.ops import unary_union
from shapely.validation import explain_validity

from ticketing.geo.domain.codes import COMPONENT_STATES, CodeError, parse_cell_code, parse_component_id
from ticketing.geo.domain.features import FeatureError, GeoObject, from_feature
from ticketing.geo.domain.geometry import M_PER_DEG_LAT, GeometryError, lines_of, m_per_deg_lon, polygons_of
from ticketing.geo.domain.model import Cell, Community, Component, Street

OVERLAP_M2 = 1.0  # overlaps and gaps smaller than this are rounding, not errors
CELL_M2 = (2_000.0, 50_000.0)  # CJ/T 213 cells are about 10,000 m²
POLYGON_KINDS = ("cells", "communities", "streets", "duty_grids")


@dataclass(frozen=True, slots=True)
class Problem:
    feature: int | None  # 1-based number of the feature in the file; None for the whole layer
    code: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"第{self.feature}个要素" if self.feature else "整体"
        return f"{where}：{self.message}"


@dataclass(frozen=True, slots=True)
class Checked:
    objects: tuple[GeoObject, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def check(kind: str, features: Sequence[Mapping[str, Any]], *, cell_width: int = 2) -> Checked:
    """Parse and check features of one kind; the objects are only meaningful when `ok`."""
    objects: list[tuple[int, GeoObject]] = []
    problems: list[Problem] = []
    for number, feature in enumerate(features, 1):
        try:
            obj = from_feature(kind, feature)
            _check_geometry(kind, feature)
            _check_code(obj, cell_width)
        except (FeatureError, GeometryError, CodeError, ValueError) as exc:
            problems.append(Problem(number, getattr(exc, "code", "geo.bad_feature"), str(exc)))
            continue
        objects.append((number, obj))
    problems += _duplicates(kind, objects)
    if kind in POLYGON_KINDS:
        problems += _polygons(kind, features, objects)
    problems.sort(key=lambda p: (p.feature is None, p.feature or 0))
    return Checked(tuple(r for _, r in objects), tuple(problems))


def _check_geometry(kind: str, feature: Mapping[str, Any]) -> None:
    if kind in POLYGON_KINDS:
        polygons_of(feature["geometry"])
    elif kind == "roads":
        lines_of(feature["geometry"])


def _check_code(obj: GeoObject, cell_width: int) -> None:
    if isinstance(obj, Cell):
        parsed = parse_cell_code(obj.code, cell_width)
        if parsed.community_code != obj.community_code:
            raise CodeError(f"单元网格“{obj.code}”的社区编码应为{parsed.community_code}")
    elif isinstance(obj, Community) and not (len(obj.code) == 12 and obj.code.isdigit()):
        raise CodeError(f"社区编码“{obj.code}”应为12位数字")
    elif isinstance(obj, Street) and not (len(obj.code) == 9 and obj.code.isdigit()):
        raise CodeError(f"街道编码“{obj.code}”应为9位数字")
    elif isinstance(obj, Component):
        parsed_id = parse_component_id(obj.id)
        if parsed_id.class_code != obj.class_code:
            raise CodeError(f"部件“{obj.id}”的类别应为{parsed_id.class_code}")
        if obj.state not in COMPONENT_STATES:
            raise CodeError(f"部件状态“{obj.state}”应为{'/'.join(COMPONENT_STATES)}之一")


def _key(obj: GeoObject) -> str:
    return str(getattr(obj, "code", None) or getattr(obj, "id", None) or getattr(obj, "name", ""))


def _duplicates(kind: str, objects: list[tuple[int, GeoObject]]) -> list[Problem]:
    seen: dict[str, int] = {}
    found = []
    for number, obj in objects:
        key = _key(obj)
        if key in seen:
            found.append(Problem(number, "geo.duplicate", f"编码“{key}”与第{seen[key]}个要素重复"))
        else:
            seen[key] = number
    return found


def _m2_per_deg2(lat: float) -> float:
    return m_per_deg_lon(lat) * M_PER_DEG_LAT


def _polygons(kind: str, features: Sequence[Mapping[str, Any]], objects: list[tuple[int, GeoObject]]) -> list[Problem]:
    found: list[Problem] = []
    shapes = []
    for number, _ in objects:
        geom = shape(features[number - 1]["geometry"])
        if not geom.is_valid:
            found.append(Problem(number, "geo.bad_geometry", f"几何无效：{explain_validity(geom)}"))
            geom = make_valid(geom)
        if geom.area == 0:
            found.append(Problem(number, "geo.bad_geometry", "面积为0"))
            continue
        shapes.append((number, geom))
    if not shapes or kind != "cells":
        return found
    k = _m2_per_deg2(shapes[0][1].centroid.y)
    found += _sizes(shapes, k) + _overlaps(shapes, k) + _gaps(shapes, k)
    return found


def _sizes(shapes: list[tuple[int, Any]], k: float) -> list[Problem]:
    return [Problem(n, "geo.cell_size", f"单元网格面积{g.area * k:.0f}平方米，偏离1万平方米过多", "warning")
            for n, g in shapes if not CELL_M2[0] <= g.area * k <= CELL_M2[1]]


def _overlaps(shapes: list[tuple[int, Any]], k: float) -> list[Problem]:
    tree = STRtree([g for _, g in shapes])
    found = []
    for i, (number, geom) in enumerate(shapes):
        for j in tree.query(geom):
            if j <= i:
                continue
            area = geom.intersection(shapes[j][1]).area * k
            if area > OVERLAP_M2:
                found.append(Problem(number, "geo.overlap", f"与第{shapes[j][0]}个要素重叠约{area:.0f}平方米"))
    return found


def _gaps(shapes: list[tuple[int, Any]], k: float) -> list[Problem]:
    union = unary_union([g for _, g in shapes])
    found = []
    for polygon in getattr(union, "geoms", [union]):
        for hole in polygon.interiors:
            area = abs(shape({"type": "Polygon", "coordinates": [list(hole.coords)]}).area) * k
            if area > OVERLAP_M2:
                point = hole.representative_point() if hasattr(hole, "representative_point") else hole.centroid
                found.append(Problem(None, "geo.gap",
                                     f"单元网格之间有约{area:.0f}平方米的缝隙，位于({point.x:.6f}, {point.y:.6f})附近"))
    return found
