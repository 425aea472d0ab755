"""Dispatch suggestion: one department with its reason, from rules data and place/component facts."""

from __future__ import annotations

from core.places import ComponentFacts, PlaceFacts
from ticketing.domain.dispatch import ResponsibleBy, ResponsibleRule, suggest_department

NAMES = {"wyjd": "海盐县武原街道办事处", "gdgs": "国网海盐县供电公司", "szs": "海盐县市政设施管理所",
         "zfj": "海盐县综合行政执法局"}
PLACE = PlaceFacts(cell_code="33042400100101", street_name="武原街道", street_dept_code="wyjd")
LAMP = ComponentFacts("3304240118000001", "0118", owner_dept_code="gdgs", maintainer_dept_code="szs")


def test_territorial_rule_names_the_street() -> None:
    s = suggest_department(ResponsibleRule(ResponsibleBy.TERRITORIAL, "zfj"), PLACE, None, NAMES)
    assert (s.department_code, s.reason) == ("wyjd", "属地: 武原街道")


def test_owner_rule_follows_the_component() -> None:
    s = suggest_department(ResponsibleRule(ResponsibleBy.OWNER, "szs"), PLACE, LAMP, NAMES)
    assert (s.department_code, s.reason) == ("gdgs", "权属: 国网海盐县供电公司")


def test_maintainer_rule_prefers_the_maintainer() -> None:
    s = suggest_department(ResponsibleRule(ResponsibleBy.MAINTAINER, "zfj"), PLACE, LAMP, NAMES)
    assert (s.department_code, s.reason) == ("szs", "养护: 海盐县市政设施管理所")


def test_without_facts_the_fallback_department_is_named_as_such() -> None:
    s = suggest_department(ResponsibleRule(ResponsibleBy.MAINTAINER, "szs"), None, None, NAMES)
    assert (s.department_code, s.basis) == ("szs", "fallback")
    assert s.reason.startswith("默认")


def test_fixed_department_rule() -> None:
    s = suggest_department(ResponsibleRule(ResponsibleBy.DEPARTMENT, "zfj"), PLACE, LAMP, NAMES)
    assert (s.department_code, s.reason) == ("zfj", "职责: 海盐县综合行政执法局")


def test_unknown_departments_are_skipped_and_none_means_no_suggestion() -> None:
    unknown = ComponentFacts("3304240118000002", "0118", owner_dept_code="gone")
    s = suggest_department(ResponsibleRule(ResponsibleBy.OWNER, "szs"), None, unknown, NAMES)
    assert s.department_code == "szs"
    assert suggest_department(ResponsibleRule(ResponsibleBy.OWNER, "gone"), None, unknown, NAMES) is None
