"""Exchange API: the 12345 platform's signed push, and staff views and actions on exchanged work orders.

`POST /api/v1/exchange/{system}/inbound` is public (the platform has no user here): it is authenticated by
the link's HMAC signature and timestamp, validated, logged and taken exactly once (ticketing/exchange).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from core.db.timeutil import from_db
from ticketing.domain.model import Role
from ticketing.exchange import delivery
from ticketing.exchange.domain import signing
from ticketing.exchange.tables import exchange_inbound, exchange_orders, exchange_outbound
from web.api.photos import photo_path
from web.auth import require_user
from web.errors import ApiError, parse_body, validate
from web.json import json_response
from web.keys import CLOCK, ENGINE, EXCHANGE
from web.openapi import add_routes, operation
from web.tables import photos

MAX_PUSH_BYTES = 1024 * 1024
STAFF = (Role.AGENT, Role.LEAD, Role.DISPATCHER, Role.ADMIN)


class OrderQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ext_order_no: str | None = Field(None, max_length=64, description="12345工单编号")
    case_no: str | None = Field(None, max_length=16)


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str | None = Field(None, max_length=16)
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(20, ge=1, le=100)


class ProgressBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    text: str = Field(min_length=1, max_length=2000, description="阶段性答复内容")


def _when(value: Any) -> str | None:
    stamp = from_db(value)
    return None if stamp is None else stamp.isoformat(timespec="seconds")


@operation(
    "POST",
    "/api/v1/exchange/{system}/inbound",
    summary="12345 平台推送工单与答复（HMAC 签名）",
    tag="exchange",
    public=True,
    statuses={200: "已接收（含重复报文）", 401: "签名错误", 422: "报文不合规"},
)
async def post_inbound(request: web.Request) -> web.Response:
    body = await request.content.read(MAX_PUSH_BYTES + 1)
    if len(body) > MAX_PUSH_BYTES:
        raise ApiError(413, "too_large", "报文超过 1 MB")
    answer = await request.app[EXCHANGE].receive_push(request.match_info["system"], request.headers, body)
    return json_response(answer.body(), status=answer.status)


def _order_view(row: Any) -> dict[str, Any]:
    return {
        "system": row["system"],
        "ext_order_no": row["ext_order_no"],
        "case_no": row["case_no"],
        "appeal_type": row["appeal_type"],
        "ext_category": row["ext_category"],
        "category_basis": row["category_basis"],
        "ext_due_at": _when(row["ext_due_at"]),
        "attachments": row["attachments"],
        "created_at": _when(row["created_at"]),
    }


def _out_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "message_id": row["message_id"],
        "ext_order_no": row["ext_order_no"],
        "case_no": row["case_no"],
        "step": row["step"],
        "state": row["state"],
        "attempts": row["attempts"],
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "next_attempt_at": _when(row["next_attempt_at"]),
        "acked_at": _when(row["acked_at"]),
        "created_at": _when(row["created_at"]),
    }


def _in_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "ext_order_no": row["ext_order_no"],
        "case_no": row["case_no"],
        "transport": row["transport"],
        "state": row["state"],
        "note": row["note"],
        "error_code": row["error_code"],
        "received_at": _when(row["received_at"]),
        "applied_at": _when(row["applied_at"]),
    }


@operation(
    "GET",
    "/api/v1/exchange/orders",
    summary="按 12345 工单编号或案件编号查对接工单及其往来消息",
    tag="exchange",
    query=OrderQuery,
    roles=("agent", "lead", "dispatcher", "admin"),
)
async def get_orders(request: web.Request) -> web.Response:
    await require_user(request, *STAFF)
    query = validate(OrderQuery, dict(request.query))
    o = exchange_orders.c
    where = [o.ext_order_no == query.ext_order_no] if query.ext_order_no else []
    where += [o.case_no == query.case_no] if query.case_no else []
    async with request.app[ENGINE].connect() as conn:
        rows = (
            (await conn.execute(select(exchange_orders).where(*where).order_by(o.id.desc()).limit(50))).mappings().all()
        )
        items = []
        for row in rows:
            out = (
                (
                    await conn.execute(
                        select(exchange_outbound)
                        .where(exchange_outbound.c.case_no == row["case_no"])
                        .order_by(exchange_outbound.c.id)
                    )
                )
                .mappings()
                .all()
            )
            inb = (
                (
                    await conn.execute(
                        select(exchange_inbound)
                        .where(
                            exchange_inbound.c.system == row["system"],
                            exchange_inbound.c.ext_order_no == row["ext_order_no"],
                        )
                        .order_by(exchange_inbound.c.id)
                    )
                )
                .mappings()
                .all()
            )
            items.append(
                {**_order_view(row), "outbound": [_out_view(r) for r in out], "inbound": [_in_view(r) for r in inb]}
            )
    return json_response({"items": items})


@operation(
    "GET",
    "/api/v1/exchange/outbound",
    summary="发往 12345 的消息（投递状态、重试次数）",
    tag="exchange",
    query=LogQuery,
    roles=("lead", "admin"),
)
async def get_outbound(request: web.Request) -> web.Response:
    await require_user(request, Role.LEAD, Role.ADMIN)
    return json_response(await _page(request, exchange_outbound, _out_view))


@operation(
    "GET",
    "/api/v1/exchange/inbound",
    summary="收到的 12345 报文日志（含拒收原因）",
    tag="exchange",
    query=LogQuery,
    roles=("lead", "admin"),
)
async def get_inbound(request: web.Request) -> web.Response:
    await require_user(request, Role.LEAD, Role.ADMIN)
    return json_response(await _page(request, exchange_inbound, _in_view))


async def _page(request: web.Request, table: Any, view: Any) -> dict[str, Any]:
    query = validate(LogQuery, dict(request.query))
    where = [table.c.state == query.state] if query.state else []
    async with request.app[ENGINE].connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
        rows = (
            (
                await conn.execute(
                    select(table)
                    .where(*where)
                    .order_by(table.c.id.desc())
                    .limit(query.per_page)
                    .offset((query.page - 1) * query.per_page)
                )
            )
            .mappings()
            .all()
        )
    return {"total": total, "page": query.page, "items": [view(r) for r in rows]}


@operation(
    "POST",
    "/api/v1/exchange/outbound/{id}/resend",
    summary="重发失败或被拒收的对接消息",
    tag="exchange",
    roles=("lead", "admin"),
)
async def post_resend(request: web.Request) -> web.Response:
    await require_user(request, Role.LEAD, Role.ADMIN)
    try:
        message_id = int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "not_found", "消息不存在") from None
    if not await delivery.resend(request.app[EXCHANGE], message_id, request.app[CLOCK]()):
        raise ApiError(409, "not_resendable", "只有投递失败或被拒收的消息可以重发")
    return json_response({"id": message_id, "state": "pending"})


@operation(
    "POST",
    "/api/v1/exchange/cases/{case_no}/progress",
    summary="向 12345 发送阶段性答复",
    tag="exchange",
    body=ProgressBody,
    roles=("agent", "lead", "dispatcher"),
    statuses={202: "已排队发送"},
)
async def post_progress(request: web.Request) -> web.Response:
    user = await require_user(request, Role.AGENT, Role.LEAD, Role.DISPATCHER)
    body = await parse_body(request, ProgressBody)
    message_id = await request.app[EXCHANGE].progress(request.match_info["case_no"], body.text, user.actor)
    return json_response({"message_id": message_id, "state": "pending"}, status=202)


async def get_photo_link(request: web.Request) -> web.StreamResponse:
    """A 办结 photo fetched by the platform through the signed, expiring link we sent it (no account): the
    signature names the link, the photo and the expiry (ticketing/exchange/domain/signing.py)."""
    service = request.app[EXCHANGE]
    system, photo_id = request.match_info["system"], request.match_info["photo_id"]
    link = service.links.get(system)
    problem = signing.photo_link_problem(
        link.cfg.secret if link else "", system, photo_id, request.query.get("expires"), request.query.get("sig"),
        service.wall(),
    )
    if problem is not None:
        raise ApiError(403, "bad_link", problem)
    async with request.app[ENGINE].connect() as conn:
        row = (await conn.execute(select(photos).where(photos.c.id == photo_id))).mappings().first()
    path = photo_path(request.app, photo_id, row["content_type"]) if row is not None else None
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", "照片不存在")
    return web.FileResponse(path, headers={"Content-Type": row["content_type"], "X-Content-Type-Options": "nosniff",
                                           "Cache-Control": "private, max-age=3600"})


def setup(app: web.Application) -> None:
    add_routes(app, post_inbound, get_orders, get_outbound, get_inbound, post_resend, post_progress)
    app.router.add_get("/photos/shared/{system}/{photo_id:[0-9a-f]{32}}", get_photo_link)
