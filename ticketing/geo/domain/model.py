"""Objects of the base data: streets, communities, unit cells, duty grids, roads, addresses, components.

Geometries are GeoJSON geometry mappings in WGS-84 (lon, lat); they are excluded from equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Geometry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Street:
    """街道/镇 (9-digit code) and the department answering for it (属地)."""

    code: str
    name: str
    dept_code: str | None
    geometry: Geometry = field(compare=False, repr=False)
    demo: bool = False


@dataclass(frozen=True, slots=True)
class Community:
    """社区/村 (12-digit code)."""

    code: str
    name: str
    street_code: str
    geometry: Geometry = field(compare=False, repr=False)
    dept_code: str | None = None
    demo: bool = False


@dataclass(frozen=True, slots=True)
class Cell:
    """A unit grid cell (万米单元网格); `duty_grid` is the 责任网格 code it belongs to."""

    code: str
    community_code: str
    geometry: Geometry = field(compare=False, repr=False)
    duty_grid: str | None = None
    area_m2: float = 0.0
    demo: bool = False

    @property
    def street_code(self) -> str:
        return self.community_code[:9]


@dataclass(frozen=True, slots=True)
class DutyGrid:
    """A 责任网格: cells one inspector patrols."""

    code: str
    name: str
    inspector: str | None
    geometry: Geometry = field(compare=False, repr=False)
    demo: bool = False


@dataclass(frozen=True, slots=True)
class Road:
    """A named road; numbers increase from the start of its first line, odd on the left, even on the right."""

    name: str
    geometry: Geometry = field(compare=False, repr=False)
    kind: str = "路"
    aliases: tuple[str, ...] = ()
    demo: bool = False


ADDRESS_KINDS = ("门牌", "地标", "小区")


@dataclass(frozen=True, slots=True)
class AddressPoint:
    """A gazetteer entry: a door plate (road + number), a landmark or a residential compound."""

    id: str
    kind: str  # one of ADDRESS_KINDS
    name: str  # display name: 海滨东路120号, 绮园, 枣园小区
    lon: float
    lat: float
    road: str | None = None
    number: int | None = None
    aliases: tuple[str, ...] = ()
    cell_code: str | None = None
    demo: bool = False


@dataclass(frozen=True, slots=True)
class Component:
    """A component (部件) with its 主管/权属/养护 departments."""

    id: str
    class_code: str
    lon: float
    lat: float
    state: str = "完好"
    authority_dept: str | None = None
    owner_dept: str | None = None
    maintainer_dept: str | None = None
    cell_code: str | None = None
    address: str | None = None
    note: str | None = None
    demo: bool = False
