"""The on-site facts of an inspector's answer: distance to the case, the far flag, the county's area."""

from __future__ import annotations

import math

import pytest

from core.errors import InvalidParameters
from ticketing.domain.site import check_position, inside_area, site_fix
from ticketing.geo.domain.geometry import offset_m

CASE = (120.93, 30.51)  # lon, lat
AREA = (120.925, 30.508, 120.9625, 30.5406)


def test_an_answer_farther_than_the_limit_is_flagged_with_its_distance() -> None:
    near = offset_m(CASE, 150, 0)
    far = offset_m(CASE, 0, 260)
    ok = site_fix(CASE[1], CASE[0], near[1], near[0], 8.0, far_m=200)
    flagged = site_fix(CASE[1], CASE[0], far[1], far[0], None, far_m=200)
    assert ok["far"] is False and ok["distance_m"] == pytest.approx(150, abs=0.5) and ok["accuracy_m"] == 8.0
    assert flagged["far"] is True and flagged["distance_m"] == pytest.approx(260, abs=0.5)


def test_a_case_without_coordinates_gives_no_distance_and_no_flag() -> None:
    fix = site_fix(None, None, CASE[1], CASE[0], 5.0, far_m=200)
    assert fix["distance_m"] is None and fix["far"] is False


def test_the_area_is_the_grid_widened_by_the_margin() -> None:
    inside_margin = offset_m((AREA[2], AREA[3]), 900, 0)
    outside_margin = offset_m((AREA[2], AREA[3]), 1100, 0)
    assert inside_area(AREA, 1000, inside_margin[1], inside_margin[0])
    assert not inside_area(AREA, 1000, outside_margin[1], outside_margin[0])
    assert not inside_area(AREA, 3000, 39.9, 116.4)  # Beijing
    assert inside_area(None, 0, 39.9, 116.4)  # no grid data: nothing to compare with


@pytest.mark.parametrize(
    "bad",
    [
        ("30.5", 120.9, None),
        (math.nan, 120.9, None),
        (91.0, 120.9, None),
        (30.5, 120.9, -1.0),
        (True, 120.9, None),
        (30.5, 120.9, math.inf),
    ],
)
def test_a_malformed_fix_is_refused_in_chinese(bad: tuple[object, object, object]) -> None:
    with pytest.raises(InvalidParameters) as err:
        check_position(*bad)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)
