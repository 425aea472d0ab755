"""Import checks (feature numbers, codes, overlaps, gaps), file formats and the demo data generator."""

from __future__ import annotations

import copy
import filecmp
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ticketing.geo.demo import DEMO_DIR
from ticketing.geo.domain.validation import check
from ticketing.geo.formats import FormatError, dump_shapefile, load_geojson, load_shapefile
from ticketing.geo.importer import guess_kind, read_features, validate_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cells() -> list[dict[str, Any]]:
    return load_geojson(DEMO_DIR / "cells.geojson")


def _problems(kind: str, features: list[dict[str, Any]]) -> list[tuple[int | None, str]]:
    return [(p.feature, p.code) for p in check(kind, features).problems if p.severity == "error"]


def test_demo_cells_are_seamless_and_valid(cells: list[dict[str, Any]]) -> None:
    result = check("cells", cells)
    assert result.ok and not result.problems and len(result.objects) == len(cells)


def test_overlap_names_both_features(cells: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(cells[:40])
    bad[5]["geometry"]["coordinates"][0][1][0] += 0.0003  # push a corner into the neighbour
    assert (6, "geo.overlap") in _problems("cells", bad)


def test_gap_is_reported(cells: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(cells[:108])  # three full rows of 36
    del bad[40]  # a cell in the middle row: a hole
    assert (None, "geo.gap") in _problems("cells", bad)


def test_duplicate_and_malformed_codes_carry_the_feature_number(cells: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(cells[:10])
    bad[2]["properties"]["code"] = "3304240010010"
    bad.append(copy.deepcopy(bad[0]))
    problems = _problems("cells", bad)
    assert (3, "geo.bad_code") in problems and (11, "geo.duplicate") in problems


def test_cell_code_must_agree_with_its_community(cells: list[dict[str, Any]]) -> None:
    bad = copy.deepcopy(cells[:1])
    bad[0]["properties"]["community_code"] = "330424001999"
    assert _problems("cells", bad) == [(1, "geo.bad_code")]


def test_bad_geometries_are_reported() -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    open_ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}
    point = {"type": "Point", "coordinates": [120.9, 30.5]}
    features = [{"type": "Feature", "properties": {"code": f"3304240010010{i}", "community_code": "330424001001"},
                 "geometry": g} for i, g in enumerate((bowtie, open_ring, point), 1)]
    problems = _problems("cells", features)
    assert [n for n, code in problems if code == "geo.bad_geometry"] == [1, 2, 3]


def test_component_state_and_class_are_checked() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.95, 30.52]},
               "properties": {"id": "3304240118000001", "class_code": "0305", "state": "坏了"}}
    assert _problems("components", [feature]) == [(1, "geo.bad_code")]
    feature["properties"].update(class_code="0118")
    assert _problems("components", [feature]) == [(1, "geo.bad_code")]
    feature["properties"].update(state="破损")
    assert _problems("components", [feature]) == []


def test_unreadable_files_raise_format_errors(tmp_path: Path) -> None:
    broken = tmp_path / "cells.geojson"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(FormatError):
        read_features(broken)
    with pytest.raises(FormatError):
        read_features(tmp_path / "cells.kml")
    with pytest.raises(FormatError):
        guess_kind(tmp_path / "stuff.geojson")


def test_shapefile_round_trip_keeps_attributes_and_chinese(tmp_path: Path) -> None:
    features = load_geojson(DEMO_DIR / "communities.geojson")
    path = tmp_path / "communities.shp"
    dump_shapefile(features, path)
    back = load_shapefile(path)
    assert [f["properties"]["name"] for f in back] == [f["properties"]["name"] for f in features]
    assert back[0]["properties"]["street_code"] == features[0]["properties"]["street_code"]
    assert check("communities", back).ok


def test_gcj02_file_is_converted_before_checks(tmp_path: Path) -> None:
    from ticketing.geo.crs import from_wgs84, transform_geometry

    features = load_geojson(DEMO_DIR / "components.geojson")[:3]
    shifted = [{**f, "geometry": transform_geometry(f["geometry"], from_wgs84("gcj02"))} for f in features]
    path = tmp_path / "components.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": shifted}), encoding="utf-8")
    back = validate_file(path, crs="gcj02").objects
    for original, obj in zip(features, back, strict=True):
        lon, lat = original["geometry"]["coordinates"]
        assert abs(obj.lon - lon) < 1e-6 and abs(obj.lat - lat) < 1e-6  # type: ignore[union-attr]


def test_demo_generator_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_haiyan_demo.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    names = sorted(p.name for p in DEMO_DIR.glob("*.geojson"))
    assert len(names) == 7
    _, mismatch, errors = filecmp.cmpfiles(DEMO_DIR, tmp_path, names, shallow=False)
    assert mismatch == [] and errors == []


def test_demo_data_is_marked_and_small() -> None:
    total = sum(p.stat().st_size for p in DEMO_DIR.glob("*.geojson"))
    assert total < 5 * 1024 * 1024
    for path in DEMO_DIR.glob("*.geojson"):
        head = json.loads(path.read_text(encoding="utf-8"))
        assert head["demo"] is True and "演示数据" in head["name"]
        assert all(f["properties"].get("demo") is True for f in head["features"])


def test_demo_data_can_be_seeded_with_3_digit_cell_sequences() -> None:
    from ticketing.geo.demo import load_demo

    data = load_demo(DEMO_DIR, cell_width=3)
    codes = {c.code for c in data["cells"]}  # type: ignore[union-attr]
    assert all(len(code) == 15 for code in codes)
    assert all(a.cell_code in codes for a in data["addresses"] if a.cell_code)  # type: ignore[union-attr]
    assert check("cells", [{"type": "Feature", "properties": {"code": c.code, "community_code": c.community_code},
                            "geometry": c.geometry} for c in data["cells"][:5]], cell_width=3).ok  # type: ignore
