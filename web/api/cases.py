"""Case API: create, read, list, and act on cases (/api/v1/cases)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from core import audit
from core.accounts import User
from core.db.engine import write_transaction
from core.privacy import mask_phone, sees_full_number
from ticketing.creation_keys import body_digest, create_once
from ticketing.domain.caseno import is_case_no
from ticketing.domain.model import Role
from ticketing.domain.workflow import PERMISSIONS, Command
from ticketing.queries import CaseFilter, ViewContext, case_view, created_view, list_cases
from ticketing.services import NewCase
from web.api.photos import check_photo_ids
from web.auth import require_user
from web.errors import ApiError, parse_body, validate
from web.json import json_response
from web.keys import CASES, CLOCK, ENGINE
from web.openapi import DOC_REFINERS, add_routes, operation


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("必须是有限的数值")
    return value


Coordinate = Annotated[float | None, AfterValidator(_finite)]


class CreateCaseBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    source: Literal["hotline", "inspector", "web", "open311", "12345"]
    description: str = Field(min_length=1, max_length=4000)
    category_code: str = Field(pattern=r"^[12]\d{4}$", description="类型位(1部件/2事件)+大类+小类，如 10118 路灯")
    caller_phone: str | None = Field(None, max_length=20)
    caller_name: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=200)
    lat: Coordinate = Field(None, ge=-90, le=90)
    lon: Coordinate = Field(None, ge=-180, le=180)
    component_id: str | None = Field(None, pattern=r"^\d{16}$")
    external_id: str | None = Field(None, max_length=64)
    call_id: str | None = Field(None, max_length=64)
    accept: bool = Field(False, description="受理员新建时一并受理")


class ActionBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    version: int = Field(ge=1, description="客户端看到的案件版本号（乐观锁）")
    reason: str | None = Field(None, max_length=2000)
    department: str | None = Field(None, max_length=32)
    notes: str | None = Field(None, max_length=4000)
    photos: list[Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]] | None = Field(
        None, max_length=20, description="照片编号（POST /api/v1/photos 返回；须为本人上传或本案件已有）")
    value: float | None = Field(None, gt=0, le=1000)
    unit: Literal["working_hours", "working_days", "emergency_hours", "calendar_hours"] | None = None
    confirmed: bool | None = None
    merged_into: str | None = Field(None, max_length=16)
    satisfaction: Literal[1, 2, 3] | None = None
    inspector: str | None = Field(None, max_length=64, description="改派监督员：新的监督员用户名")
    lat: Coordinate = Field(None, ge=-90, le=90, description="核实/核查反馈时的现场定位")
    lon: Coordinate = Field(None, ge=-180, le=180)
    accuracy: float | None = Field(None, ge=0, le=100000, description="定位精度（米）")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str | None = Field(None, description="状态，多个用逗号分隔")
    category: str | None = Field(None, pattern=r"^[12]\d{0,4}$")
    department: str | None = Field(None, max_length=32)
    light: Literal["green", "yellow", "red"] | None = None
    date_from: date | None = Field(None, alias="from")
    date_to: date | None = Field(None, alias="to")
    q: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, pattern=r"^\+?[0-9-]{3,20}$",
                              description="来电号码（完整号码精确匹配；仅受理员、值班长，记入审计）")
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(20, ge=1, le=100)


async def _context(request: web.Request) -> ViewContext:
    service = request.app[CASES]
    return ViewContext(await service.reference(), await service.calendar(), service.clock())


def _case_no(request: web.Request) -> str:
    case_no = request.match_info["case_no"]
    if not is_case_no(case_no):
        raise ApiError(404, "not_found", f"案件编号 {case_no} 格式不正确或不存在")
    return case_no


IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_KEY_HEADER = {
    "Idempotency-Key": {
        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern},
        "description": "客户端为每个新建请求选定的键（8–64 位字母、数字、- 或 _）；因超时等原因重发时带同一个键，"
        "服务端返回第一次创建的案件（200），不会重复建案。同一用户的同一个键只能用于同样内容的请求，"
        "内容不同则 422。键保留 7 天。",
    }
}


@operation("POST", "/api/v1/cases", summary="新建案件", tag="cases", body=CreateCaseBody,
           roles=("agent", "lead", "inspector", "system"), headers=_KEY_HEADER,
           statuses={201: "已创建：案件编号、状态、版本、期限、建议派遣部门（完整详情见 Location）",
                     200: "重复提交（同一 Idempotency-Key、同样内容）：返回第一次创建的结果，未新建案件"})
async def create_case(request: web.Request) -> web.Response:
    user = await require_user(request, Role.AGENT, Role.LEAD, Role.INSPECTOR, Role.SYSTEM)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise ApiError(400, "idempotency_key_invalid",
                       "Idempotency-Key 请求头无效：须为 8–64 位字母、数字、- 或 _，每个新建请求一个")
    body = await parse_body(request, CreateCaseBody)
    service, ctx = request.app[CASES], await _context(request)
    new = NewCase(**body.model_dump())
    if key is None:
        created = await service.create(new, user.actor)
        view = created_view(created, user.actor, ctx)
        return json_response(view, status=201, headers={"Location": f"/api/v1/cases/{created.case_no}"})
    done = await create_once(service, new, user.actor, key=key, digest=body_digest(body.model_dump(mode="json")),
                             answer=lambda created: created_view(created, user.actor, ctx))
    return json_response(done.response, status=200 if done.replayed else 201,
                         headers={"Location": f"/api/v1/cases/{done.case_no}"})


@operation("GET", "/api/v1/cases/{case_no}", summary="案件详情（状态、期限、历史、可执行操作）", tag="cases")
async def get_case(request: web.Request) -> web.Response:
    user = await require_user(request)
    case_no = _case_no(request)
    async with request.app[ENGINE].connect() as conn:
        view = await case_view(conn, case_no, user.actor, await _context(request))
    return json_response(view)


@operation("POST", "/api/v1/cases/{case_no}/actions/{command}", summary="执行流程操作（受理、立案、派遣……）",
           tag="cases", body=ActionBody, statuses={200: "操作成功，返回新的案件详情"})
async def act_on_case(request: web.Request) -> web.Response:
    user = await require_user(request)
    case_no = _case_no(request)
    name = request.match_info["command"]
    if name not in PERMISSIONS:
        raise ApiError(404, "unknown_command", f"未知操作：{name}")
    body = await parse_body(request, ActionBody)
    params: dict[str, Any] = body.model_dump(exclude={"version", "reason"}, exclude_none=True)
    if body.photos:
        async with request.app[ENGINE].connect() as conn:
            await check_photo_ids(conn, case_no, user, body.photos)
    command = Command(name, user.actor, expected_version=body.version, reason=body.reason, params=params)
    await request.app[CASES].act(case_no, command)
    async with request.app[ENGINE].connect() as conn:
        view = await case_view(conn, case_no, user.actor, await _context(request))
    return json_response(view)


@operation("GET", "/api/v1/cases", summary="案件列表（筛选、分页）", tag="cases", query=ListQuery)
async def get_cases(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = validate(ListQuery, dict(request.query))
    if query.phone is not None:
        await _audit_phone_search(request, user, query.phone)
    ctx = await _context(request)
    tz = ctx.calendar.tz
    flt = CaseFilter(
        state=tuple(s for s in (query.state or "").split(",") if s), category=query.category,
        department=query.department, light=query.light,
        created_from=datetime.combine(query.date_from, time(0), tz).astimezone(UTC) if query.date_from else None,
        created_to=(datetime.combine(query.date_to, time(0), tz).astimezone(UTC) + _DAY) if query.date_to else None,
        text=query.q, phone=query.phone, page=query.page, per_page=query.per_page)
    async with request.app[ENGINE].connect() as conn:
        return json_response(await list_cases(conn, flt, user.actor, ctx))


_DAY = timedelta(days=1)


async def _audit_phone_search(request: web.Request, user: User, phone: str) -> None:
    """Searching cases by a citizen's number: only roles that see full numbers, and every search audited."""
    if not sees_full_number(user.role):
        raise ApiError(403, "phone_filter_forbidden", f"{user.role.label}不能按来电号码检索案件")
    async with write_transaction(request.app[ENGINE]) as conn:
        await audit.append(conn, request.app[CLOCK](), user.username, "case_phone_search", mask_phone(phone),
                           {"role": user.role.value}, request.remote)


async def _document_categories(app: web.Application, document: dict[str, Any]) -> None:
    """category_code: exactly the active categories of the reference data (what creation accepts)."""
    codes = sorted(c.code for c in (await app[CASES].reference()).categories.values() if c.active)
    schema = document["components"]["schemas"].get("CreateCaseBody", {}).get("properties", {}).get("category_code")
    if schema is not None and codes:
        schema["enum"] = codes


def setup(app: web.Application) -> None:
    add_routes(app, create_case, get_case, act_on_case, get_cases)
    app.setdefault(DOC_REFINERS, []).append(_document_categories)
