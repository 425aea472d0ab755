"""Dispatch suggestion: which single department should handle a case, and why.

A pure decision over rules data: the category's `responsible` rule (by maintainer, owner, authority,
territory or a fixed department), the facts of the place (属地) and of the broken component (权属/养护).
The principle is 属地管理、责随权走、责任主体唯一: exactly one department, with the reason shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.places import ComponentFacts, PlaceFacts


class ResponsibleBy(StrEnum):
    MAINTAINER = "maintainer"  # 养护单位
    OWNER = "owner"  # 权属单位
    AUTHORITY = "authority"  # 主管部门
    TERRITORIAL = "territorial"  # 属地
    DEPARTMENT = "department"  # fixed department (职责)


@dataclass(frozen=True, slots=True)
class ResponsibleRule:
    by: ResponsibleBy
    department: str | None  # the fixed department, or the fallback when the facts name none


@dataclass(frozen=True, slots=True)
class Suggestion:
    department_code: str
    reason: str  # e.g. "属地: 武原街道" or "权属: 国网海盐县供电公司"
    basis: str  # which rule decided: maintainer | owner | authority | territorial | department | fallback


_LABEL = {"maintainer": "养护", "owner": "权属", "authority": "主管", "territorial": "属地", "department": "职责"}


def suggest_department(
    rule: ResponsibleRule,
    place: PlaceFacts | None,
    component: ComponentFacts | None,
    department_names: Mapping[str, str],
) -> Suggestion | None:
    """Suggest one department for a case; None when neither the facts nor the rule name a known one."""
    for basis, code in _candidates(rule, place, component):
        if code and code in department_names:
            name = department_names[code]
            if basis == "territorial" and place is not None and place.street_name:
                name = place.street_name
            label = _LABEL.get(basis, "默认")
            return Suggestion(code, f"{label}: {name}", basis)
    return None


def _candidates(rule: ResponsibleRule, place: PlaceFacts | None,
                component: ComponentFacts | None) -> list[tuple[str, str | None]]:
    comp = component
    by_fact = {
        ResponsibleBy.MAINTAINER: [("maintainer", comp and comp.maintainer_dept_code),
                                   ("owner", comp and comp.owner_dept_code)],
        ResponsibleBy.OWNER: [("owner", comp and comp.owner_dept_code),
                              ("maintainer", comp and comp.maintainer_dept_code)],
        ResponsibleBy.AUTHORITY: [("authority", comp and comp.authority_dept_code)],
        ResponsibleBy.TERRITORIAL: [("territorial", place and place.street_dept_code)],
        ResponsibleBy.DEPARTMENT: [],
    }[rule.by]
    fixed_basis = "department" if rule.by is ResponsibleBy.DEPARTMENT else "fallback"
    return [*by_fact, (fixed_basis, rule.department)]
