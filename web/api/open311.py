"""Open311 GeoReport v2 (/open311/v2) by the book, with FixMyStreet's servicerequestupdates; XML and JSON.

Shapes are in web/api/open311_shapes.py. Reading is public and rate-limited per client; creating needs
`api_key` (an API token of a user who may create cases, e.g. a `system` user made for that partner) and a
form-encoded body, as the spec says. Privacy: anonymous readers see full detail only of cases that came in
through Open311 or the web form; for the others the address is cut to its road, the point to about 100 m,
the description withheld (unless `open311.show_descriptions`) and no media. Callers' names and numbers are
never shown.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from core.accounts import User, user_for_token
from core.db.timeutil import from_db, to_db
from core.errors import DomainError
from ticketing.db.tables import case_history, case_stages, cases
from ticketing.domain.model import Role, State
from ticketing.domain.workflow import COMMAND_LABELS
from ticketing.queries import iso
from ticketing.reference import Category, ReferenceData
from ticketing.services import NewCase
from web.api.open311_shapes import (
    CREATED_FIELDS,
    REQUEST_FIELDS,
    SERVICE_FIELDS,
    UPDATE_FIELDS,
    UPDATE_STATUS,
    coarse,
    condition_attribute,
    errors,
    ordered,
    respond_items,
    respond_object,
    road_level,
)
from web.api.photos import photo_folder
from web.keys import CASES, CLOCK, ENGINE, SETTINGS
from web.ratelimit import RateLimiter
from web.tables import open311_requests, photos, public_reports

PREFIX = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
OPEN_STATES = {s.value for s in State} - {State.CLOSED.value, State.INVALID.value}
FULL_DETAIL_SOURCES = frozenset({"open311", "web"})
STAFF_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.DISPATCHER, Role.ADMIN})
MAX_ROWS, MAX_DAYS = 1000, 90
READS = web.AppKey("open311_reads", RateLimiter)
POSTS = web.AppKey("open311_posts", RateLimiter)


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _fmt(request: web.Request) -> str:
    return request.match_info.get("fmt", "xml")


@web.middleware
async def open311_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/open311/"):
        return await handler(request)
    try:
        return await handler(request)
    except Open311Error as exc:
        return errors(_fmt(request), exc.status, exc.description)
    except DomainError as exc:  # the spec: 404 for what does not exist, 403 for the key, 400 for the rest
        status = exc.status if exc.status in (403, 404) else 400
        return errors(_fmt(request), status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return errors(_fmt(request), exc.status, "请求无效" if exc.status != 404 else "资源不存在")


async def _reader(request: web.Request) -> User | None:
    """Check jurisdiction and the read limit; the api_key's user when one was given (staff read in full)."""
    _jurisdiction(request, request.query.get("jurisdiction_id"))
    key = request.query.get("api_key") or ""
    if not request.app[READS].allow(key or (request.remote or "-")):
        raise Open311Error(429, "请求过于频繁，请稍后再试")
    if not key:
        return None
    async with request.app[ENGINE].connect() as conn:
        return await user_for_token(conn, key, request.app[CLOCK]())


def _jurisdiction(request: web.Request, given: str | None) -> None:
    if given and given != request.app[SETTINGS].open311.jurisdiction_id:
        raise Open311Error(404, f"jurisdiction_id 不存在：{given}")


# --- discovery and services ------------------------------------------------------------------------------


async def discovery(request: web.Request) -> web.Response:
    base = request.app[SETTINGS].http.public_url.rstrip("/")
    doc = {
        "changeset": "2026-12-01T00:00:00Z",
        "contact": "12319 城市管理服务热线",
        "key_service": "请联系平台管理员申请 api_key",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base + PREFIX,
                "changeset": "2026-12-01T00:00:00Z",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond_object(_fmt(request), "discovery", doc)


def _service(category: Category) -> dict[str, Any]:
    return ordered(
        SERVICE_FIELDS,
        {
            "service_code": category.code,
            "service_name": category.name,
            "description": category.register_condition,
            "metadata": True,
            "type": "realtime",
            "keywords": f"{category.name},{category.major_name},{category.kind_label}",
            "group": f"{category.kind_label}-{category.major_name}",
        },
    )


async def services(request: web.Request) -> web.Response:
    await _reader(request)
    reference = await request.app[CASES].reference()
    items = [_service(c) for c in sorted(reference.categories.values(), key=lambda c: c.code) if c.active]
    return respond_items(_fmt(request), "service", items)


async def service_definition(request: web.Request) -> web.Response:
    await _reader(request)
    category = (await request.app[CASES].reference()).categories.get(request.match_info["code"])
    if category is None or not category.active:
        raise Open311Error(404, f"未知服务代码：{request.match_info['code']}")
    definition = {"service_code": category.code, "attributes": [condition_attribute(category.register_condition)]}
    return respond_object(_fmt(request), "service_definition", definition)


# --- creating --------------------------------------------------------------------------------------------


async def post_request(request: web.Request) -> web.Response:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "请以 application/x-www-form-urlencoded 表单提交")
    form = await request.post()
    _jurisdiction(request, str(form.get("jurisdiction_id") or "") or None)
    user = await _api_user(request, str(form.get("api_key", "")))
    if not request.app[POSTS].allow(user.username):
        raise Open311Error(429, "提交过于频繁，请稍后再试")
    reference = await request.app[CASES].reference()
    code = str(form.get("service_code") or "")
    if not code:
        raise Open311Error(400, "缺少 service_code")
    category = reference.categories.get(code)
    if category is None or not category.active:
        raise Open311Error(404, f"未知服务代码：{code}")
    new, answers = _new_case(form, category)
    created = await request.app[CASES].create(new, user.actor)
    token = secrets.token_hex(16)
    async with request.app[ENGINE].begin() as conn:
        await conn.execute(
            open311_requests.insert().values(
                token=token,
                case_no=created.case_no,
                client=user.username,
                account_id=_opt(form, "account_id", 100),
                device_id=_opt(form, "device_id", 100),
                email=_opt(form, "email", 200),
                media_url=_opt(form, "media_url", 1000),
                attributes=json.dumps(answers, ensure_ascii=False),
                created_at=to_db(request.app[CLOCK]()),
            )
        )
    item = ordered(
        CREATED_FIELDS,
        {
            "service_request_id": created.case_no,
            "service_notice": "已收到，正在受理",
            "account_id": _opt(form, "account_id", 100),
        },
    )
    return respond_items(_fmt(request), "request", [item], 201)


def _new_case(form: Mapping[str, Any], category: Category) -> tuple[NewCase, dict[str, str]]:
    lat, lon = _coordinate(form.get("lat")), _coordinate(form.get("long"))
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat 与 long 须同时提供")
    address = _opt(form, "address_string", 200)
    if lat is None and not address:
        raise Open311Error(400, "需要提供位置：lat 与 long，或 address_string（暂不支持 address_id）")
    description = str(form.get("description") or "").strip()
    if not description or len(description) > 4000:
        raise Open311Error(400, "description 不能为空，且不超过 4000 字")
    answers = {k[len("attribute[") : -1]: str(v) for k, v in form.items() if k.startswith("attribute[")}
    meets = answers.get("meets_condition")
    if meets is not None and meets not in ("yes", "unsure", "no"):
        raise Open311Error(400, "attribute[meets_condition] 应为 yes、unsure 或 no")
    if meets:
        description += f"\n（市民对立案条件的回答：{ {'yes': '符合', 'unsure': '不确定', 'no': '不符合'}[meets] }）"
    name = " ".join(str(form.get(k) or "") for k in ("last_name", "first_name")).strip() or None
    return NewCase(
        source="open311",
        description=description[:4000],
        category_code=category.code,
        caller_phone=_opt(form, "phone", 32),
        caller_name=name,
        address=address,
        lat=lat,
        lon=lon,
        external_id=_opt(form, "device_id", 64),
    ), answers


def _opt(form: Mapping[str, Any], key: str, max_len: int) -> str | None:
    value = str(form.get(key) or "").strip()
    if len(value) > max_len:
        raise Open311Error(400, f"{key} 不超过 {max_len} 字")
    return value or None


async def _api_user(request: web.Request, api_key: str) -> User:
    if not api_key:
        raise Open311Error(403, "缺少 api_key")
    async with request.app[ENGINE].connect() as conn:
        user = await user_for_token(conn, api_key, request.app[CLOCK]())
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


async def token(request: web.Request) -> web.Response:
    await _reader(request)
    async with request.app[ENGINE].connect() as conn:
        case_no = (
            await conn.execute(
                select(open311_requests.c.case_no).where(open311_requests.c.token == request.match_info["token"])
            )
        ).scalar()
    if case_no is None:
        raise Open311Error(404, "token 不存在")
    return respond_items(
        _fmt(request), "request", [{"service_request_id": case_no, "token": request.match_info["token"]}]
    )


# --- reading ---------------------------------------------------------------------------------------------


async def get_requests(request: web.Request) -> web.Response:
    reader = await _reader(request)
    q = request.query
    stmt = select(cases)
    if q.get("service_request_id"):
        stmt = stmt.where(cases.c.case_no.in_(q["service_request_id"].split(",")[:MAX_ROWS]))
    else:
        start, end = _range(request)
        stmt = stmt.where(cases.c.created_at >= to_db(start), cases.c.created_at <= to_db(end))
        if q.get("service_code"):
            stmt = stmt.where(cases.c.category_code.in_(q["service_code"].split(",")))
        stmt = stmt.where(cases.c.state.in_(_states(q.get("status"))))
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(stmt.order_by(cases.c.created_at.desc()).limit(MAX_ROWS))).mappings().all()
        items = await _requests(request, conn, rows, reader)
    return respond_items(_fmt(request), "request", items)


def _range(request: web.Request) -> tuple[datetime, datetime]:
    end = _date(request.query.get("end_date"))
    start = _date(request.query.get("start_date"))
    end = end or (start + timedelta(days=MAX_DAYS) if start else request.app[CLOCK]())
    start = start or end - timedelta(days=MAX_DAYS)
    if end - start > timedelta(days=MAX_DAYS) or start > end:
        raise Open311Error(400, "start_date 与 end_date 间隔须在 0 到 90 天之间")
    return start, end


def _states(raw: str | None) -> set[str]:
    if not raw:
        return {s.value for s in State}
    wanted = {part.strip() for part in raw.split(",")}
    if not wanted <= {"open", "closed"}:
        raise Open311Error(400, "status 应为 open 或 closed（可逗号分隔）")
    return (OPEN_STATES if "open" in wanted else set()) | (
        {State.CLOSED.value, State.INVALID.value} if "closed" in wanted else set()
    )


async def get_request(request: web.Request) -> web.Response:
    reader = await _reader(request)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(cases).where(cases.c.case_no == request.match_info["id"]))).mappings().all()
        if not rows:
            raise Open311Error(404, f"没有编号为 {request.match_info['id']} 的请求")
        items = await _requests(request, conn, rows, reader)
    return respond_items(_fmt(request), "request", items)


def _full(row: Mapping[str, Any], reader: User | None) -> bool:
    return row["source"] in FULL_DETAIL_SOURCES or (reader is not None and reader.role in STAFF_ROLES)


async def _requests(
    request: web.Request, conn: Any, rows: Iterable[Mapping[str, Any]], reader: User | None
) -> list[dict[str, Any]]:
    service = request.app[CASES]
    reference, calendar = await service.reference(), await service.calendar()
    rows = list(rows)
    ids = [r["id"] for r in rows]
    due = await _expected(conn, ids)
    media = await _media(conn, ids)
    base = request.app[SETTINGS].http.public_url.rstrip("/")
    show = request.app[SETTINGS].open311.show_descriptions
    items = []
    for row in rows:
        full = _full(row, reader)
        photo = media.get(row["id"]) if full else None
        items.append(
            _request_item(
                row,
                reference,
                calendar,
                due.get(row["id"]),
                full,
                show,
                f"{base}{PREFIX}/media/{row['case_no']}/{photo}.jpg" if photo else None,
            )
        )
    return items


def _request_item(
    row: Mapping[str, Any],
    reference: ReferenceData,
    calendar: Any,
    due: datetime | None,
    full: bool,
    show_descriptions: bool,
    media_url: str | None,
) -> dict[str, Any]:
    category = reference.categories.get(row["category_code"])
    state = State(row["state"])
    closed = state.value not in OPEN_STATES
    description = row["description"] if full or show_descriptions else None
    return ordered(
        REQUEST_FIELDS,
        {
            "service_request_id": row["case_no"],
            "status": "closed" if closed else "open",
            "status_notes": state.label,
            "service_name": category.name if category else None,
            "service_code": row["category_code"],
            "description": description,
            "agency_responsible": reference.departments.get(row["department_code"] or ""),
            "requested_datetime": iso(from_db(row["created_at"]), calendar),
            "updated_datetime": iso(
                from_db(row["closed_at"] if closed and row["closed_at"] else row["updated_at"]), calendar
            ),
            "expected_datetime": None if closed else iso(due, calendar),
            "address": row["address"] if full else road_level(row["address"]),
            "lat": row["lat"] if full else coarse(row["lat"]),
            "long": row["lon"] if full else coarse(row["lon"]),
            "media_url": media_url,
        },
    )


async def _expected(conn: Any, case_ids: list[int]) -> dict[int, datetime]:
    """The due time of each case's open stage clock (the latest one opened)."""
    if not case_ids:
        return {}
    rows = await conn.execute(
        select(case_stages.c.case_id, case_stages.c.due_at)
        .where(case_stages.c.case_id.in_(case_ids), case_stages.c.finished_at.is_(None))
        .order_by(case_stages.c.id)
    )
    return {r.case_id: from_db(r.due_at) for r in rows}


async def _media(conn: Any, case_ids: list[int]) -> dict[int, str]:
    """The latest photo in each case's history (result photos, or photos sent with the report)."""
    if not case_ids:
        return {}
    rows = await conn.execute(
        select(case_history.c.case_id, case_history.c.payload)
        .where(case_history.c.case_id.in_(case_ids))
        .order_by(case_history.c.id)
    )
    found: dict[int, str] = {}
    for row in rows:
        listed = (row.payload or {}).get("photos") if isinstance(row.payload, dict) else None
        if isinstance(listed, list) and listed and isinstance(listed[-1], str):
            found[row.case_id] = listed[-1]
    reported = await conn.execute(select(cases.c.id, public_reports.c.photos).join(
        public_reports, public_reports.c.case_no == cases.c.case_no).where(cases.c.id.in_(case_ids)))
    for row in reported:  # a web report's own photos, when nothing later replaced them
        listed = json.loads(row.photos or "[]")
        if listed and row.id not in found:
            found[row.id] = listed[-1]
    return found


async def media(request: web.Request) -> web.StreamResponse:
    """A case's photo for media_url: only a photo named in that case's history, of a full-detail case."""
    await _reader(request)
    case_no, photo_id = request.match_info["case_no"], request.match_info["photo_id"]
    async with request.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(cases).where(cases.c.case_no == case_no))).mappings().first()
        named = row is not None and _full(row, None) and (await _media(conn, [row["id"]])).get(row["id"]) == photo_id
        stored = (await conn.execute(select(photos).where(photos.c.id == photo_id))).mappings().first()
    if not named or stored is None:
        raise Open311Error(404, "媒体不存在")
    path = photo_folder(request.app, photo_id) / f"{photo_id}.thumb.jpg"
    if not path.is_file():
        raise Open311Error(404, "媒体文件已不存在")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "image/jpeg",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=3600",
        },
    )


# --- FixMyStreet's servicerequestupdates extension -----------------------------------------------------------


async def request_updates(request: web.Request) -> web.Response:
    """Status changes in a period (FixMyStreet's `GET servicerequestupdates`): one update per history row."""
    reader = await _reader(request)
    start, end = _range(request)
    service = request.app[CASES]
    calendar = await service.calendar()
    h = case_history.c
    stmt = (
        select(h.id, h.at, h.command, h.to_state, h.reason, cases.c.case_no, cases.c.source)
        .join(cases, cases.c.id == h.case_id)
        .where(h.at >= to_db(start), h.at <= to_db(end))
        .order_by(h.id)
        .limit(MAX_ROWS)
    )
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    items = []
    for row in rows:
        note = COMMAND_LABELS.get(row["command"], "已上报")
        if row["reason"] and _full(row, reader):
            note += f"：{row['reason']}"
        status = "duplicate" if row["command"] == "merge" else UPDATE_STATUS.get(row["to_state"], "open")
        items.append(
            ordered(
                UPDATE_FIELDS,
                {
                    "update_id": str(row["id"]),
                    "service_request_id": row["case_no"],
                    "status": status,
                    "updated_datetime": iso(from_db(row["at"]), calendar),
                    "description": note,
                    "external_status_code": row["to_state"],
                },
            )
        )
    return respond_items(_fmt(request), "request_update", items)


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"日期格式应为 ISO 8601（W3C）：{raw}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def setup(app: web.Application) -> None:
    app.middlewares.append(open311_errors)  # inside the generic error middleware
    cfg = app[SETTINGS].open311
    app[READS] = RateLimiter(cfg.reads_per_minute, timedelta(minutes=1), app[CLOCK])
    app[POSTS] = RateLimiter(cfg.posts_per_hour, timedelta(hours=1), app[CLOCK])
    fmt = r"{fmt:(json|xml)}"
    app.router.add_get("/open311/discovery." + fmt, discovery)
    app.router.add_get(f"{PREFIX}/discovery.{fmt}", discovery)
    app.router.add_get(f"{PREFIX}/services.{fmt}", services)
    app.router.add_get(PREFIX + r"/services/{code:[0-9]+}." + fmt, service_definition)
    app.router.add_post(f"{PREFIX}/requests.{fmt}", post_request)
    app.router.add_get(f"{PREFIX}/requests.{fmt}", get_requests)
    app.router.add_get(PREFIX + r"/requests/{id:[0-9]+}." + fmt, get_request)
    app.router.add_get(PREFIX + r"/tokens/{token:[0-9a-f]{32}}." + fmt, token)
    app.router.add_get(f"{PREFIX}/servicerequestupdates.{fmt}", request_updates)
    app.router.add_get(PREFIX + r"/media/{case_no:[0-9]{12}}/{photo_id:[0-9a-f]{32}}.jpg", media)
