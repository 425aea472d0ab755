"""Reference data and service endpoints: categories, departments, working calendar, me, health, OpenAPI."""

from __future__ import annotations

from datetime import date
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from core import audit
from core.accounts import User
from ticketing.db.tables import calendar_days
from ticketing.domain.model import Role
from web.auth import require_user
from web.errors import parse_body
from web.json import json_response
from web.keys import CASES, ENGINE
from web.openapi import DOC_REFINERS, add_routes, build_document, operation


@operation("GET", "/api/v1/categories", summary="案件类别（部件/事件大类、小类，立结案条件与处置时限）",
           tag="reference")
async def get_categories(request: web.Request) -> web.Response:
    await require_user(request)
    reference = await request.app[CASES].reference()
    items = [{
        "code": c.code, "kind": c.kind, "kind_label": c.kind_label, "major_code": c.major_code,
        "major_name": c.major_name, "name": c.name, "register_condition": c.register_condition,
        "close_condition": c.close_condition, "limit": {"value": c.limit.value, "unit": c.limit.unit.value,
                                                        "text": c.limit.describe()},
        "responsible": {"by": c.responsible.by.value, "department": c.responsible.department},
        "emergency": c.emergency,
    } for c in sorted(reference.categories.values(), key=lambda c: c.code) if c.active]
    return json_response({"items": items})


@operation("GET", "/api/v1/departments", summary="部门", tag="reference")
async def get_departments(request: web.Request) -> web.Response:
    await require_user(request)
    reference = await request.app[CASES].reference()
    items = [{"code": code, "name": name, "kind": reference.department_kinds[code]}
             for code, name in sorted(reference.departments.items())]
    return json_response({"items": items})


class CalendarDayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    kind: Literal["holiday", "workday", "clear"] = Field(description="holiday 放假；workday 调休上班；clear 删除录入")
    name: str | None = Field(None, max_length=50)


@operation("GET", "/api/v1/calendar/days", summary="管理员录入的节假日与调休日", tag="admin")
async def get_calendar_days(request: web.Request) -> web.Response:
    await require_user(request)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(calendar_days).order_by(calendar_days.c.day))).mappings().all()
    return json_response({"items": [{"day": r["day"].isoformat(), "kind": r["kind"], "name": r["name"],
                                     "entered_by": r["entered_by"]} for r in rows]})


@operation("POST", "/api/v1/calendar/days", summary="录入法定节假日或调休上班日", tag="admin",
           body=CalendarDayBody, roles=("admin",))
async def post_calendar_day(request: web.Request) -> web.Response:
    user = await require_user(request, Role.ADMIN)
    body = await parse_body(request, CalendarDayBody)
    service = request.app[CASES]
    async with request.app[ENGINE].begin() as conn:
        await conn.execute(delete(calendar_days).where(calendar_days.c.day == body.day))
        if body.kind != "clear":
            await conn.execute(calendar_days.insert().values(day=body.day, kind=body.kind, name=body.name,
                                                             entered_by=user.username))
        await audit.append(conn, service.clock(), user.username, "calendar_day", body.day.isoformat(),
                           {"kind": body.kind, "name": body.name}, request.remote)
    service.invalidate()
    return json_response({"day": body.day.isoformat(), "kind": body.kind})


@operation("GET", "/api/v1/me", summary="当前用户", tag="reference")
async def get_me(request: web.Request) -> web.Response:
    user: User = await require_user(request)
    return json_response({"username": user.username, "display_name": user.display_name,
                          "role": user.role.value, "role_label": user.role.label,
                          "department_code": user.department_code})


@operation("GET", "/api/v1/health", summary="健康检查", tag="service", public=True)
async def get_health(request: web.Request) -> web.Response:
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(select(1))
    return json_response({"status": "ok"})


@operation("GET", "/api/v1/openapi.json", summary="本接口的 OpenAPI 描述", tag="service", public=True)
async def get_openapi(request: web.Request) -> web.Response:
    document = build_document(request.app, "12319 城市管理热线与案件平台 API", "1")
    for refine in request.app.get(DOC_REFINERS, []):
        await refine(request.app, document)
    return json_response(document)


def setup(app: web.Application) -> None:
    add_routes(app, get_categories, get_departments, get_calendar_days, post_calendar_day, get_me, get_health,
               get_openapi)


