"""Geocoding accuracy over the committed address cases (tests/fixtures/geocode_cases.tsv) on the demo data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ticketing.geo.demo import demo_gazetteer as cached_demo_gazetteer
from ticketing.geo.domain.gazetteer import Gazetteer
from ticketing.geo.domain.geocoder import Candidate, forward
from ticketing.geo.domain.geometry import Point, distance_m


@pytest.fixture(scope="module")
def demo_gazetteer() -> Gazetteer:
    return cached_demo_gazetteer()


CASES = Path(__file__).resolve().parents[1] / "fixtures" / "geocode_cases.tsv"
FLOOR = 0.95  # measured 86/86 = 100 % when written; the floor leaves room for data changes
TOLERANCE_M = 30.0


def _cases() -> list[dict[str, str]]:
    lines = [line for line in CASES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def _expected_point(g: Gazetteer, expected: str) -> Point | None:
    if expected.startswith("@"):
        place = g.places[expected[1:]]
        return (place.lon, place.lat)
    if "+" in expected:
        return g.crossings[frozenset(expected.split("+"))]
    if ":" in expected:
        road, number = expected.split(":")
        found = g.door(road, int(number))
        assert found is not None
        return found[0]
    return None


def _right(g: Gazetteer, expected: str, best: Candidate | None) -> bool:
    if best is None:
        return False
    if expected.startswith("#"):
        return best.kind == "社区" and best.label == expected[1:]
    point = _expected_point(g, expected)
    if point is None:
        return best.label == expected
    return distance_m(point, (best.lon, best.lat)) <= TOLERANCE_M


def test_cases_file_has_enough_rows_of_each_sort() -> None:
    cases = _cases()
    assert len(cases) >= 60
    assert sum(c["id"].startswith("b") for c in cases) >= 10  # speech-style misspellings
    assert sum(c["id"].startswith("f") for c in cases) >= 10  # whole caller sentences


def test_geocoding_accuracy_meets_the_measured_floor(demo_gazetteer: Gazetteer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cases = _cases()
    misses = []
    for case in cases:
        best = forward(demo_gazetteer, case["query"]).best
        if not _right(demo_gazetteer, case["expected"], best):
            misses.append(f"{case['id']} {case['query']} → {best.label if best else None} (want {case['expected']})")
    accuracy = 1 - len(misses) / len(cases)
    with capsys.disabled():
        print(f"\ngeocoding accuracy: {len(cases) - len(misses)}/{len(cases)} = {accuracy:.1%}")
        for miss in misses:
            print("  miss:", miss)
    assert accuracy >= FLOOR
