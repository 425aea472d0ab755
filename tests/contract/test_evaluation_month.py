"""Evaluation over a synthetic month (tests/contract/evaluation_month.py), on SQLite and PostgreSQL: indicators
per department, region and post computed by hand, the drill-down lists, the period boundary and profiles."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from config.bootstrap import build_case_service, engine_for
from config.settings import Settings
from ticketing.evaluation.domain.catalog import ObjectKind
from ticketing.evaluation.domain.scoring import ProfileBook, parse_profile
from ticketing.evaluation.files import EVALUATION_DIR, _read, load_catalog, load_profiles
from ticketing.evaluation.service import EvaluationService, Report

from .evaluation_month import Month

DEPARTMENT_SETS = ("due_close", "closed", "closed_on_time", "closed_late", "reworked", "due_handle", "handled",
                   "handled_on_time", "extended", "overdue_pending")
REGION_SETS = ("registered", "public_registered", "due_close", "closed", "closed_on_time", "closed_late",
               "reworked")


@pytest.fixture
async def month(db_settings: Settings, clock):  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    try:
        scenario = Month(build_case_service(engine, db_settings, clock), engine, clock)
        await scenario.build()
        catalog = load_catalog()
        scenario.evaluation = EvaluationService(  # type: ignore[attr-defined]
            engine, catalog, load_profiles(catalog), ZoneInfo(db_settings.working_time.timezone), clock)
        yield scenario
    finally:
        await engine.dispose()


def counts(report: Report, names: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {r.object_id: {n: r.counts[n] for n in names} for r in report.rows}


def by_name(values: dict[str, int], names: tuple[str, ...]) -> dict[str, int]:
    return dict(zip(names, values, strict=True))


async def test_department_indicators_of_the_month(month: Month) -> None:
    report = await month.evaluation.report(ObjectKind.DEPARTMENT, month.month)  # type: ignore[attr-defined]
    assert counts(report, DEPARTMENT_SETS) == {
        # A B D L R count; F (挂账) and I (not yet due at the end) do not; B is late; D reworked.
        "szs": by_name((5, 5, 4, 1, 1, 5, 5, 4, 0, 0), DEPARTMENT_SETS),
        # C still open and overdue counts against both on-time rates; E extended; L was returned to the dispatcher.
        "hws": by_name((3, 2, 2, 0, 0, 3, 2, 2, 1, 1), DEPARTMENT_SETS),
    }
    hws = next(r for r in report.rows if r.object_id == "hws")
    assert hws.name == "海盐县环境卫生管理所"
    assert hws.figures["handling_on_time_rate"].value == pytest.approx(2 / 3)
    assert hws.figures["overdue_pending_rate"].value == pytest.approx(1 / 3)


async def test_region_indicators_of_the_month(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    s1 = by_name((5, 4, 4, 4, 3, 1, 0), REGION_SETS)  # A B E I R registered (G void); R is an inspector's
    s2 = by_name((4, 4, 4, 3, 3, 0, 1), REGION_SETS)  # C D H L registered (F 挂账, K void); C overdue
    streets = await ev.report(ObjectKind.STREET, month.month)
    assert counts(streets, REGION_SETS) == {"330424001": s1, "330424002": s2}
    grids = await ev.report(ObjectKind.DUTY_GRID, month.month)
    assert counts(grids, REGION_SETS) == {"G1": s1, "G2": s2}
    cells = await ev.report(ObjectKind.CELL, month.month, indicators=["public_report_rate"])
    assert [(r.object_id, r.figures["public_report_rate"].value) for r in cells.rows] == [
        ("33042400100101", 4 / 5), ("33042400200101", 1.0)]


async def test_post_indicators_of_the_month(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    inspectors = await ev.report(ObjectKind.INSPECTOR, month.month)
    names = ("reports", "valid_reports", "verifications", "verifications_on_time", "checks", "checks_on_time")
    assert counts(inspectors, names) == {
        "inspector01": by_name((1, 1, 1, 1, 9, 8), names),  # nine checks in M (D and H twice), B's late
        "inspector02": by_name((1, 0, 1, 0, 0, 0), names),  # K: void, verified after 120 minutes
    }
    leads = await ev.report(ObjectKind.LEAD, month.month)
    assert counts(leads, ("registrations", "accurate_registrations")) == {
        "lead01": {"registrations": 11, "accurate_registrations": 10}}  # G void after 立案
    dispatchers = await ev.report(ObjectKind.DISPATCHER, month.month)
    assert counts(dispatchers, ("dispatches", "accurate_dispatches", "dispatches_on_time")) == {
        "dispatcher01": {"dispatches": 11, "accurate_dispatches": 10, "dispatches_on_time": 10}}  # L
    agents = await ev.report(ObjectKind.AGENT, month.month)
    assert counts(agents, ("acceptances", "acceptances_on_time")) == {
        "agent01": {"acceptances": 12, "acceptances_on_time": 11}}  # K accepted after 2 hours


async def test_the_next_month_sees_the_boundary_case_and_the_overdue_one(month: Month) -> None:
    report = await month.evaluation.report(ObjectKind.DEPARTMENT, month.next_month)  # type: ignore[attr-defined]
    assert counts(report, DEPARTMENT_SETS) == {
        "szs": by_name((1, 1, 1, 0, 0, 1, 1, 1, 0, 0), DEPARTMENT_SETS),  # I, dispatched last month
        "hws": by_name((1, 0, 0, 0, 0, 1, 0, 0, 0, 1), DEPARTMENT_SETS),  # C, still overdue
    }
    assert report.as_of == month.clock.now  # a running month is evaluated as of now
    found = await month.evaluation.drilldown(  # type: ignore[attr-defined]
        "handling_on_time_rate", ObjectKind.DEPARTMENT, "szs", month.next_month)
    assert found.numerator == found.denominator == month.cases("I")


async def test_drilldown_lists_are_the_counted_cases(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    found = await ev.drilldown("closing_on_time_rate", ObjectKind.DEPARTMENT, "szs", month.month)
    assert found.numerator == month.cases("A", "D", "L", "R")
    assert found.denominator == month.cases("A", "B", "D", "L", "R")
    found = await ev.drilldown("overdue_pending_rate", ObjectKind.DEPARTMENT, "hws", month.month)
    assert found.numerator == month.cases("C") and found.denominator == month.cases("C", "E", "H")
    for kind in (ObjectKind.DEPARTMENT, ObjectKind.STREET, ObjectKind.DISPATCHER, ObjectKind.INSPECTOR):
        report = await ev.report(kind, month.month)
        for row in report.rows:
            for indicator in report.indicators:
                if indicator.measures:  # attendance figures have no case lists (test_inspector_attendance.py)
                    continue
                figure = row.figures[indicator.id]
                lists = await ev.drilldown(indicator.id, kind, row.object_id, month.month)
                assert len(lists.numerator) == figure.numerator, (kind, row.object_id, indicator.id)
                assert (len(lists.denominator) if lists.denominator is not None else None) == figure.denominator


async def test_scores_under_both_profiles_and_a_changed_profile(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    jinniu = ev.profiles.get("jinniu")
    _, scores = await ev.scores(jinniu, ObjectKind.DEPARTMENT, month.month)
    # szs: 5/5×30 + 4/5×20 + (1−1/5)×20 + (1−0)×20 + (1−0)×10; hws: 2/3×30 + 2/3×20 + 20 + (1−1/3)×20 + (1−1/3)×10
    assert [(s.object_id, s.points, s.grade) for s in scores] == [("szs", 92.0, "优"), ("hws", 73.33, "中")]
    assert scores[0].profile_version == 1 and "4/5 = 80.00% × 20" in scores[0].parts[1].formula
    assert scores[1].formula.endswith("= 73.33")
    _, scores = await ev.scores(ev.profiles.get("jinhua"), ObjectKind.DEPARTMENT, month.month)
    # szs: 80 % ≥ 70 % → 50, 100 % ≥ 90 % → 20, one rework −0.2; hws: 50 − 3.33, 66.67 % < 90 % → 0
    assert [(s.object_id, s.points, s.grade) for s in scores] == [("szs", 69.8, "绿"), ("hws", 46.67, "红")]
    data = _read(EVALUATION_DIR / "profiles" / "jinniu.v1.yaml")
    data["version"] = 2
    data["rules"][0]["weight"], data["rules"][1]["weight"] = 20, 30
    changed = ProfileBook.of([*ev.profiles.profiles.values(), parse_profile(data, ev.catalog)])
    assert changed.get("jinniu").version == 2 and changed.get("jinniu", 1) == jinniu
    _, scores = await ev.scores(changed.get("jinniu"), ObjectKind.DEPARTMENT, month.month)
    assert [(s.object_id, s.points, s.profile_version) for s in scores] == [("szs", 90.0, 2), ("hws", 73.33, 2)]


async def test_several_kinds_at_once_give_the_same_figures(month: Month) -> None:
    ev = month.evaluation  # type: ignore[attr-defined]
    together = await ev.reports(list(ObjectKind), month.month)  # case facts derived once, in a temporary table
    for kind in ObjectKind:
        alone = await ev.report(kind, month.month)
        assert [(r.object_id, r.counts) for r in together[kind].rows] == [(r.object_id, r.counts) for r in alone.rows]
    assert (await ev.reports(list(ObjectKind), month.month)).keys() == set(ObjectKind)  # the table was dropped
