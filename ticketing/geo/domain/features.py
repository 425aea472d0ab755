"""Base-data objects ↔ GeoJSON features, one converter pair per kind of base data.

Feature properties use the column names of the tables; every demo feature carries `"demo": true`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ticketing.geo.domain.codes import COMPONENT_CLASSES
from ticketing.geo.domain.geometry import GeometryError, point_of
from ticketing.geo.domain.model import AddressPoint, Cell, Community, Component, DutyGrid, Road, Street

Feature = dict[str, Any]
GeoObject = Street | Community | Cell | DutyGrid | Road | AddressPoint | Component

KINDS = ("streets", "communities", "cells", "duty_grids", "roads", "addresses", "components")
KIND_NAMES = {
    "streets": "街道/镇", "communities": "社区/村", "cells": "单元网格", "duty_grids": "责任网格",
    "roads": "道路", "addresses": "地址点", "components": "部件",
}
DEMO_SUFFIX = "（演示数据）"


class FeatureError(ValueError):
    """A feature lacks a property or has one of the wrong type."""

    code = "geo.bad_feature"


def _label(name: str, demo: bool) -> str:
    return name + DEMO_SUFFIX if demo else name


def _point_geometry(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}


def to_feature(obj: GeoObject) -> Feature:
    """The GeoJSON feature of an object."""
    for kind_type, writer in _WRITERS:
        if isinstance(obj, kind_type):
            props, geometry = writer(obj)
            if obj.demo:
                props["demo"] = True
            return {"type": "Feature", "properties": props, "geometry": geometry}
    raise TypeError(f"not a geo object: {obj!r}")


def _street_props(r: Street) -> tuple[dict[str, Any], Any]:
    return {"code": r.code, "name": r.name, "label": _label(r.name, r.demo), "dept_code": r.dept_code}, r.geometry


def _community_props(r: Community) -> tuple[dict[str, Any], Any]:
    props = {"code": r.code, "name": r.name, "label": _label(r.name, r.demo), "street_code": r.street_code,
             "dept_code": r.dept_code}
    return props, r.geometry


def _cell_props(r: Cell) -> tuple[dict[str, Any], Any]:
    props = {"code": r.code, "community_code": r.community_code, "duty_grid": r.duty_grid,
             "area_m2": round(r.area_m2, 1)}
    return props, r.geometry


def _duty_props(r: DutyGrid) -> tuple[dict[str, Any], Any]:
    return {"code": r.code, "name": r.name, "label": _label(r.name, r.demo), "inspector": r.inspector}, r.geometry


def _road_props(r: Road) -> tuple[dict[str, Any], Any]:
    return {"name": r.name, "kind": r.kind, "aliases": list(r.aliases)}, r.geometry


def _address_props(r: AddressPoint) -> tuple[dict[str, Any], Any]:
    props: dict[str, Any] = {"id": r.id, "kind": r.kind, "name": r.name}
    if r.road:
        props.update(road=r.road, number=r.number)
    if r.aliases:
        props["aliases"] = list(r.aliases)
    props["cell_code"] = r.cell_code
    return props, _point_geometry(r.lon, r.lat)


def _component_props(r: Component) -> tuple[dict[str, Any], Any]:
    props = {"id": r.id, "class_code": r.class_code, "class_name": COMPONENT_CLASSES.get(r.class_code),
             "state": r.state, "authority_dept": r.authority_dept,
             "owner_dept": r.owner_dept, "maintainer_dept": r.maintainer_dept, "cell_code": r.cell_code,
             "address": r.address}
    if r.note:
        props["note"] = r.note
    return props, _point_geometry(r.lon, r.lat)


_WRITERS: tuple[tuple[type, Callable[[Any], tuple[dict[str, Any], Any]]], ...] = (
    (Street, _street_props), (Community, _community_props), (Cell, _cell_props), (DutyGrid, _duty_props),
    (Road, _road_props), (AddressPoint, _address_props), (Component, _component_props),
)


def _text(props: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = props.get(key)
    if value is None or value == "":
        if required:
            raise FeatureError(f"缺少属性“{key}”")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FeatureError(f"属性“{key}”应为文本")
    return str(value)


def _req(props: Mapping[str, Any], key: str) -> str:
    value = _text(props, key)
    assert value is not None
    return value


def _aliases(props: Mapping[str, Any]) -> tuple[str, ...]:
    value = props.get("aliases") or ()
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").split(",") if v.strip()]
    return tuple(str(v).strip() for v in value)


def _number(props: Mapping[str, Any]) -> int | None:
    value = props.get("number")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise FeatureError(f"门牌号“{value}”不是整数") from exc


def from_feature(kind: str, feature: Mapping[str, Any]) -> GeoObject:
    """The object of one feature of a kind; raise FeatureError or GeometryError when malformed."""
    if not isinstance(feature, Mapping) or not isinstance(feature.get("properties"), Mapping):
        raise FeatureError("不是带属性的GeoJSON要素")
    props = feature["properties"]
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping):
        raise GeometryError("缺少几何")
    demo = bool(props.get("demo", False))
    reader = _READERS.get(kind)
    if reader is None:
        raise FeatureError(f"未知数据类型“{kind}”")
    return reader(props, dict(geometry), demo)


def _read_street(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> Street:
    return Street(_req(p, "code"), _req(p, "name"), _text(p, "dept_code", False), g, demo)


def _read_community(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> Community:
    code = _req(p, "code")
    street = _text(p, "street_code", False) or code[:9]
    return Community(code, _req(p, "name"), street, g, _text(p, "dept_code", False), demo)


def _read_cell(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> Cell:
    code = _req(p, "code")
    community = _text(p, "community_code", False) or code[:12]
    area = float(p.get("area_m2") or 0.0)
    return Cell(code, community, g, _text(p, "duty_grid", False), area, demo)


def _read_duty(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> DutyGrid:
    return DutyGrid(_req(p, "code"), _req(p, "name"), _text(p, "inspector", False), g, demo)


def _read_road(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> Road:
    return Road(_req(p, "name"), g, _text(p, "kind", False) or "路", _aliases(p), demo)


def _read_address(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> AddressPoint:
    lon, lat = point_of(g)
    return AddressPoint(
        _req(p, "id"), _text(p, "kind", False) or "门牌", _req(p, "name"), lon, lat,
        _text(p, "road", False), _number(p), _aliases(p), _text(p, "cell_code", False), demo,
    )


def _read_component(p: Mapping[str, Any], g: dict[str, Any], demo: bool) -> Component:
    lon, lat = point_of(g)
    cid = _req(p, "id")
    return Component(
        cid, _text(p, "class_code", False) or cid[6:10], lon, lat, _text(p, "state", False) or "完好",
        _text(p, "authority_dept", False), _text(p, "owner_dept", False), _text(p, "maintainer_dept", False),
        _text(p, "cell_code", False), _text(p, "address", False), _text(p, "note", False), demo,
    )


_READERS: dict[str, Callable[[Mapping[str, Any], dict[str, Any], bool], GeoObject]] = {
    "streets": _read_street, "communities": _read_community, "cells": _read_cell, "duty_grids": _read_duty,
    "roads": _read_road, "addresses": _read_address, "components": _read_component,
}
