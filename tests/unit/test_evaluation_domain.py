"""Evaluation domain: periods in local time, the catalog's expressions and checks, scoring rules and versions."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketing.evaluation.domain.catalog import (
    FACTS,
    CatalogError,
    Family,
    ObjectKind,
    evaluate,
    parse_catalog,
)
from ticketing.evaluation.domain.periods import PeriodKind, local_day, period
from ticketing.evaluation.domain.scoring import Figure, ProfileBook, parse_profile, score
from ticketing.evaluation.files import load_catalog, load_profiles

TZ = ZoneInfo("Asia/Shanghai")


def today(clock) -> date:  # type: ignore[no-untyped-def]
    return local_day(clock(), TZ)


# --- periods --------------------------------------------------------------------------------------------

def test_each_period_kind_contains_its_day_and_has_the_right_length(clock) -> None:  # type: ignore[no-untyped-def]
    day = today(clock)
    for kind in ("day", "week", "month", "quarter", "year"):
        p = period(kind, day)
        assert p.first <= day < p.end and p.previous().end == p.first
    assert (period("day", day).end - period("day", day).first).days == 1
    week = period("week", day)
    assert week.first.isoweekday() == 1 and (week.end - week.first).days == 7
    month = period("month", day)
    assert month.first.day == 1 and month.end.day == 1 and 28 <= (month.end - month.first).days <= 31
    quarter = period("quarter", day)
    assert quarter.first.month in (1, 4, 7, 10) and (quarter.end.month - quarter.first.month) % 12 == 3
    assert period("year", day).first == date(day.year, 1, 1)


def test_periods_start_at_local_midnight_not_utc(clock) -> None:  # type: ignore[no-untyped-def]
    p = period("day", today(clock))
    start, end = p.bounds(TZ)
    assert start.astimezone(TZ).hour == 0 and start.tzinfo is not None and (end - start) == timedelta(days=1)
    assert start.astimezone(UTC).hour == 16  # 00:00 in Shanghai is 16:00 UTC the day before


def test_year_end_months_weeks_and_quarters(clock) -> None:  # type: ignore[no-untyped-def]
    last = date(today(clock).year, 12, 31)
    assert period("month", last).end == date(last.year + 1, 1, 1)
    assert period("quarter", last).first == date(last.year, 10, 1)
    week = period("week", last)
    assert week.first <= last < week.end and week.label.startswith(f"{week.first.isocalendar()[0]}年第")


def test_ranges_include_their_last_day_and_are_checked(clock) -> None:  # type: ignore[no-untyped-def]
    day = today(clock)
    p = period(PeriodKind.RANGE, day, day + timedelta(days=6))
    assert p.last == day + timedelta(days=6) and p.previous().end == p.first
    assert p.label == f"{day.isoformat()} 至 {p.last.isoformat()}"
    with pytest.raises(ValueError, match="结束日期"):
        period("range", day)
    with pytest.raises(ValueError, match="不能早于"):
        period("range", day, day - timedelta(days=1))
    with pytest.raises(ValueError, match="不超过"):
        period("range", day, day + timedelta(days=5000))


def test_labels_are_chinese(clock) -> None:  # type: ignore[no-untyped-def]
    day = today(clock)
    assert period("month", day).label == f"{day.year}年{day.month}月"
    assert period("quarter", day).label == f"{day.year}年第{(day.month - 1) // 3 + 1}季度"
    assert period("day", day).label == f"{day.year}年{day.month}月{day.day}日"


# --- catalog ---------------------------------------------------------------------------------------------

def test_shipped_catalog_covers_the_standard_indicators() -> None:
    catalog = load_catalog()
    names = {i.name for i in catalog.indicators.values()}
    assert names >= {"立案数", "结案率", "按期结案率", "处置率", "按期处置率", "超期结案率", "返工率", "延期率",
                     "超期待处置率", "监督举报率", "有效上报率", "按期核实率", "按期核查率", "准确立案率",
                     "准确派遣率", "按期派遣率"}
    assert {k for i in catalog.indicators.values() for k in i.objects} == set(ObjectKind)
    used = {n for s in catalog.sets.values() for n in _facts(s.expr)}
    assert used == set(FACTS[Family.CASE]) | set(FACTS[Family.POST])  # no fact is defined but unused


def _facts(expr) -> set[str]:  # type: ignore[no-untyped-def]
    name = getattr(expr, "name", None)
    if name is not None:
        return {name}
    parts = getattr(expr, "operands", None) or (expr.operand,)
    return set().union(*(_facts(p) for p in parts))


def test_sets_expand_other_sets_and_evaluate_like_their_description() -> None:
    catalog = load_catalog()
    closed = catalog.sets["closed"]
    row = dict.fromkeys(FACTS[Family.CASE], False) | {
        "registered_by_end": True, "closed_in_period": True, "closed_at_end": True}
    assert evaluate(closed.expr, row)
    assert not evaluate(closed.expr, row | {"backlog_at_end": True})  # 挂账 leaves every set
    assert not evaluate(catalog.sets["closed_on_time"].expr, row | {"handling_ever_late": True})
    assert closed.rule.startswith("「应结案数」且") and "期末状态为挂账" in catalog.sets["counted"].rule


@pytest.mark.parametrize("sets,error", [
    ({"a": {"when": ["no_such_fact"]}}, "未知的事实或集合"),
    ({"a": {"when": ["b"]}, "b": {"when": ["a"]}}, "循环引用"),
    ({"a": {"when": ["is_report"], "family": "post"}, "b": {"when": ["a"]}}, "另一类"),
    ({"a": {"when": [{"either": ["closed_at_end"]}]}}, "无法理解"),
    ({"closed_at_end": {"when": ["closed_in_period"]}}, "与事实名重复"),
])
def test_inconsistent_catalogs_are_refused_when_loaded(sets, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CatalogError, match=error):
        parse_catalog({"sets": sets})


def test_indicators_must_match_their_objects_family() -> None:
    sets = {"r": {"when": ["registered_in_period"]}}
    with pytest.raises(CatalogError, match="对象与其集合类别不符"):
        parse_catalog({"sets": sets, "indicators": [{"id": "x", "name": "x", "numerator": "r", "objects": ["lead"]}]})
    with pytest.raises(CatalogError, match="未知集合"):
        parse_catalog({"sets": sets, "indicators": [{"id": "x", "name": "x", "numerator": "q", "objects": ["street"]}]})


# --- scoring ---------------------------------------------------------------------------------------------

def fig(indicator: str, num: int, den: int | None) -> Figure:
    return Figure(indicator, indicator, num, den)


def test_shipped_profiles_load_with_their_maximums() -> None:
    book = load_profiles(load_catalog())
    assert {(p.id, p.version, p.max_points) for p in book.latest()} == {
        ("jinniu", 1, 100.0), ("jinhua", 1, 70.0), ("region", 1, 100.0), ("inspector", 1, 100.0)}


def test_jinhua_threshold_deduction_and_per_case_rules() -> None:
    profile = load_profiles(load_catalog()).get("jinhua")
    figures = {"closing_on_time_rate": fig("closing_on_time_rate", 13, 20),  # 65 %: 5 points below 70 %
               "closing_rate": fig("closing_rate", 18, 20),  # exactly 90 %
               "rework_rate": fig("rework_rate", 3, 20)}
    result = score(profile, "x", figures)
    assert [p.points for p in result.parts] == [45.0, 20.0, -0.6] and result.points == 64.4
    assert result.grade == "绿" and "5.00 个百分点" in result.parts[0].formula
    below = score(profile, "x", figures | {"closing_rate": fig("closing_rate", 17, 20)})
    assert below.parts[1].points == 0.0 and "未达到" in below.parts[1].formula


def test_weighted_rules_when_nothing_was_due_and_grade_bands() -> None:
    profile = load_profiles(load_catalog()).get("jinniu")
    empty = {r.indicator: fig(r.indicator, 0, 0) for r in profile.rules}
    result = score(profile, "x", empty)
    assert result.points == 100.0 and result.grade == "优" and "0/0" in result.parts[0].formula
    assert [profile.grade(p) for p in (90, 89.99, 80, 60, 59.99)] == ["优", "良", "良", "中", "差"]


def test_tiers_and_floors() -> None:
    catalog = load_catalog()
    region = load_profiles(catalog).get("region")
    figures = {"public_report_rate": fig("public_report_rate", 5, 10), "registered_count": fig("registered_count", 10,
               None), "closing_rate": fig("closing_rate", 10, 10), "closing_on_time_rate": fig("closing_on_time_rate",
                                                                                                 9, 10)}
    assert [p.points for p in score(region, "s", figures).parts] == [5.0, 15.0, 30.0, 36.0]
    data = {"id": "strict", "version": 1, "name": "严格", "objects": ["department"],
            "rules": [{"indicator": "rework_rate", "kind": "per_case", "points_per_case": -2, "floor": -5}]}
    strict = parse_profile(data, catalog)
    assert score(strict, "d", {"rework_rate": fig("rework_rate", 4, 10)}).points == -5.0


def test_profiles_are_checked_and_versions_kept() -> None:
    catalog = load_catalog()
    base = {"id": "p", "name": "p", "objects": ["department"], "rules": [{"indicator": "handling_rate", "weight": 10}]}
    with pytest.raises(CatalogError, match="不适用于"):
        parse_profile(base | {"version": 1, "objects": ["street"]}, catalog)
    with pytest.raises(CatalogError, match="未知指标"):
        parse_profile(base | {"version": 1, "rules": [{"indicator": "nope"}]}, catalog)
    v1, v2 = parse_profile(base | {"version": 1}, catalog), parse_profile(base | {"version": 2}, catalog)
    book = ProfileBook.of([v2, v1])
    assert book.get("p") == v2 and book.get("p", 1) == v1 and book.get("p", 3) is None
    with pytest.raises(CatalogError, match="重复"):
        ProfileBook.of([v1, v1])


def test_the_figure_value_of_counts_and_rates() -> None:
    assert fig("a", 3, None).value == 3.0 and fig("a", 1, 4).value == 0.25 and fig("a", 0, 0).value is None


def test_committed_evaluation_doc_matches_the_data_files() -> None:
    from ticketing.evaluation.doc import DOC, render, updated

    catalog = load_catalog()
    text = DOC.read_text(encoding="utf-8")
    assert text == updated(text, render(catalog, load_profiles(catalog))), "run: python -m ticketing.evaluation.doc"


def test_a_site_folder_adds_profile_versions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ticketing.evaluation.files import EVALUATION_DIR

    text = (EVALUATION_DIR / "profiles" / "jinniu.v1.yaml").read_text(encoding="utf-8")
    (tmp_path / "jinniu.v2.yaml").write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")
    book = load_profiles(load_catalog(), tmp_path)
    assert book.get("jinniu").version == 2 and book.get("jinniu", 1) is not None
