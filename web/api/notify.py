"""Loop API: outbox (admin/lead), department webhooks (admin), callbacks (agent/lead), SMS opt-outs (admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select

from core import audit
from core.accounts import User
from core.db.timeutil import from_db, to_db
from core.privacy import mask_phone, phone_for
from ticketing.db.tables import cases
from ticketing.domain.caseno import is_case_no
from ticketing.domain.model import Role
from ticketing.notify.domain.destinations import refused_url
from ticketing.notify.scheduled_callbacks import list_callbacks
from ticketing.notify.service import NotifyService
from ticketing.notify.sql import insert_ignore
from ticketing.notify.tables import department_webhooks, outbox, sms_optouts, webhook_deliveries
from ticketing.notify.webhooks import save_webhook
from web.auth import require_user
from web.errors import ApiError, parse_body, validate
from web.json import json_response
from web.keys import CASES, CLOCK, ENGINE, NOTIFY_CONFIG, RUNNING, SETTINGS
from web.openapi import DOC_REFINERS, add_routes, operation

PHONE = r"^\+?[0-9][0-9-]{2,19}$"


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str | None = Field(None, max_length=16)
    page: int = Field(1, ge=1, le=100000)
    per_page: int = Field(20, ge=1, le=100)


class CallbackQuery(Page):
    case_no: str | None = Field(None, max_length=16)


class WebhookBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500,
                     description="部门系统接收地址：https（演示可配置允许 http），不得指向本机、内网、链路本地等地址")
    secret: str = Field(min_length=16, max_length=200, description="HMAC-SHA256 签名密钥")
    active: bool = True


class CallbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_at: AwareDatetime | None = Field(None, description="期望回访时间（带时区）；缺省为尽快，落在外呼时段内")
    number: str | None = Field(None, pattern=PHONE)
    kind: Literal["survey"] = "survey"


class OptOutBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    phone: str = Field(pattern=PHONE)
    reason: str | None = Field(None, max_length=200)


def _service(request: web.Request) -> NotifyService:
    service = request.app[RUNNING].notify
    if service is None:
        raise ApiError(503, "notify_unavailable", "通知服务尚未启动")
    return service


def _phone(user: User, phone: str | None) -> str | None:
    return phone_for(user.role, phone)


def _when(value: datetime | None) -> str | None:
    stamp = from_db(value)
    return None if stamp is None else stamp.isoformat(timespec="seconds")


async def _audit(request: web.Request, user: User, action: str, target: str, detail: dict[str, Any]) -> None:
    async with request.app[ENGINE].begin() as conn:
        await audit.append(conn, request.app[CLOCK](), user.username, action, target, detail, request.remote)


@operation("GET", "/api/v1/notify/outbox", summary="短信与督办发件箱（发送状态、重试次数）", tag="notify",
           query=Page, roles=("admin", "lead"))
async def get_outbox(request: web.Request) -> web.Response:
    user = await require_user(request, Role.ADMIN, Role.LEAD)
    query = validate(Page, dict(request.query))
    where = [outbox.c.state == query.state] if query.state else []
    async with request.app[ENGINE].connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(outbox).where(*where))).scalar_one()
        rows = (await conn.execute(select(outbox).where(*where).order_by(outbox.c.id.desc()).limit(query.per_page)
                                   .offset((query.page - 1) * query.per_page))).mappings().all()
    items = [{"id": r["id"], "case_no": r["case_no"], "event": r["event"], "channel": r["channel"],
              "recipient_kind": r["recipient_kind"], "body": r["body"], "state": r["state"],
              "recipient": _phone(user, r["recipient"]) if r["recipient_kind"] == "citizen" else r["recipient"],
              "attempts": r["attempts"], "last_error": r["last_error"], "provider": r["provider"],
              "created_at": _when(r["created_at"]), "sent_at": _when(r["sent_at"]),
              "next_attempt_at": _when(r["next_attempt_at"])} for r in rows]
    return json_response({"total": total, "page": query.page, "items": items})


@operation("GET", "/api/v1/notify/inbox", summary="本部门督办消息（部门）或超期上报（值班长）", tag="notify",
           query=Page, roles=("department", "lead"))
async def get_inbox(request: web.Request) -> web.Response:
    user = await require_user(request, Role.DEPARTMENT, Role.LEAD)
    query = validate(Page, dict(request.query))
    mine = (outbox.c.recipient_kind == "lead") if user.role is Role.LEAD else \
        ((outbox.c.recipient_kind == "department") & (outbox.c.recipient == (user.department_code or "")))
    async with request.app[ENGINE].connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(outbox).where(mine))).scalar_one()
        rows = (await conn.execute(select(outbox).where(mine).order_by(outbox.c.id.desc()).limit(query.per_page)
                                   .offset((query.page - 1) * query.per_page))).mappings().all()
    return json_response({"total": total, "page": query.page, "items": [
        {"id": r["id"], "case_no": r["case_no"], "event": r["event"], "body": r["body"],
         "created_at": _when(r["created_at"])} for r in rows]})


@operation("GET", "/api/v1/notify/webhooks", summary="部门回调（Webhook）配置列表", tag="notify", roles=("admin",))
async def get_webhooks(request: web.Request) -> web.Response:
    await require_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(department_webhooks).order_by(department_webhooks.c.department_code))
                ).mappings().all()
    return json_response({"items": [
        {"department": r["department_code"], "url": r["url"], "active": r["active"],
         "secret_hint": "****" + r["secret"][-4:], "updated_by": r["updated_by"],
         "updated_at": _when(r["updated_at"])} for r in rows]})


@operation("PUT", "/api/v1/notify/webhooks/{department}", summary="设置部门回调地址与签名密钥", tag="notify",
           body=WebhookBody, roles=("admin",))
async def put_webhook(request: web.Request) -> web.Response:
    user = await require_user(request, Role.ADMIN)
    department = request.match_info["department"]
    if department not in (await request.app[CASES].reference()).departments:
        raise ApiError(404, "not_found", f"部门 {department} 不存在或已停用")
    body = await parse_body(request, WebhookBody)
    cfg = request.app.get(NOTIFY_CONFIG) or request.app[SETTINGS].notify
    refused = refused_url(body.url, allow_http=cfg.webhook_allow_http, allow_private=cfg.webhook_allow_private)
    if refused is not None:
        raise ApiError(422, "webhook_url_refused", refused)
    await save_webhook(request.app[ENGINE], department, body.url, body.secret, body.active, user.username,
                       request.app[CLOCK]())
    await _audit(request, user, "webhook.update", department, {"url": body.url, "active": body.active})
    return json_response({"department": department, "url": body.url, "active": body.active})


@operation("GET", "/api/v1/notify/webhooks/{department}/deliveries", summary="部门回调投递记录", tag="notify",
           query=Page, roles=("admin",))
async def get_deliveries(request: web.Request) -> web.Response:
    await require_user(request, Role.ADMIN)
    query = validate(Page, dict(request.query))
    w = webhook_deliveries
    where = [w.c.department_code == request.match_info["department"]]
    if query.state:
        where.append(w.c.state == query.state)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(w).where(*where).order_by(w.c.id.desc()).limit(query.per_page)
                                   .offset((query.page - 1) * query.per_page))).mappings().all()
    return json_response({"items": [
        {"id": r["id"], "case_no": r["case_no"], "event": r["event"], "state": r["state"],
         "attempts": r["attempts"], "last_status": r["last_status"], "last_error": r["last_error"],
         "created_at": _when(r["created_at"]), "delivered_at": _when(r["delivered_at"])} for r in rows]})


@operation("GET", "/api/v1/callbacks", summary="回访与回拨任务列表", tag="notify", query=CallbackQuery,
           roles=("agent", "lead"))
async def get_callbacks(request: web.Request) -> web.Response:
    user = await require_user(request, Role.AGENT, Role.LEAD)
    query = validate(CallbackQuery, dict(request.query))
    async with request.app[ENGINE].connect() as conn:
        total, rows = await list_callbacks(conn, state=query.state, case_no=query.case_no, page=query.page,
                                           per_page=query.per_page)
    return json_response({"total": total, "page": query.page, "items": [_callback(user, r) for r in rows]})


def _callback(user: User, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "kind": r["kind"], "number": _phone(user, r["number"]), "case_no": r["case_no"],
            "call_id": r["call_id"], "state": r["state"], "attempts": r["attempts"], "due_at": _when(r["due_at"]),
            "answer": r["answer"], "last_error": r["last_error"], "requested_by": r["requested_by"]}


@operation("POST", "/api/v1/cases/{case_no}/callbacks", summary="为案件安排回访电话", tag="notify",
           body=CallbackBody, roles=("agent", "lead"), statuses={201: "已安排：回访任务"})
async def post_callback(request: web.Request) -> web.Response:
    user = await require_user(request, Role.AGENT, Role.LEAD)
    case_no = request.match_info["case_no"]
    body = await parse_body(request, CallbackBody)
    async with request.app[ENGINE].connect() as conn:
        phone = (await conn.execute(select(cases.c.caller_phone).where(cases.c.case_no == case_no))).first() \
            if is_case_no(case_no) else None
    if phone is None:
        raise ApiError(404, "not_found", f"案件 {case_no} 不存在")
    number = body.number or phone[0]
    if not number:
        raise ApiError(422, "no_number", "该案件没有来电号码，请填写回访号码 number")
    due = body.due_at.astimezone(UTC) if body.due_at else request.app[CLOCK]()
    callback_id = await _service(request).schedule_callback("survey", number, due, case_no=case_no,
                                                            requested_by=user.username)
    async with request.app[ENGINE].connect() as conn:
        _, rows = await list_callbacks(conn, state=None, case_no=case_no, page=1, per_page=100)
    row = next(r for r in rows if r["id"] == callback_id)
    return json_response(_callback(user, row), status=201)


@operation("GET", "/api/v1/notify/optouts", summary="短信退订号码列表", tag="notify", roles=("admin",))
async def get_optouts(request: web.Request) -> web.Response:
    await require_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(sms_optouts).order_by(sms_optouts.c.created_at.desc()))).mappings().all()
    return json_response({"items": [{"phone": mask_phone(r["phone"]), "reason": r["reason"],
                                     "created_by": r["created_by"], "created_at": _when(r["created_at"])}
                                    for r in rows]})


@operation("POST", "/api/v1/notify/optouts", summary="登记短信退订", tag="notify", body=OptOutBody,
           roles=("admin",), statuses={201: "已登记退订"})
async def post_optout(request: web.Request) -> web.Response:
    user = await require_user(request, Role.ADMIN)
    body = await parse_body(request, OptOutBody)
    async with request.app[ENGINE].begin() as conn:
        await conn.execute(insert_ignore(conn, sms_optouts).values(
            phone=body.phone, reason=body.reason, created_by=user.username,
            created_at=to_db(request.app[CLOCK]())).on_conflict_do_nothing())
    await _audit(request, user, "sms.optout", mask_phone(body.phone) or "", {"reason": body.reason})
    return json_response({"phone": mask_phone(body.phone), "opted_out": True}, status=201)


@operation("DELETE", "/api/v1/notify/optouts/{phone}", summary="取消短信退订", tag="notify", roles=("admin",))
async def delete_optout(request: web.Request) -> web.Response:
    user = await require_user(request, Role.ADMIN)
    phone = request.match_info["phone"]
    async with request.app[ENGINE].begin() as conn:
        removed = (await conn.execute(delete(sms_optouts).where(sms_optouts.c.phone == phone))).rowcount
    if not removed:
        raise ApiError(404, "not_found", "该号码不在退订名单中")
    await _audit(request, user, "sms.optin", mask_phone(phone) or "", {})
    return json_response({"phone": mask_phone(phone), "opted_out": False})


HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"


async def _document_webhooks(app: web.Application, document: dict[str, Any]) -> None:
    """The webhook URL as this site accepts it (https unless notify.webhook_allow_http), for departments that
    exist: the document states what PUT enforces."""
    cfg = app.get(NOTIFY_CONFIG) or app[SETTINGS].notify
    scheme = "https?" if cfg.webhook_allow_http else "https"
    body = document["components"]["schemas"].get("WebhookBody", {}).get("properties", {})
    if "url" in body:
        body["url"]["pattern"] = rf"^{scheme}://{HOST}(?::[1-9][0-9]{{0,3}})?(?:/[!-~]*)?$"
    codes = sorted((await app[CASES].reference()).departments)
    for path in ("/api/v1/notify/webhooks/{department}", "/api/v1/notify/webhooks/{department}/deliveries"):
        for op in document["paths"].get(path, {}).values():
            for param in op.get("parameters", []):
                if param["name"] == "department" and codes:
                    param["schema"] = {"type": "string", "enum": codes}


def setup(app: web.Application) -> None:
    add_routes(app, get_outbox, get_inbox, get_webhooks, put_webhook, get_deliveries, get_callbacks, post_callback,
               get_optouts, post_optout, delete_optout)
    app.setdefault(DOC_REFINERS, []).append(_document_webhooks)
