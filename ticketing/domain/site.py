"""On-site facts of an inspector's answer, decided purely: the distance to the case and whether it is far,
and whether a position lies in the county's service area (the unit grid and a margin around it)."""

from __future__ import annotations

import math
from typing import Any

from core.errors import InvalidParameters
from ticketing.geo.domain.geometry import M_PER_DEG_LAT, BBox, distance_m, m_per_deg_lon


def check_position(lat: Any, lon: Any, accuracy: Any = None) -> tuple[float, float, float | None]:
    """A GPS fix from a client: finite WGS-84 numbers, accuracy (metres) non-negative; else a clear error."""
    numbers = [v for v in (lat, lon) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2 or not all(math.isfinite(v) for v in numbers):
        raise InvalidParameters("位置 lat、lon 应为有效的经纬度数值")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidParameters("经纬度超出范围（纬度 -90 到 90，经度 -180 到 180）")
    if accuracy is not None and (
        isinstance(accuracy, bool)
        or not isinstance(accuracy, int | float)
        or not math.isfinite(accuracy)
        or accuracy < 0
    ):
        raise InvalidParameters("定位精度 accuracy 应为不小于 0 的米数")
    return float(lat), float(lon), None if accuracy is None else float(accuracy)


def inside_area(area: BBox | None, margin_m: float, lat: float, lon: float) -> bool:
    """True when (lat, lon) lies inside the grid's bounding box widened by `margin_m` on every side.
    Without grid data (area None) every valid position is accepted."""
    if area is None:
        return True
    x0, y0, x1, y1 = area
    dx = margin_m / m_per_deg_lon((y0 + y1) / 2)
    dy = margin_m / M_PER_DEG_LAT
    return x0 - dx <= lon <= x1 + dx and y0 - dy <= lat <= y1 + dy


def site_fix(
    case_lat: float | None, case_lon: float | None, lat: float, lon: float, accuracy: float | None, far_m: float
) -> dict[str, Any]:
    """The fix stored with an answer: where the inspector stood, how far from the case (metres, None when the
    case has no coordinates) and whether that is farther than `far_m` (flagged for the lead, not refused)."""
    distance = None
    if case_lat is not None and case_lon is not None:
        distance = round(distance_m((lon, lat), (case_lon, case_lat)), 1)
    return {
        "lat": round(lat, 7),
        "lon": round(lon, 7),
        "accuracy_m": accuracy,
        "distance_m": distance,
        "far": distance is not None and distance > far_m,
        "far_m": far_m,
    }
