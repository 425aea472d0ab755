"""Unit grid codes (CJ/T 213) and component ids (CJ/T 214)."""

from __future__ import annotations

import pytest

from ticketing.geo.domain.codes import (
    CodeError,
    format_cell_code,
    format_component_id,
    parse_cell_code,
    parse_component_id,
    resolve_class,
    rewidth_cell_code,
    street_kind,
)


def test_cell_code_of_14_digits_splits_into_its_parts() -> None:
    code = parse_cell_code("33042400100512")
    assert (code.county, code.street, code.community, code.sequence) == ("330424", "001", "005", "12")
    assert code.community_code == "330424001005" and code.street_code == "330424001"


def test_cell_code_width_is_configuration() -> None:
    assert format_cell_code("330424001005", 7, 3) == "330424001005007"
    assert parse_cell_code("330424001005007", 3).sequence == "007"
    assert rewidth_cell_code("33042400100507", 3) == "330424001005007"
    with pytest.raises(CodeError):
        parse_cell_code("330424001005007", 2)


@pytest.mark.parametrize("bad", ["", "3304240010051", "3304240010051X", "33042400000512", "33042400100500",
                                 "33042400100012"])
def test_malformed_cell_codes_are_refused(bad: str) -> None:
    with pytest.raises(CodeError):
        parse_cell_code(bad)


def test_sequence_must_fit_its_width() -> None:
    with pytest.raises(CodeError):
        format_cell_code("330424001005", 100, 2)


def test_street_kinds_follow_gb_t_2260_ranges() -> None:
    assert [street_kind(s) for s in ("001", "099", "100", "250")] == ["街道", "街道", "镇", "乡"]
    with pytest.raises(CodeError):
        street_kind("400")


def test_component_id_is_county_class_and_serial() -> None:
    cid = format_component_id("330424", "0118", 1)
    assert cid == "3304240118000001" and len(cid) == 16
    parsed = parse_component_id(cid)
    assert (parsed.county, parsed.class_code, parsed.serial) == ("330424", "0118", "000001")


@pytest.mark.parametrize("bad", ["330424011800001", "3304249999000001", "3304240118000000", "33042401180000ab"])
def test_malformed_component_ids_are_refused(bad: str) -> None:
    with pytest.raises(CodeError):
        parse_component_id(bad)


def test_component_class_by_code_or_name() -> None:
    assert resolve_class("路灯") == "0118" and resolve_class("0203") == "0203"
    with pytest.raises(CodeError):
        resolve_class("飞船")
