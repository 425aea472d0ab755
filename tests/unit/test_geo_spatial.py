"""The point → cell index agrees with a brute-force scan; nearest-point search; reverse geocoding."""

from __future__ import annotations

import random

from ticketing.geo.demo import demo_gazetteer
from ticketing.geo.domain.geocoder import nearest_components, reverse
from ticketing.geo.domain.geometry import distance_m
from ticketing.geo.domain.spatial import PointIndex, PolygonIndex


def test_index_agrees_with_brute_force_everywhere() -> None:
    g = demo_gazetteer()
    x0, y0, x1, y1 = g.bbox() or (0, 0, 0, 0)
    rng = random.Random(7)
    for _ in range(3000):
        lon = rng.uniform(x0 - 0.002, x1 + 0.002)
        lat = rng.uniform(y0 - 0.002, y1 + 0.002)
        assert g.cell_index.locate(lon, lat) == g.cell_index.brute_force(lon, lat)


def test_shared_edges_have_exactly_one_owner() -> None:
    g = demo_gazetteer()
    cell = next(iter(g.cells.values()))
    corner = cell.geometry["coordinates"][0][2]  # north-east corner, shared by four cells
    assert g.cell_index.locate(*corner) is not None


def test_points_outside_the_grid_have_no_cell() -> None:
    assert demo_gazetteer().cell_index.locate(116.4, 39.9) is None


def test_non_rectangular_polygons_use_point_in_polygon() -> None:
    triangle = ((((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)),),)
    index = PolygonIndex([("t", triangle)])
    assert index.locate(0.2, 0.2) == "t" and index.locate(0.8, 0.8) is None


def test_point_index_returns_nearest_first_within_radius() -> None:
    base = (120.95, 30.52)
    items = [((base[0] + i * 0.0001, base[1]), i) for i in range(10)]
    index: PointIndex[int] = PointIndex(items, bucket_m=50)
    found = index.within(base, 25)  # items are 9.6 m apart at this latitude
    assert [i for _, i in found] == [0, 1, 2]
    nearest = index.nearest((base[0] + 0.00095, base[1]))
    assert nearest is not None and nearest[1] == 9
    far = index.nearest((base[0] + 0.05, base[1]), max_m=100)
    assert far is None


def test_reverse_geocode_finds_door_road_and_street() -> None:
    g = demo_gazetteer()
    plate = g.doorplates["武原大道"][0].points[10]
    r = reverse(g, plate.lon + 0.00001, plate.lat)
    assert r.nearest == plate and r.address == plate.name
    assert r.road == "武原大道" and r.place.street_dept_code == "wyjd"


def test_nearest_components_of_a_class() -> None:
    g = demo_gazetteer()
    lamp = next(c for c in g.components.values() if c.class_code == "0118")
    found = nearest_components(g, lamp.lon, lamp.lat, class_code="0118", radius_m=60)
    assert found[0][1] == lamp and all(c.class_code == "0118" for _, c in found)
    assert all(distance_m((lamp.lon, lamp.lat), (c.lon, c.lat)) <= 60 for _, c in found)
