"""Agent-console API: category search (name, pinyin, code), nearby duplicates, caller history, the agent's
softphone and state, and the vector layers the browser map draws (/api/v1/console/..., /api/v1/map/...)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from callcenter.acd import EndWrapUp, IllegalAgentCommand, LogIn, LogOut, SetNotReady, SetReady
from callcenter.agent_sessions import AGENT_SESSIONS, SqlAgentSessions
from callcenter.call_queries import caller_history
from callcenter.control import CallControl
from callcenter.domain.agent_session import ExtensionInUse
from callcenter.legs import TelephonyError
from callcenter.provisioning import webrtc_account
from core import pinyin
from core.accounts import User
from core.privacy import FULL_NUMBER_ROLES
from ticketing.db.tables import cases
from ticketing.domain.model import Role, State
from ticketing.geo.domain.geometry import M_PER_DEG_LAT, M_PER_DEG_LON_EQ, distance_m, m_per_deg_lon
from ticketing.queries import CaseFilter, ViewContext, iso, list_cases, summary
from ticketing.reference import ReferenceData
from web.auth import require_user
from web.errors import ApiError, parse_body
from web.extensions import check_extension
from web.json import json_response
from web.keys import CASES, CLOCK, ENGINE, RUNNING, SETTINGS
from web.openapi import add_routes, operation

STAFF = ("agent", "lead", "dispatcher", "admin")
PHONE_ROLES = tuple(sorted(r.value for r in FULL_NUMBER_ROLES - {Role.SYSTEM}))  # core/privacy.py
OPEN_STATES = tuple(s.value for s in State if s not in (State.CLOSED, State.INVALID))
NOT_READY_REASONS = {"break": "小休", "training": "培训", "meeting": "会议", "meal": "用餐"}
_CATEGORY_INDEX = web.AppKey("category_index", dict[int, list["CategoryEntry"]])


# ---- category search ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryEntry:
    code: str
    name: str
    major_name: str
    kind_label: str
    pinyin: str  # toneless, no spaces: "ludeng"
    initials: str  # "ld"


def category_index(reference: ReferenceData) -> list[CategoryEntry]:
    entries = []
    for c in sorted(reference.categories.values(), key=lambda c: c.code):
        if c.active:
            entries.append(CategoryEntry(c.code, c.name, c.major_name, c.kind_label,
                                         "".join(pinyin.phrase(c.name, han_only=True)), pinyin.initials(c.name)))
    return entries


def rank_category(entry: CategoryEntry, q: str) -> int | None:
    """Lower is better; None when the query does not match. Codes first, then names, then pinyin."""
    checks = ((entry.code == q, 0), (entry.code.startswith(q), 1), (entry.name == q, 2),
              (entry.name.startswith(q), 3), (q in entry.name, 4), (entry.initials.startswith(q), 5),
              (entry.pinyin.startswith(q), 6), (q in entry.pinyin, 7), (q in entry.initials, 8),
              (q in entry.major_name, 9))
    return next((rank for hit, rank in checks if hit), None)


def search_categories(entries: list[CategoryEntry], query: str, limit: int) -> list[CategoryEntry]:
    q = "".join(query.lower().split())
    ranked = [(r, e.initials != q, len(e.name), e.code, e) for e in entries
              if (r := rank_category(e, q)) is not None]
    return [t[-1] for t in sorted(ranked, key=lambda t: t[:4])[:limit]]


PHONE_PATTERN = r"^\+?[0-9-]*[0-9][0-9-]*$"


class CategorySearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=40, pattern=r"\S", description="类别名称、拼音、首字母或代码")
    limit: int = Field(10, ge=1, le=50)


class DuplicatesQuery(BaseModel):
    category: str = Field(pattern=r"^[0-9]{5}$", description="5 位类别代码")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius: int = Field(200, ge=1, le=2000, description="半径（米）")


class CallerQuery(BaseModel):
    phone: str = Field(max_length=32, pattern=PHONE_PATTERN, description="来电号码")
    call_id: str | None = Field(None, max_length=64, description="正在接听的通话（不算作历史）")


@operation("GET", "/api/v1/categories/search", summary="类别检索（名称、拼音、首字母或代码）", tag="console",
           query=CategorySearchQuery)
async def get_category_search(request: web.Request) -> web.Response:
    await require_user(request)
    query = request.query.get("q", "").strip()
    if not query:
        raise ApiError(400, "empty_query", "请输入类别名称、拼音或代码")
    if len(query) > 40:
        raise ApiError(400, "query_too_long", "检索词过长（最多 40 个字符）")
    reference = await request.app[CASES].reference()
    cache = request.app[_CATEGORY_INDEX]
    entries = cache.get(id(reference))
    if entries is None:
        cache.clear()
        entries = cache[id(reference)] = category_index(reference)
    items = [{"code": e.code, "name": e.name, "major_name": e.major_name, "kind": e.kind_label,
              "pinyin": e.pinyin} for e in search_categories(entries, query, _int(request, "limit", 10, 1, 50))]
    return json_response({"items": items})


# ---- duplicates and caller history --------------------------------------------------------------------
def _number(request: web.Request, name: str, low: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        raise ApiError(400, "missing_parameter", f"缺少参数 {name}")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "bad_coordinate", f"参数 {name} 不是数值") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, "bad_coordinate", f"参数 {name} 超出范围")
    return value


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"bad_{name}", f"参数 {name} 应为 {low}–{high} 的整数")
    return int(raw)


async def _context(request: web.Request) -> ViewContext:
    service = request.app[CASES]
    return ViewContext(await service.reference(), await service.calendar(), service.clock())


@operation("GET", "/api/v1/console/duplicates", summary="附近同类未结案件（疑似重复）", tag="console",
           roles=STAFF, query=DuplicatesQuery)
async def get_duplicates(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    category = request.query.get("category", "")
    if not re.fullmatch(r"[0-9]{5}", category):
        raise ApiError(400, "bad_category", "参数 category 应为 5 位类别代码")
    lat, lon = _number(request, "lat", -90, 90), _number(request, "lon", -180, 180)
    radius = _int(request, "radius", 200, 1, 2000)
    dlat = radius / M_PER_DEG_LAT
    dlon = radius / max(m_per_deg_lon(lat), M_PER_DEG_LON_EQ * 0.01)
    c = cases.c
    stmt = (select(cases).where(c.category_code == category, c.state.in_(OPEN_STATES),
                                c.lat.between(lat - dlat, lat + dlat), c.lon.between(lon - dlon, lon + dlon))
            .limit(200))
    ctx = await _context(request)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    found = sorted(((distance_m((lon, lat), (r["lon"], r["lat"])), r) for r in rows), key=lambda t: t[0])
    items = [{**summary(r, user.actor, ctx), "distance_m": round(d)} for d, r in found if d <= radius][:10]
    return json_response({"items": items, "radius_m": radius})


@operation("GET", "/api/v1/console/caller", summary="来电历史（同一号码的通话与案件）", tag="console",
           roles=PHONE_ROLES, query=CallerQuery)
async def get_caller(request: web.Request) -> web.Response:
    user = await require_user(request, *PHONE_ROLES)
    phone = request.query.get("phone", "").strip()
    if len(phone) > 32 or not re.fullmatch(PHONE_PATTERN, phone):
        raise ApiError(400, "bad_phone", "参数 phone 应为电话号码")
    current = request.query.get("call_id", "")  # the call being answered is not an earlier one
    ctx = await _context(request)
    rows = await caller_history(request.app[ENGINE], phone, current)
    async with request.app[ENGINE].connect() as conn:
        found = await list_cases(conn, CaseFilter(phone=phone, per_page=10), user.actor, ctx)
    history = [{"call_id": r["id"], "arrived_at": iso(r["arrived_at"], ctx.calendar),
                "outcome": r["outcome"], "agent_id": r["agent_id"], "dtmf_path": r["dtmf_path"],
                "case_no": r["case_no"], "description_recording": r["description_recording"]} for r in rows]
    return json_response({"phone": phone, "calls": history, "cases": found["items"], "case_total": found["total"],
                          "repeat": bool(history) or found["total"] > 0})


@operation("GET", "/api/v1/console/my-cases", summary="本人近期登记的案件", tag="console", roles=STAFF)
async def get_my_cases(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    ctx = await _context(request)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(cases).where(cases.c.created_by == user.username)
                                   .order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(15))).mappings().all()
    return json_response({"items": [summary(r, user.actor, ctx) for r in rows]})


# ---- the agent: extension, softphone, state -------------------------------------------------------------
class AgentActionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["login", "logout", "ready", "not_ready", "end_wrap_up"]
    extension: str = Field(pattern=r"^\d{2,8}$")
    reason: Literal["break", "training", "meeting", "meal"] = "break"


def _runtime(request: web.Request) -> CallControl | None:
    return request.app[RUNNING].call_control


async def agent_status(request: web.Request, user: User, extension: str | None) -> dict[str, Any]:
    runtime = _runtime(request)
    settings = request.app[SETTINGS]
    extensions = list(settings.telephony.agent_extensions)
    status: dict[str, Any] = {
        "username": user.username, "display_name": user.display_name, "role": user.role.value,
        "extension": extension, "extensions": extensions, "telephony": runtime is not None,
        "registration": None, "state": None, "reason": None, "call_id": None,
        "reasons": NOT_READY_REASONS,
        "webrtc": runtime is not None and settings.telephony.webrtc is not None,
    }
    if runtime is None or not extension:
        return status
    try:
        status["registration"] = await runtime.registration(extension)
    except Exception:  # Asterisk unreachable or endpoint unknown: say so rather than fail the page.
        status["registration"] = "unknown"
    agent = runtime.agent(extension)
    if agent is not None:
        status.update(state=agent.state, reason=agent.reason, call_id=agent.call_id)
    return status


@operation("GET", "/api/v1/console/webrtc", summary="浏览器话机的 SIP 账号（仅限本人已签入的分机）", tag="console",
           roles=("agent", "lead"),
           statuses={200: "WSS 地址、SIP URI 与密码", 403: "不是本人的分机", 404: "未启用浏览器话机",
                     409: "尚未签入分机"})
async def get_webrtc(request: web.Request) -> web.Response:
    """Credentials only for the extension this user holds (signed in from the console), checked by the same
    rule as every other extension action (web/extensions.py); answers are never cached (/api/)."""
    user = await require_user(request, "agent", "lead")
    tel = request.app[SETTINGS].telephony
    if not tel.enabled or tel.webrtc is None:
        raise ApiError(404, "webrtc_off", "未启用浏览器话机")
    sessions = request.app[AGENT_SESSIONS]
    await sessions.load()
    extension = sessions.extension_of(user.username)
    if extension is None:
        raise ApiError(409, "not_signed_in", "请先签入分机")
    await check_extension(request, user, extension, "control")
    account = webrtc_account(tel, extension)
    if account is None:
        raise ApiError(404, "webrtc_off", "该分机没有浏览器话机")
    return json_response({"extension": account.extension, "ws_url": account.ws_url, "uri": account.uri,
                          "authorization_user": account.authorization_user, "password": account.password,
                          "display_name": account.display_name, "ice_networks": list(account.ice_networks)})


async def _default_extension(request: web.Request, user: User) -> str | None:
    """The extension the user signed in from the console (durable agent sessions), else the account's."""
    sessions = request.app[AGENT_SESSIONS]
    await sessions.load()
    return sessions.extension_of(user.username) or user.extension


@operation("GET", "/api/v1/console/agent", summary="坐席状态与软电话注册状态", tag="console", roles=STAFF)
async def get_agent(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    return json_response(await agent_status(request, user, await _default_extension(request, user)))


@operation("POST", "/api/v1/console/agent", summary="坐席签入/签出、就绪、未就绪（原因）、结束整理",
           tag="console", body=AgentActionBody, roles=("agent", "lead"),
           statuses={200: "坐席状态", 403: "不是本人的分机", 409: "分机已被他人签入或状态不允许"})
async def post_agent(request: web.Request) -> web.Response:
    user = await require_user(request, "agent", "lead")
    body = await parse_body(request, AgentActionBody)
    sessions = request.app[AGENT_SESSIONS]
    await sessions.load()
    await check_extension(request, user, body.extension, "login" if body.action == "login" else "control")
    if body.action == "login":
        try:
            sessions.check_sign_in(body.extension, user.username)
        except ExtensionInUse as exc:
            raise ApiError(409, exc.code, str(exc)) from exc
    runtime = _runtime(request)
    if runtime is not None:
        command = {"login": LogIn(), "logout": LogOut(), "ready": SetReady(),
                   "not_ready": SetNotReady(body.reason), "end_wrap_up": EndWrapUp()}[body.action]
        try:
            runtime.agent_command(body.extension, command)
        except TelephonyError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from exc
        except IllegalAgentCommand as exc:
            raise ApiError(409, exc.code, "当前状态下不能执行该操作") from exc
    holder = sessions.holder(body.extension)
    if body.action == "logout":
        if holder is not None:
            await sessions.sign_out(holder)  # the holder, or a lead signing an agent out
    elif holder in (None, user.username):
        await sessions.sign_in(body.extension, user.username, request.app[CLOCK]())
    return json_response(await agent_status(request, user, sessions.extension_of(user.username)))


# ---- map layers -------------------------------------------------------------------------------------------
def _bbox(request: web.Request) -> tuple[float, float, float, float] | None:
    raw = request.query.get("bbox")
    if not raw:
        return None
    try:
        box = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise ApiError(400, "bad_bbox", "bbox 应为 minlon,minlat,maxlon,maxlat") from None
    if len(box) != 4 or not all(map(math.isfinite, box)) or box[0] >= box[2] or box[1] >= box[3]:
        raise ApiError(400, "bad_bbox", "bbox 应为 minlon,minlat,maxlon,maxlat")
    return box  # type: ignore[return-value]


@operation("GET", "/api/v1/map/roads", summary="道路（GeoJSON）", tag="console")
async def get_roads(request: web.Request) -> web.Response:
    from ticketing.geo.tables import geo_roads

    await require_user(request)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(geo_roads.c.name, geo_roads.c.kind, geo_roads.c.geometry,
                                          geo_roads.c.demo))).mappings().all()
    features = [{"type": "Feature", "properties": {"name": r["name"], "kind": r["kind"], "demo": r["demo"]},
                 "geometry": json.loads(r["geometry"])} for r in rows]
    return json_response({"type": "FeatureCollection", "features": features})


@operation("GET", "/api/v1/map/components", summary="部件点位（bbox 内，最多 3000 个）", tag="console")
async def get_map_components(request: web.Request) -> web.Response:
    from ticketing.geo.tables import geo_components

    await require_user(request)
    c = geo_components.c
    stmt = select(c.id, c.class_code, c.state, c.lat, c.lon)
    box = _bbox(request)
    if box is not None:
        stmt = stmt.where(c.lon.between(box[0], box[2]), c.lat.between(box[1], box[3]))
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(stmt.limit(3000))).all()
    return json_response({"items": [[r.id, r.class_code, r.state, r.lat, r.lon] for r in rows],
                          "fields": ["id", "class_code", "state", "lat", "lon"]})


@operation("GET", "/api/v1/map/cases", summary="地图上的未结案件（含红黄绿灯）", tag="console", roles=STAFF)
async def get_map_cases(request: web.Request) -> web.Response:
    user = await require_user(request, *STAFF)
    ctx = await _context(request)
    async with request.app[ENGINE].connect() as conn:
        found = await list_cases(conn, CaseFilter(state=OPEN_STATES, per_page=2000), user.actor, ctx)
    items = [{"case_no": i["case_no"], "lat": i["lat"], "lon": i["lon"], "light": i["light"],
              "state": i["state"], "state_label": i["state_label"], "category": i["category"]["name"],
              "address": i["address"]} for i in found["items"] if i["lat"] is not None]
    return json_response({"items": items})


def setup(app: web.Application) -> None:
    app[AGENT_SESSIONS] = SqlAgentSessions(app[ENGINE])
    app[_CATEGORY_INDEX] = {}
    add_routes(app, get_category_search, get_duplicates, get_caller, get_my_cases, get_agent, post_agent,
               get_webrtc, get_roads, get_map_components, get_map_cases)
