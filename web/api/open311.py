"""Open311 GeoReport v2 (/open311/v2): services, requests, tokens; JSON and XML.

Citizen-facing systems (a city app, a 12345 platform, FixMyStreet-style sites) create and follow cases here.
Reading is public and never shows callers' phone numbers or names; creating needs `api_key` (an API token
of a user who may create cases, e.g. a `system` user made for that partner).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from core.accounts import user_for_token
from core.db.timeutil import from_db, to_db
from core.errors import DomainError
from ticketing.db.tables import cases
from ticketing.domain.model import Role, State
from ticketing.queries import iso
from ticketing.reference import ReferenceData
from ticketing.services import NewCase
from web.json import json_response
from web.keys import CASES, ENGINE

PREFIX = "/open311/v2"
OPEN_STATES = {s.value for s in State} - {State.CLOSED.value, State.INVALID.value}
MAX_ROWS, MAX_DAYS = 1000, 90


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _respond(request: web.Request, items: list[dict[str, Any]], element: str, status: int = 200) -> web.Response:
    if request.match_info.get("fmt", "json") == "xml":
        root = ET.Element(element + "s")
        for item in items:
            node = ET.SubElement(root, element)
            for key, value in item.items():
                ET.SubElement(node, key).text = "" if value is None else _xml_text(value)
        body = ET.tostring(root, encoding="unicode", xml_declaration=False)
        return web.Response(text='<?xml version="1.0" encoding="utf-8"?>' + body, status=status,
                            content_type="text/xml", charset="utf-8")
    return json_response(items, status=status)


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@web.middleware
async def open311_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except Open311Error as exc:
        return _respond(request, [{"code": exc.status, "description": exc.description}], "error", exc.status)
    except DomainError as exc:
        return _respond(request, [{"code": exc.status, "description": exc.message}], "error", exc.status)


def _service(category: Any) -> dict[str, Any]:
    return {"service_code": category.code, "service_name": category.name, "description": category.register_condition,
            "metadata": False, "type": "realtime", "keywords": f"{category.kind_label},{category.major_name}",
            "group": f"{category.kind_label}-{category.major_name}"}


async def services(request: web.Request) -> web.Response:
    reference = await request.app[CASES].reference()
    items = [_service(c) for c in sorted(reference.categories.values(), key=lambda c: c.code) if c.active]
    return _respond(request, items, "service")


async def service_definition(request: web.Request) -> web.Response:
    reference = await request.app[CASES].reference()
    code = request.match_info["code"]
    if code not in reference.categories:
        raise Open311Error(404, f"未知服务代码：{code}")
    return _respond(request, [{"service_code": code, "attributes": []}], "service_definition")


async def post_request(request: web.Request) -> web.Response:
    form = await request.post()
    user = await _api_user(request, str(form.get("api_key", "")))
    lat, lon = _coordinate(form.get("lat")), _coordinate(form.get("long"))
    address = str(form.get("address_string") or "").strip() or None
    if (lat is None or lon is None) and not address:
        raise Open311Error(400, "需要提供位置：lat 与 long，或 address_string")
    description = str(form.get("description") or "").strip()
    if not description or len(description) > 4000:
        raise Open311Error(400, "description 不能为空，且不超过 4000 字")
    name = " ".join(str(form.get(k) or "") for k in ("last_name", "first_name")).strip() or None
    new = NewCase(source="open311", description=description, category_code=str(form.get("service_code", "")),
                  caller_phone=str(form.get("phone") or "") or None, caller_name=name, address=address,
                  lat=lat, lon=lon, external_id=str(form.get("device_id") or "") or None)
    created = await request.app[CASES].create(new, user.actor)
    return _respond(request, [{"service_request_id": created.case_no, "service_notice": "已收到，正在受理",
                               "account_id": form.get("account_id")}], "request", 201)


async def _api_user(request: web.Request, api_key: str):  # type: ignore[no-untyped-def]
    if not api_key:
        raise Open311Error(403, "缺少 api_key")
    async with request.app[ENGINE].connect() as conn:
        user = await user_for_token(conn, api_key, request.app[CASES].clock())
    if user is None or user.role not in (Role.SYSTEM, Role.AGENT, Role.LEAD):
        raise Open311Error(403, "api_key 无效或无权提交")
    return user


def _coordinate(raw: object) -> float | None:
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        raise Open311Error(400, f"坐标格式不正确：{raw}") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"坐标格式不正确：{raw}")
    return value


async def get_requests(request: web.Request) -> web.Response:
    q = request.query
    stmt = select(cases)
    if q.get("service_request_id"):
        stmt = stmt.where(cases.c.case_no.in_(q["service_request_id"].split(",")[:MAX_ROWS]))
    else:
        end = _date(q.get("end_date")) or request.app[CASES].clock()
        start = _date(q.get("start_date")) or end - timedelta(days=MAX_DAYS)
        if end - start > timedelta(days=MAX_DAYS) or start > end:
            raise Open311Error(400, "start_date 与 end_date 间隔须在 0 到 90 天之间")
        stmt = stmt.where(cases.c.created_at >= to_db(start), cases.c.created_at <= to_db(end))
        if q.get("service_code"):
            stmt = stmt.where(cases.c.category_code.in_(q["service_code"].split(",")))
        if q.get("status") in ("open", "closed"):
            states = OPEN_STATES if q["status"] == "open" else {State.CLOSED.value}
            stmt = stmt.where(cases.c.state.in_(states))
        elif q.get("status"):
            raise Open311Error(400, "status 应为 open 或 closed")
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(stmt.order_by(cases.c.created_at.desc()).limit(MAX_ROWS))).mappings().all()
    return _respond(request, await _requests(request, rows), "request")


async def get_request(request: web.Request) -> web.Response:
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(cases).where(cases.c.case_no == request.match_info["id"]))).mappings().all()
    if not rows:
        raise Open311Error(404, f"没有编号为 {request.match_info['id']} 的请求")
    return _respond(request, await _requests(request, rows), "request")


async def _requests(request: web.Request, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    service = request.app[CASES]
    reference, calendar = await service.reference(), await service.calendar()
    return [_request_item(row, reference, calendar) for row in rows]


def _request_item(row: Mapping[str, Any], reference: ReferenceData, calendar: Any) -> dict[str, Any]:
    category = reference.categories.get(row["category_code"])
    state = State(row["state"])
    return {
        "service_request_id": row["case_no"], "status": "closed" if state.value not in OPEN_STATES else "open",
        "status_notes": state.label, "service_name": category.name if category else None,
        "service_code": row["category_code"], "description": row["description"],
        "agency_responsible": reference.departments.get(row["department_code"] or ""),
        "service_notice": None, "requested_datetime": iso(from_db(row["created_at"]), calendar),
        "updated_datetime": iso(from_db(row["updated_at"]), calendar), "expected_datetime": None,
        "address": row["address"], "address_id": None, "zipcode": None, "lat": row["lat"], "long": row["lon"],
        "media_url": None,
    }


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"日期格式应为 ISO 8601：{raw}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def setup(app: web.Application) -> None:
    app.middlewares.append(open311_errors)  # inside the generic error middleware
    fmt = r"{fmt:(json|xml)}"
    app.router.add_get(f"{PREFIX}/services.{fmt}", services)
    app.router.add_get(PREFIX + r"/services/{code:[0-9]+}." + fmt, service_definition)
    app.router.add_post(f"{PREFIX}/requests.{fmt}", post_request)
    app.router.add_get(f"{PREFIX}/requests.{fmt}", get_requests)
    app.router.add_get(PREFIX + r"/requests/{id:[0-9]+}." + fmt, get_request)
