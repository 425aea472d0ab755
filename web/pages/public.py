"""Pages for citizens, without an account: /track (follow a case) and /report (report a problem).

/track takes the case number and the last four digits of the reporting phone (or the 查询码 a web report
without a phone was given) and shows the status timeline — state, class and the times of each step; nothing
personal (no description, address, names, numbers or reasons). A wrong pair gets the same answer as an unknown
case, and lookups are rate-limited per client, so the four digits cannot be guessed.

/report creates a case with source `web` (photos, a point picked on the map or an address, phone optional),
rate-limited per client and size-limited. Both forms carry a double-submit token (cookie + field), since a
visitor has no session for the usual CSRF check.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import select

from core.accounts import User
from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.errors import DomainError
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.domain.model import Actor, Role, State
from ticketing.domain.workflow import COMMAND_LABELS
from ticketing.services import NewCase
from web.api.photos import save_photo
from web.csrf import same
from web.keys import CASES, CLOCK, ENGINE
from web.openapi import add_routes, operation
from web.ratelimit import RateLimiter
from web.tables import public_reports
from web.templating import render

TOKEN_COOKIE = "hl_public_form"
TRACKS = web.AppKey("public_tracks", RateLimiter)
REPORTS = web.AppKey("public_reports", RateLimiter)
MAX_PHOTOS, MAX_PHOTO_BYTES, MAX_FIELD_BYTES = 3, 5 * 1024 * 1024, 8 * 1024
WEB_USER = User(0, "web", "网页报料", Role.SYSTEM, None, None, True)  # who stored the photos and created the case


def _client(request: web.Request) -> str:
    return request.remote or "-"


def _form_page(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    token = request.cookies.get(TOKEN_COOKIE) or secrets.token_hex(16)
    response = render(template, request, {**context, "form_token": token}, status=status)
    response.set_cookie(TOKEN_COOKIE, token, path="/", httponly=True, samesite="Strict")
    return response


def _token_ok(request: web.Request, submitted: object) -> bool:
    return same(str(submitted or ""), request.cookies.get(TOKEN_COOKIE))


# --- /track ----------------------------------------------------------------------------------------------

async def track_form(request: web.Request) -> web.Response:
    return _form_page(request, "public/track.html", {"title": "案件查询"})


async def track_submit(request: web.Request) -> web.Response:
    form = await request.post()
    case_no, digits = str(form.get("case_no", "")).strip()[:16], str(form.get("last4", "")).strip()[:4]
    context: dict[str, Any] = {"title": "案件查询", "case_no": case_no}
    if not _token_ok(request, form.get("form_token")):
        return _form_page(request, "public/track.html", {**context, "error": "页面已过期，请重新提交"}, 403)
    if not request.app[TRACKS].allow(_client(request)):
        return _form_page(request, "public/track.html", {**context, "error": "查询过于频繁，请稍后再试"}, 429)
    if not (case_no.isdigit() and len(case_no) == 12 and digits.isdigit() and len(digits) == 4):
        return _form_page(request, "public/track.html", {**context, "error": "请输入12位案件编号和4位数字"}, 400)
    found = await _timeline(request, case_no, digits)
    if found is None:
        return _form_page(request, "public/track.html",
                          {**context, "error": "未找到对应的案件，请核对案件编号和手机号后四位（或查询码）"}, 404)
    return _form_page(request, "public/track.html", {**context, **found})


async def _timeline(request: web.Request, case_no: str, digits: str) -> dict[str, Any] | None:
    service = request.app[CASES]
    reference, calendar = await service.reference(), await service.calendar()
    async with request.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(cases).where(cases.c.case_no == case_no))).mappings().first()
        if row is None or not await _owner(conn, row, digits):
            return None
        steps = (await conn.execute(select(case_history.c.at, case_history.c.command, case_history.c.to_state)
                                    .where(case_history.c.case_id == row["id"]).order_by(case_history.c.id))).all()
        due = (await conn.execute(select(case_stages.c.due_at).where(
            case_stages.c.case_id == row["id"], case_stages.c.finished_at.is_(None)).order_by(case_stages.c.id.desc())
            .limit(1))).scalar()
    category = reference.categories.get(row["category_code"])
    local = lambda at: from_db(at).astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    return {"found": True, "state_label": State(row["state"]).label, "state": row["state"],
            "category_name": category.name if category else "", "due": local(due) if due else None,
            "steps": [{"at": local(s.at), "label": COMMAND_LABELS.get(s.command, "市民上报"),
                       "state": State(s.to_state).label} for s in steps]}


async def _owner(conn: Any, row: Any, digits: str) -> bool:
    phone = row["caller_phone"] or ""
    if len(phone) >= 4 and secrets.compare_digest(phone[-4:], digits):
        return True
    code = (await conn.execute(select(public_reports.c.code_hash).where(
        public_reports.c.case_no == row["case_no"]))).scalar()
    return bool(code) and secrets.compare_digest(code, _hash(row["case_no"], digits))


def _hash(case_no: str, code: str) -> str:
    return hashlib.sha256(f"{case_no}:{code}".encode()).hexdigest()


# --- /report ---------------------------------------------------------------------------------------------

async def _categories(request: web.Request) -> list[dict[str, Any]]:
    reference = await request.app[CASES].reference()
    groups: dict[str, list[dict[str, str]]] = {}
    for category in sorted(reference.categories.values(), key=lambda c: c.code):
        if category.active:
            groups.setdefault(f"{category.kind_label} · {category.major_name}", []).append(
                {"code": category.code, "name": category.name})
    return [{"label": label, "classes": items} for label, items in groups.items()]


async def report_form(request: web.Request) -> web.Response:
    return _form_page(request, "public/report.html", {"title": "我要报料", "groups": await _categories(request),
                                                      "values": {}})


async def report_submit(request: web.Request) -> web.Response:
    context: dict[str, Any] = {"title": "我要报料", "groups": await _categories(request)}
    if (request.content_length or 0) > MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024:
        return _form_page(request, "public/report.html", {**context, "values": {}, "error": "提交内容过大"}, 413)
    try:
        values, files = await _read_form(request)
    except ValueError as exc:
        return _form_page(request, "public/report.html", {**context, "values": {}, "error": str(exc)}, 400)
    context["values"] = values
    if not _token_ok(request, values.get("form_token")):
        return _form_page(request, "public/report.html", {**context, "error": "页面已过期，请重新提交"}, 403)
    if not request.app[REPORTS].allow(_client(request)):
        return _form_page(request, "public/report.html", {**context, "error": "提交过于频繁，请稍后再试"}, 429)
    try:
        new = _new_case(values)
        if new.category_code not in (await request.app[CASES].reference()).categories:
            raise ValueError("请选择问题类别")
        photo_ids = [(await save_photo(request.app, WEB_USER, data)).id for data in files]
        created = await request.app[CASES].create(new, Actor(WEB_USER.username, Role.SYSTEM))
    except (DomainError, ValueError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        return _form_page(request, "public/report.html", {**context, "error": message}, 400)
    code = None if new.caller_phone else f"{secrets.randbelow(10000):04d}"
    async with write_transaction(request.app[ENGINE]) as conn:
        await conn.execute(public_reports.insert().values(
            case_no=created.case_no, photos=json.dumps(photo_ids), created_at=to_db(request.app[CLOCK]()),
            code_hash=_hash(created.case_no, code) if code else None))
    return _form_page(request, "public/reported.html", {"title": "已收到", "case_no": created.case_no, "code": code})


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[bytes]]:
    if not request.content_type.startswith("multipart/"):
        form = await request.post()
        return {k: str(v)[:MAX_FIELD_BYTES] for k, v in form.items() if isinstance(v, str)}, []
    reader = await request.multipart()
    values: dict[str, str] = {}
    files: list[bytes] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is not None:
            data = await _read_part(part, MAX_PHOTO_BYTES, "单张照片不能超过 5 MB")
            if data:
                if len(files) >= MAX_PHOTOS:
                    raise ValueError(f"最多上传 {MAX_PHOTOS} 张照片")
                files.append(data)
        elif part.name:
            values[part.name] = (await _read_part(part, MAX_FIELD_BYTES, "填写内容过长")).decode("utf-8", "replace")
    return values, files


async def _read_part(part: BodyPartReader, limit: int, message: str) -> bytes:
    buffer = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        buffer += chunk
        if len(buffer) > limit:
            raise ValueError(message)
    return bytes(buffer)


def _new_case(values: dict[str, str]) -> NewCase:
    description = values.get("description", "").strip()
    if not 5 <= len(description) <= 1000:
        raise ValueError("请描述问题（5 到 1000 字）")
    lat, lon = _number(values.get("lat")), _number(values.get("lon"))
    address = values.get("address", "").strip()[:200] or None
    if lat is None and not address:
        raise ValueError("请在地图上点选位置，或填写地址")
    phone = values.get("phone", "").strip().replace(" ", "") or None
    return NewCase(source="web", description=description, category_code=values.get("category", ""),
                   caller_phone=phone, address=address, lat=lat, lon=lon)


def _number(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError("位置格式不正确") from None


@operation("GET", "/api/v1/public/roads", summary="道路线（GeoJSON，公开：供市民报料页地图）", tag="public",
           public=True)
async def roads(request: web.Request) -> web.Response:
    """The road lines for the report form's map (public facts; no cases, no components)."""
    from ticketing.geo.tables import geo_roads

    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(geo_roads.c.name, geo_roads.c.kind, geo_roads.c.geometry))).mappings().all()
    features = [{"type": "Feature", "properties": {"name": r["name"], "kind": r["kind"]},
                 "geometry": json.loads(r["geometry"])} for r in rows]
    return web.json_response({"type": "FeatureCollection", "features": features},
                             headers={"Cache-Control": "public, max-age=3600"})


def setup(app: web.Application) -> None:
    app[TRACKS] = RateLimiter(20, timedelta(minutes=10), app[CLOCK])
    app[REPORTS] = RateLimiter(5, timedelta(hours=1), app[CLOCK])
    app.router.add_get("/track", track_form)
    app.router.add_post("/track", track_submit)
    app.router.add_get("/report", report_form)
    app.router.add_post("/report", report_submit)
    add_routes(app, roads)
