"""The inspector's phone API (城管通, /api/v1/inspector/...): home, tasks, reports and answers sent exactly
once (Idempotency-Key) with their photos in one multipart request, duty and positions, and the lead's views.

A report or an answer is one multipart/form-data request: a `data` field (JSON) and the photos as files. The
phone keeps the submission (photos included) in IndexedDB until the server has answered, and resends it with
the same `Idempotency-Key` header; the server answers a resend with what it answered the first time and
stores nothing twice. Photos are checked by content (web/api/photos.py); if anything in the request is
refused, the photos stored for it are removed again: nothing is half-saved.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from core import pinyin
from core.accounts import User
from core.tables import users
from ticketing.domain.model import Role
from ticketing.geo.domain.features import to_feature
from ticketing.geo.domain.geometry import M_PER_DEG_LAT, m_per_deg_lon, polygons_of
from ticketing.inspection.service import Answer, InspectorService, Submitted
from ticketing.services import NewCase
from web.api.photos import MAX_PHOTO_BYTES, PhotoTooLarge, photo_folder, save_photo
from web.auth import require_user
from web.errors import ApiError, parse_body, validate
from web.json import json_response
from web.keys import CASES, ENGINE, GEO
from web.openapi import add_routes, operation
from web.tables import photos

INSPECTOR = (Role.INSPECTOR,)
LEADS = (Role.LEAD, Role.DISPATCHER, Role.ADMIN)
MAX_PHOTOS = 9
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SERVICE = web.AppKey("inspector_service", InspectorService)


class ReportBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    category_code: str = Field(pattern=r"^[12]\d{4}$", description="小类代码，如 10102 污水井盖")
    description: str = Field(min_length=1, max_length=4000)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=100000, description="定位精度（米）；在地图上选点时为空")
    address: str | None = Field(None, max_length=200)
    component_id: str | None = Field(None, pattern=r"^\d{16}$")
    register_now: bool = Field(False, description="监督员确认符合立案条件（仅对配置为可直接立案的小类生效）")


class AnswerBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    case_no: str = Field(pattern=r"^\d{12}$")
    command: Literal["report_verified", "check_pass", "check_fail"]
    version: int | None = Field(None, ge=1, description="手机上看到的案件版本；为空则只看任务是否仍待反馈")
    notes: str | None = Field(None, max_length=2000)
    confirmed: bool | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=100000)


class DutyBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    action: Literal["start", "end"]


class PositionBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=100000)


class PointQuery(BaseModel):
    lat: float | None = None
    lon: float | None = None


class DayQuery(BaseModel):
    username: str | None = Field(None, max_length=64)
    day: date | None = Field(None, alias="date", description="日期（默认今天）")


def service(app: web.Application) -> InspectorService:
    return app[SERVICE]


def _point(request: web.Request) -> tuple[float | None, float | None]:
    try:
        lat, lon = float(request.query["lat"]), float(request.query["lon"])
    except (KeyError, ValueError):
        return None, None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else (None, None)


# --- home, map, categories, tasks ------------------------------------------------------------------------


@operation(
    "GET",
    "/api/v1/inspector/home",
    summary="城管通首页：我的任务、上岗状态、今日数据、设置",
    tag="inspector",
    query=PointQuery,
    roles=("inspector",),
)
async def get_home(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    lat, lon = _point(request)
    svc = service(request.app)
    settings = request.app[CASES].settings.cases.inspection
    today = await svc.day(user.username)
    return json_response(
        {
            "me": {"username": user.username, "display_name": user.display_name},
            "duty": await svc.duty(user.username),
            "tasks": await svc.tasks(user.username, lat, lon),
            "today": {k: today[k] for k in ("reports", "answers", "answers_on_time", "on_duty_minutes")},
            "settings": {
                "far_m": settings.far_m,
                "position_interval_s": settings.position_interval_s,
                "check_photos_required": settings.check_photos_required,
                "verification_photos_required": settings.verification_photos_required,
                "register_directly": list(settings.register_directly),
                "max_photos": MAX_PHOTOS,
                "max_photo_mb": MAX_PHOTO_BYTES // (1024 * 1024),
            },
        }
    )


@operation(
    "GET",
    "/api/v1/inspector/tasks",
    summary="我的核实、核查任务（含待领取池），按期限排序",
    tag="inspector",
    query=PointQuery,
    roles=("inspector",),
)
async def get_tasks(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    lat, lon = _point(request)
    return json_response({"items": await service(request.app).tasks(user.username, lat, lon)})


@operation(
    "GET",
    "/api/v1/inspector/map",
    summary="我的责任网格及其单元网格（GeoJSON），供手机地图离线使用",
    tag="inspector",
    roles=("inspector",),
)
async def get_map(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    g = await request.app[GEO].gazetteer()
    grids = [d for d in g.duty_grids.values() if d.inspector == user.username]
    codes = {d.code for d in grids}
    cells = [to_feature(c) for c in g.cells.values() if c.duty_grid in codes]
    grid_features = [
        {"type": "Feature", "geometry": d.geometry, "properties": {"code": d.code, "name": d.name, "demo": d.demo}}
        for d in grids
    ]
    response = json_response(
        {
            "duty_grids": {"type": "FeatureCollection", "features": grid_features},
            "cells": {"type": "FeatureCollection", "features": cells},
            "area": await request.app[GEO].service_area(),
        }
    )
    response.enable_compression()
    return response


OFFLINE_RADIUS_M = 60.0  # nearby components are offered within this distance (as online: /api/v1/components)
MAX_OFFLINE_COMPONENTS = 20_000  # bounds what a phone stores: a duty grid holds a few hundred to a few thousand


@operation(
    "GET",
    "/api/v1/inspector/components",
    summary="责任网格内（及其边缘 60 米内）的部件，供手机离线选择附近部件",
    tag="inspector",
    roles=("inspector",),
)
async def get_offline_components(request: web.Request) -> web.Response:
    """The components the phone may offer offline: those within the inspector's duty grid's cells (their
    bounding box widened by the offering radius, so a cover just across the grid's edge is still offered),
    as compact rows [id, class_code, lat, lon, address]. The phone fetches this after it is interactive
    and keeps it (service worker cache); the server still snaps and checks everything at submission."""
    user = await require_user(request, *INSPECTOR)
    g = await request.app[GEO].gazetteer()
    codes = {d.code for d in g.duty_grids.values() if d.inspector == user.username}
    points = [pt for c in g.cells.values() if c.duty_grid in codes
              for poly in polygons_of(c.geometry) for pt in poly[0]]
    items: list[list[Any]] = []
    if points:
        lat_pad = OFFLINE_RADIUS_M / M_PER_DEG_LAT
        lo_lat, hi_lat = min(p[1] for p in points) - lat_pad, max(p[1] for p in points) + lat_pad
        lon_pad = OFFLINE_RADIUS_M / m_per_deg_lon(max(abs(lo_lat), abs(hi_lat)))
        lo_lon, hi_lon = min(p[0] for p in points) - lon_pad, max(p[0] for p in points) + lon_pad
        items = [[c.id, c.class_code, round(c.lat, 7), round(c.lon, 7), c.address or ""]
                 for c in g.components.values() if lo_lat <= c.lat <= hi_lat and lo_lon <= c.lon <= hi_lon]
        items.sort()
    response = json_response({"radius_m": OFFLINE_RADIUS_M, "items": items[:MAX_OFFLINE_COMPONENTS],
                              "truncated": len(items) > MAX_OFFLINE_COMPONENTS})
    response.enable_compression()
    return response


@operation(
    "GET",
    "/api/v1/inspector/categories",
    summary="小类（含拼音与首字母），供手机离线检索",
    tag="inspector",
    roles=("inspector",),
)
async def get_categories(request: web.Request) -> web.Response:
    await require_user(request, *INSPECTOR)
    reference = await request.app[CASES].reference()
    items = [
        [
            c.code,
            c.name,
            c.major_name,
            c.kind,
            "".join(pinyin.phrase(c.name, han_only=True)),
            pinyin.initials(c.name),
            c.register_condition,
        ]
        for c in sorted(reference.categories.values(), key=lambda c: c.code)
        if c.active
    ]
    response = json_response(
        {"fields": ["code", "name", "major", "kind", "pinyin", "initials", "register"], "items": items}
    )
    response.enable_compression()
    return response


# --- reports and answers (multipart, exactly once) ------------------------------------------------------


def _key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not KEY.match(key):
        raise ApiError(
            400,
            "idempotency_key_required",
            "缺少或无效的 Idempotency-Key 请求头（8–64 位字母、数字、- 或 _，每次提交一个）",
        )
    return key


async def _multipart(request: web.Request) -> tuple[Any, list[bytes]]:
    """The JSON `data` field and the uploaded files of a multipart body (each file cut off at the limit)."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(415, "multipart_required", "请以 multipart/form-data 提交（字段 data 为 JSON，照片为文件）")
    reader = await request.multipart()
    data: Any = None
    files: list[bytes] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is None and part.name == "data":
            try:
                data = json.loads(await part.text())
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ApiError(400, "malformed_json", "字段 data 不是合法的 JSON") from exc
            continue
        if part.filename is None:
            continue
        if len(files) >= MAX_PHOTOS:
            raise ApiError(422, "too_many_files", f"一次最多上传 {MAX_PHOTOS} 张照片")
        buffer = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            buffer += chunk
            if len(buffer) > MAX_PHOTO_BYTES:
                raise PhotoTooLarge(f"单张照片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB，请重新拍摄或压缩")
        files.append(bytes(buffer))
    if data is None:
        raise ApiError(400, "missing_data", "缺少字段 data（JSON）")
    return data, files


async def _discard(app: web.Application, ids: list[str]) -> None:
    """Remove photos stored for a request that was then refused (rows and files)."""
    if not ids:
        return
    async with app[ENGINE].begin() as conn:
        rows = (await conn.execute(select(photos.c.id, photos.c.content_type).where(photos.c.id.in_(ids)))).all()
        await conn.execute(delete(photos).where(photos.c.id.in_(ids)))
    for row in rows:
        folder = photo_folder(app, row.id)
        for path in folder.glob(f"{row.id}.*"):
            path.unlink(missing_ok=True)


async def _with_photos(request: web.Request, user: User, files: list[bytes], submit: Any) -> Submitted:
    stored: list[str] = []
    try:
        for data in files:
            stored.append((await save_photo(request.app, user, data)).id)
        done: Submitted = await submit(tuple(stored))
    except BaseException:  # refused (or cancelled): the photos stored for this request go again
        await _discard(request.app, stored)
        raise
    if done.replayed:  # a concurrent send with the same key won: its photos are the ones kept
        await _discard(request.app, stored)
    return done


def _answer(done: Submitted) -> web.Response:
    return json_response({**done.body, "replayed": done.replayed}, status=done.status)


@operation(
    "POST",
    "/api/v1/inspector/reports",
    summary="巡查上报（multipart：data 为 JSON，附照片；Idempotency-Key 保证只建一次）",
    tag="inspector",
    roles=("inspector",),
    statuses={201: "已上报：案件编号、状态、单元网格", 200: "重复提交：返回第一次的结果"},
)
async def post_report(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    key = _key(request)
    svc = service(request.app)
    if (done := await svc.previous(user.username, key)) is not None:
        return _answer(done)
    raw, files = await _multipart(request)
    body = validate(ReportBody, raw)

    async def submit(ids: tuple[str, ...]) -> Submitted:
        new = NewCase(
            "inspector",
            body.description,
            body.category_code,
            address=body.address,
            lat=body.lat,
            lon=body.lon,
            component_id=body.component_id,
            photos=ids,
        )
        return await svc.report(user.actor, key, new, register=body.register_now)

    return _answer(await _with_photos(request, user, files, submit))


@operation(
    "POST",
    "/api/v1/inspector/answers",
    summary="核实/核查现场反馈（multipart：data 为 JSON，附照片与定位；幂等）",
    tag="inspector",
    roles=("inspector",),
    statuses={200: "已反馈（或重复提交：第一次的结果）"},
)
async def post_answer(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    key = _key(request)
    svc = service(request.app)
    if (done := await svc.previous(user.username, key)) is not None:
        return _answer(done)
    raw, files = await _multipart(request)
    body = validate(AnswerBody, raw)

    async def submit(ids: tuple[str, ...]) -> Submitted:
        return await svc.answer(
            user.actor,
            key,
            Answer(
                body.case_no,
                body.command,
                body.version,
                body.notes,
                body.confirmed,
                ids,
                body.lat,
                body.lon,
                body.accuracy,
            ),
        )

    return _answer(await _with_photos(request, user, files, submit))


# --- duty and positions ---------------------------------------------------------------------------------


@operation(
    "POST", "/api/v1/inspector/duty", summary="上岗 / 下岗", tag="inspector", body=DutyBody, roles=("inspector",)
)
async def post_duty(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    body = await parse_body(request, DutyBody)
    svc = service(request.app)
    state = await (svc.start_duty(user.username) if body.action == "start" else svc.end_duty(user.username))
    return json_response(state)


@operation(
    "POST",
    "/api/v1/inspector/positions",
    summary="上岗期间的定位（下岗时拒收）",
    tag="inspector",
    body=PositionBody,
    roles=("inspector",),
    statuses={201: "已记录"},
)
async def post_position(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR)
    body = await parse_body(request, PositionBody)
    stored = await service(request.app).position(user.username, body.lat, body.lon, body.accuracy)
    return json_response(stored, status=201)


@operation(
    "GET",
    "/api/v1/inspector/positions/latest",
    summary="在岗监督员的最新位置（监督指挥地图）",
    tag="inspector",
    roles=tuple(r.value for r in LEADS),
)
async def get_latest_positions(request: web.Request) -> web.Response:
    await require_user(request, *LEADS)
    return json_response({"items": await service(request.app).last_positions()})


@operation(
    "GET",
    "/api/v1/inspector/day",
    summary="监督员的一天：轨迹、在岗时长、上报、按期反馈、距离过远的反馈",
    tag="inspector",
    query=DayQuery,
    roles=("inspector", *(r.value for r in LEADS)),
)
async def get_day(request: web.Request) -> web.Response:
    user = await require_user(request, *INSPECTOR, *LEADS)
    query = validate(DayQuery, dict(request.query))
    username = query.username or user.username
    if user.role is Role.INSPECTOR and username != user.username:
        raise ApiError(403, "forbidden", "监督员只能查看本人的轨迹与数据")
    return json_response(await service(request.app).day(username, query.day))


@operation(
    "GET",
    "/api/v1/inspector/inspectors",
    summary="全部监督员今日概况（值班长）",
    tag="inspector",
    roles=tuple(r.value for r in LEADS),
)
async def get_inspectors(request: web.Request) -> web.Response:
    await require_user(request, *LEADS)
    return json_response({"items": await inspectors_today(request.app)})


DAY_FIGURES = ("on_duty_minutes", "patrol_km", "reports", "reports_per_duty_hour", "answers", "answers_on_time")


async def inspectors_today(app: web.Application) -> list[dict[str, Any]]:
    async with app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(users.c.username, users.c.display_name)
                .where(users.c.role == Role.INSPECTOR.value, users.c.active.is_(True))
                .order_by(users.c.username)
            )
        ).all()
    svc = service(app)
    out = []
    for row in rows:
        day = await svc.day(row.username)
        duty = await svc.duty(row.username)
        out.append(
            {
                "username": row.username,
                "display_name": row.display_name,
                "on_duty": duty["on_duty"],
                **{k: day[k] for k in DAY_FIGURES},
                "flagged": len(day["flagged"]),
                "trail_points": len(day["trail"]),
            }
        )
    return out


def setup(app: web.Application) -> None:
    app[SERVICE] = InspectorService(app[CASES])
    add_routes(
        app,
        get_home,
        get_tasks,
        get_map,
        get_offline_components,
        get_categories,
        post_report,
        post_answer,
        post_duty,
        post_position,
        get_latest_positions,
        get_day,
        get_inspectors,
    )
