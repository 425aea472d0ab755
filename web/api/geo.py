"""Geo API: geocoding, reverse geocoding, point → cell, grid cells for the map, components.

Any authenticated user may read geo data. Bad coordinates or input give 400 with a Chinese message.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.places import PlaceFacts
from ticketing.geo.domain.codes import COMPONENT_CLASSES, CodeError, parse_component_id, resolve_class
from ticketing.geo.domain.features import DEMO_SUFFIX, to_feature
from ticketing.geo.domain.geocoder import Candidate
from ticketing.geo.domain.model import Component
from ticketing.geo.service import SqlGeoLocator
from web.auth import require_user
from web.errors import ApiError
from web.json import json_response
from web.keys import GEO
from web.openapi import add_routes, operation

MAX_QUERY = 200
MAX_RADIUS_M = 2000.0
MAX_BBOX_DEG2 = 0.25  # about 25 km × 25 km at Haiyan's latitude


class GeocodeQuery(BaseModel):
    q: str = Field(min_length=1, max_length=MAX_QUERY, pattern=r"\S",
                   description="地址或来电人的一句话，如“海滨东路120号”“枣园东路和城北西路交叉口”")
    limit: int = Field(5, ge=1, le=20)


class PointQuery(BaseModel):
    lat: float = Field(ge=-90, le=90, description="纬度（WGS-84）")
    lon: float = Field(ge=-180, le=180, description="经度（WGS-84）")


class CellsQuery(BaseModel):
    bbox: str | None = Field(None, description="minlon,minlat,maxlon,maxlat（WGS-84）；省略则返回全部网格")


class ComponentsQuery(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius: float = Field(50, ge=0, le=MAX_RADIUS_M, description="半径（米），最大2000")
    class_: str | None = Field(None, alias="class", description="部件类别代码（如0118）或名称（如路灯）",
                               json_schema_extra={"enum": sorted({*COMPONENT_CLASSES, *COMPONENT_CLASSES.values()})})


_SERIAL = "(?:[1-9][0-9]{5}|0[1-9][0-9]{4}|00[1-9][0-9]{3}|000[1-9][0-9]{2}|0000[1-9][0-9]|00000[1-9])"
COMPONENT_ID = {"type": "string",
                "description": "16 位部件编码：6 位县级行政区划码 + 4 位部件类别 + 6 位流水号（非 0）",
                "pattern": f"^[0-9]{{6}}(?:{'|'.join(sorted(COMPONENT_CLASSES))}){_SERIAL}$"}


def _locator(request: web.Request) -> SqlGeoLocator:
    return request.app[GEO]


def _number(request: web.Request, name: str, label: str, low: float, high: float,
            code: str = "bad_coordinate") -> float:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        raise ApiError(400, "missing_parameter", f"缺少参数{name}（{label}）")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, code, f"参数{name}（{label}）不是数字：{raw[:20]}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, code, f"参数{name}（{label}）应在{low:g}到{high:g}之间")
    return value


def _point(request: web.Request) -> tuple[float, float]:
    return _number(request, "lat", "纬度", -90, 90), _number(request, "lon", "经度", -180, 180)


def _place(facts: PlaceFacts, demo: bool) -> dict[str, Any]:
    suffix = DEMO_SUFFIX if demo else ""
    return {
        "cell_code": facts.cell_code, "community_code": facts.community_code,
        "community_name": facts.community_name, "street_code": facts.street_code,
        "street_name": facts.street_name, "street_dept_code": facts.street_dept_code,
        "community_dept_code": facts.community_dept_code,
        "label": "".join(n for n in (facts.street_name, facts.community_name) if n) + suffix if facts.street_name
        else None,
    }


async def _is_demo(locator: SqlGeoLocator, cell_code: str | None) -> bool:
    cell = (await locator.gazetteer()).cells.get(cell_code or "")
    return bool(cell and cell.demo)


async def _candidate(locator: SqlGeoLocator, c: Candidate) -> dict[str, Any]:
    g = await locator.gazetteer()
    demo = await _is_demo(locator, c.cell_code)
    return {"kind": c.kind, "label": c.label, "lat": round(c.lat, 7), "lon": round(c.lon, 7),
            "confidence": c.confidence, "matched": c.matched, "demo": demo,
            "place": _place(g.place_facts(c.cell_code), demo)}


@operation("GET", "/api/v1/geocode", summary="地理编码：地址或一句话 → 位置、单元网格、社区（按可信度排序）",
           tag="geo", query=GeocodeQuery)
async def get_geocode(request: web.Request) -> web.Response:
    await require_user(request)
    text = (request.query.get("q") or "").strip()
    if not text:
        raise ApiError(400, "empty_query", "请提供要查询的地址（参数q）")
    if len(text) > MAX_QUERY:
        raise ApiError(400, "query_too_long", f"地址过长，最多{MAX_QUERY}个字")
    limit = int(_number(request, "limit", "条数", 1, 20, "bad_limit")) if "limit" in request.query else 5
    locator = _locator(request)
    result = await locator.geocode(text, limit)
    items = [await _candidate(locator, c) for c in result.candidates]
    return json_response({"query": text, "normalized": result.parsed.text, "candidates": items})


@operation("GET", "/api/v1/reverse-geocode", summary="逆地理编码：坐标 → 最近地址、道路、社区、单元网格",
           tag="geo", query=PointQuery)
async def get_reverse(request: web.Request) -> web.Response:
    await require_user(request)
    lat, lon = _point(request)
    locator = _locator(request)
    r = await locator.reverse(lat, lon)
    demo = await _is_demo(locator, r.place.cell_code)
    nearest = {"name": r.nearest.name, "kind": r.nearest.kind, "distance_m": round(r.nearest_m or 0, 1)} \
        if r.nearest else None
    road = {"name": r.road, "distance_m": round(r.road_m or 0, 1)} if r.road else None
    return json_response({"lat": lat, "lon": lon, "address": r.address, "nearest": nearest, "road": road,
                          "place": _place(r.place, demo), "demo": demo})


@operation("GET", "/api/v1/grid/locate", summary="坐标所在的单元网格、社区、街道与责任网格", tag="geo",
           query=PointQuery, statuses={200: "OK", 404: "坐标不在任何单元网格内"})
async def get_grid_locate(request: web.Request) -> web.Response:
    await require_user(request)
    lat, lon = _point(request)
    locator = _locator(request)
    cell = await locator.cell_at(lat, lon)
    if cell is None:
        raise ApiError(404, "outside_grid", "该坐标不在已建的单元网格范围内")
    g = await locator.gazetteer()
    duty = g.duty_grids.get(cell.duty_grid or "")
    duty_view = {"code": duty.code, "name": duty.name, "inspector": duty.inspector} if duty else None
    return json_response({"cell_code": cell.code, "area_m2": cell.area_m2, "duty_grid": duty_view,
                          "place": _place(g.place_facts(cell.code), cell.demo), "demo": cell.demo})


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ApiError(400, "bad_bbox", "bbox应为4个数字：最小经度,最小纬度,最大经度,最大纬度")
    x0, y0, x1, y1 = values
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ApiError(400, "bad_bbox", "bbox超出经纬度范围，或最小值不小于最大值")
    if (x1 - x0) * (y1 - y0) > MAX_BBOX_DEG2:
        raise ApiError(400, "bbox_too_large", "bbox范围过大，请缩小地图范围后再查询")
    return x0, y0, x1, y1


@operation("GET", "/api/v1/grid/cells", summary="单元网格（GeoJSON要素集），可按bbox筛选", tag="geo",
           query=CellsQuery)
async def get_grid_cells(request: web.Request) -> web.Response:
    await require_user(request)
    box = _bbox(request.query.get("bbox"))
    locator = _locator(request)
    cells = await locator.cells_in(box) if box else list((await locator.gazetteer()).cells.values())
    features = [to_feature(c) for c in cells]
    return json_response({"type": "FeatureCollection", "features": features,
                          "demo": any(c.demo for c in cells)})


def _component(c: Component, distance: float | None = None) -> dict[str, Any]:
    view = {"id": c.id, "class_code": c.class_code, "class_name": COMPONENT_CLASSES.get(c.class_code),
            "state": c.state, "lat": c.lat, "lon": c.lon, "authority_dept": c.authority_dept,
            "owner_dept": c.owner_dept, "maintainer_dept": c.maintainer_dept, "cell_code": c.cell_code,
            "address": c.address, "note": c.note, "demo": c.demo}
    if distance is not None:
        view["distance_m"] = round(distance, 1)
    return view


@operation("GET", "/api/v1/components", summary="坐标附近的部件（可按类别筛选），由近到远", tag="geo",
           query=ComponentsQuery)
async def get_components(request: web.Request) -> web.Response:
    await require_user(request)
    lat, lon = _point(request)
    radius = 50.0
    if "radius" in request.query:
        radius = _number(request, "radius", "半径（米）", 0, MAX_RADIUS_M, "bad_radius")
    class_code = None
    if request.query.get("class"):
        try:
            class_code = resolve_class(request.query["class"])
        except CodeError as exc:
            raise ApiError(400, "unknown_class", str(exc)) from None
    found = await _locator(request).components_near(lat, lon, class_code=class_code, radius_m=radius, limit=50)
    return json_response({"items": [_component(c, d) for d, c in found]})


@operation("GET", "/api/v1/components/{id}", summary="部件详情（主管、权属、养护单位）", tag="geo",
           path_params={"id": COMPONENT_ID}, statuses={200: "OK", 400: "部件编码格式不对", 404: "没有这个部件"})
async def get_component(request: web.Request) -> web.Response:
    await require_user(request)
    component_id = request.match_info["id"]
    try:
        parse_component_id(component_id)
    except CodeError as exc:
        raise ApiError(400, "bad_component_id", str(exc)) from None
    found = await _locator(request).component_object(component_id)
    if found is None:
        raise ApiError(404, "component_not_found", f"没有编码为{component_id}的部件")
    return json_response(_component(found))


def setup(app: web.Application) -> None:
    """Register the geo routes (app[GEO] is the case service's locator: one in-memory index)."""
    add_routes(app, get_geocode, get_reverse, get_grid_locate, get_grid_cells, get_components, get_component)
