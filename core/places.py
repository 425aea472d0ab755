"""Facts about where a case is and what is broken there, as the dispatch decision needs them.

Produced by the geo adapters (grid cell lookup, component inventory), consumed by pure routing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PlaceFacts:
    """属地 facts of a point: the unit cell and the street/community it belongs to."""

    cell_code: str | None = None
    community_code: str | None = None
    community_name: str | None = None
    street_code: str | None = None
    street_name: str | None = None
    street_dept_code: str | None = None  # the department answering for the street (属地)
    community_dept_code: str | None = None


@dataclass(frozen=True, slots=True)
class ComponentFacts:
    """权属/养护 facts of one component (16-digit CJ/T 214 id)."""

    component_id: str
    class_code: str  # 4-digit 大类+小类, e.g. "0118" 路灯
    owner_dept_code: str | None = None  # 权属单位
    maintainer_dept_code: str | None = None  # 养护单位
    authority_dept_code: str | None = None  # 主管部门


@dataclass(frozen=True, slots=True)
class Location:
    """A resolved location of a case (WGS-84)."""

    lat: float | None
    lon: float | None
    address: str | None
    place: PlaceFacts
    confidence: float = 1.0
