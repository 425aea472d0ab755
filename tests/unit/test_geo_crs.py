"""Coordinate systems at the edge: CGCS2000 (geographic, Gauss–Krüger zone 40) and GCJ-02 round trips."""

from __future__ import annotations

import pytest

from ticketing.geo.crs import CrsError, canonical, from_wgs84, to_wgs84, transform_geometry
from ticketing.geo.domain.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from ticketing.geo.domain.geometry import distance_m

HAIYAN = (120.945, 30.52)


@pytest.mark.parametrize("name", ["wgs84", "cgcs2000", "EPSG:4549", "cgcs2000-gk40z", "gcj02"])
def test_round_trip_is_within_a_millimetre(name: str) -> None:
    x, y = from_wgs84(name)(*HAIYAN)
    back = to_wgs84(name)(x, y)
    assert distance_m(HAIYAN, back) < 0.001


def test_gauss_kruger_zone_40_has_its_central_meridian_at_120_east() -> None:
    x, y = from_wgs84("EPSG:4549")(120.0, 30.52)
    assert abs(x - 500_000) < 0.01 and 3_370_000 < y < 3_390_000
    x40, _ = from_wgs84("cgcs2000-gk40z")(120.0, 30.52)
    assert abs(x40 - 40_500_000) < 0.01


def test_gcj02_shifts_haiyan_by_a_few_hundred_metres() -> None:
    shifted = wgs84_to_gcj02(*HAIYAN)
    assert 100 < distance_m(HAIYAN, shifted) < 800
    assert distance_m(HAIYAN, gcj02_to_wgs84(*shifted)) < 0.001


def test_gcj02_is_wgs84_outside_china() -> None:
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_transform_geometry_keeps_structure() -> None:
    ring = [[120.94, 30.51], [120.95, 30.51], [120.95, 30.52], [120.94, 30.51]]
    moved = transform_geometry({"type": "Polygon", "coordinates": [ring]}, from_wgs84("EPSG:4549"))
    assert moved["type"] == "Polygon" and len(moved["coordinates"][0]) == 4
    assert moved["coordinates"][0][0][0] > 500_000


def test_unknown_crs_is_refused_in_chinese() -> None:
    with pytest.raises(CrsError, match="不支持的坐标系"):
        canonical("EPSG:3857")
