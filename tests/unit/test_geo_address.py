"""Address parsing: numerals, door numbers, intersections, landmarks, relations, whole sentences."""

from __future__ import annotations

import pytest

from ticketing.geo.demo import demo_gazetteer
from ticketing.geo.domain.address import ParsedAddress, parse
from ticketing.geo.domain.geocoder import forward
from ticketing.geo.domain.numerals import chinese_to_int, normalize


def _parse(text: str) -> ParsedAddress:
    return parse(text, demo_gazetteer().lexicon)


@pytest.mark.parametrize(("text", "value"), [("一百二十", 120), ("一百二", 120), ("一百零五", 105), ("十五", 15),
                                             ("二十", 20), ("两百二十二", 222), ("一二零", 120), ("三千", 3000)])
def test_chinese_numerals(text: str, value: int) -> None:
    assert chinese_to_int(text) == value


def test_only_numerals_before_address_units_are_converted() -> None:
    assert normalize("我要反映一下，海滨东路一百二十号门口") == "我要反映一下,海滨东路120号门口"
    assert normalize("晚上十一点 一片漆黑") == "晚上十一点一片漆黑"
    assert normalize("枣园小区三幢二单元５０１室") == "枣园小区3幢2单元501室"


def test_full_address_with_county_street_and_building() -> None:
    p = _parse("海盐县武原街道盐湖路210号3幢2单元501室")
    assert [m.key for m in p.roads] == ["盐湖路"]
    assert (p.number, p.number_road, p.building, p.unit, p.room) == (210, "盐湖路", 3, 2, 501)
    assert p.street is not None and p.street.key == "330424001"


def test_lane_number_is_the_entrance_on_the_road() -> None:
    p = _parse("海滨中路33弄5号")
    assert (p.number, p.lane) == (33, 33)


def test_building_numbers_are_not_door_numbers() -> None:
    assert _parse("华城路12幢").number is None


@pytest.mark.parametrize("text", ["枣园东路和城北西路交叉口", "枣园东路与城北西路", "枣园东路、城北西路路口",
                                  "城北西路枣园东路口"])
def test_intersections(text: str) -> None:
    p = _parse(text)
    assert p.crossing and {m.key for m in p.roads} == {"枣园东路", "城北西路"}


def test_two_roads_in_a_sentence_are_not_always_an_intersection() -> None:
    assert not _parse("我从海滨东路走到新桥北路上班").crossing


def test_landmark_with_relation() -> None:
    p = _parse("绮园旁边的小区门口")
    assert [m.key for m in p.places] == ["绮园"] and p.relation == "旁边"


def test_alias_names_the_landmark() -> None:
    assert [m.key for m in _parse("县医院门口").places] == ["海盐县人民医院"]


def test_community_and_street() -> None:
    p = _parse("武原街道城北社区")
    assert p.community is not None and p.community.key.endswith("015")
    assert p.street is not None


def test_sentence_without_a_place_is_empty() -> None:
    assert _parse("我家楼下的工地晚上十一点还在施工").empty
    assert forward(demo_gazetteer(), "我家楼下的工地晚上十一点还在施工").best is None


def test_relation_lowers_confidence_but_keeps_the_place() -> None:
    g = demo_gazetteer()
    plain, near = forward(g, "绮园").best, forward(g, "绮园旁边").best
    assert plain is not None and near is not None
    assert (plain.lon, plain.lat) == (near.lon, near.lat) and near.confidence < plain.confidence


def test_missing_door_number_is_interpolated_between_neighbours() -> None:
    g = demo_gazetteer()
    sides = g.doorplates["海滨东路"][0]
    missing = next(n for n in range(sides.numbers[0], sides.numbers[-1], 2) if n not in sides.numbers)
    point, how = g.door("海滨东路", missing) or ((0.0, 0.0), "")
    assert how == "interpolated"
    before = sides.points[max(i for i, n in enumerate(sides.numbers) if n < missing)]
    after = sides.points[min(i for i, n in enumerate(sides.numbers) if n > missing)]
    assert min(before.lon, after.lon) <= point[0] <= max(before.lon, after.lon)


def test_door_number_beyond_the_road_is_clamped_with_low_confidence() -> None:
    best = forward(demo_gazetteer(), "海滨东路9999号").best
    assert best is not None and best.kind == "门牌" and best.confidence <= 0.6
