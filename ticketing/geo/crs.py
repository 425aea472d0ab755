"""Coordinate systems at the edge: WGS-84 inside, CGCS2000 (geographic and 3° Gauss–Krüger zone 40) and
GCJ-02 outside. CGCS2000 goes through pyproj; GCJ-02 is pure Python (no EPSG code exists for it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pyproj import CRS, Transformer
from pyproj.enums import WktVersion

from ticketing.geo.domain.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02

Transform = Callable[[float, float], tuple[float, float]]

# canonical name → EPSG code (None: not an EPSG system)
# cgcs2000-gk40: 3° Gauss–Krüger zone 40 (CM 120°E) without the zone number in the easting (EPSG:4549);
# cgcs2000-gk40z: the same with the "40" prefix (easting 40500000 at the central meridian, EPSG:4528).
SYSTEMS: dict[str, str | None] = {"wgs84": "EPSG:4326", "cgcs2000": "EPSG:4490", "cgcs2000-gk40": "EPSG:4549",
                                  "cgcs2000-gk40z": "EPSG:4528", "gcj02": None}
_ALIASES = {
    "epsg:4326": "wgs84", "4326": "wgs84", "wgs-84": "wgs84", "epsg:4490": "cgcs2000", "4490": "cgcs2000",
    "epsg:4549": "cgcs2000-gk40", "4549": "cgcs2000-gk40", "gk40": "cgcs2000-gk40",
    "epsg:4528": "cgcs2000-gk40z", "4528": "cgcs2000-gk40z", "gcj-02": "gcj02",
}


class CrsError(ValueError):
    code = "geo.bad_crs"


def canonical(name: str) -> str:
    key = (name or "wgs84").strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SYSTEMS:
        raise CrsError(f"不支持的坐标系“{name}”，可用：{', '.join(SYSTEMS)}")
    return key


@functools.cache
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _identity(x: float, y: float) -> tuple[float, float]:
    return x, y


def to_wgs84(name: str) -> Transform:
    """A function (x, y) in `name` → (lon, lat) in WGS-84."""
    key = canonical(name)
    if key == "wgs84":
        return _identity
    if key == "gcj02":
        return gcj02_to_wgs84
    return _transformer(SYSTEMS[key] or "", "EPSG:4326").transform  # type: ignore[return-value]


def from_wgs84(name: str) -> Transform:
    """A function (lon, lat) in WGS-84 → (x, y) in `name`."""
    key = canonical(name)
    if key == "wgs84":
        return _identity
    if key == "gcj02":
        return wgs84_to_gcj02
    return _transformer("EPSG:4326", SYSTEMS[key] or "").transform  # type: ignore[return-value]


def transform_geometry(geometry: dict[str, Any], fn: Transform) -> dict[str, Any]:
    """The geometry with every position passed through `fn` (7 decimals for degrees, 3 for metres)."""
    if fn is _identity:
        return geometry

    def walk(value: Any) -> Any:
        if value and isinstance(value[0], int | float):
            x, y = fn(float(value[0]), float(value[1]))
            digits = 3 if abs(x) > 360 else 7
            return [round(x, digits), round(y, digits)]
        return [walk(v) for v in value]

    return {**geometry, "coordinates": walk(geometry["coordinates"])}


def esri_wkt(name: str) -> str:
    """The .prj text of a system (GCJ-02 files are written with the WGS-84 .prj, as web maps do)."""
    code = SYSTEMS[canonical(name)] or "EPSG:4326"
    return CRS.from_user_input(code).to_wkt(WktVersion.WKT1_ESRI)
