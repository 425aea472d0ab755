"""Texts citizens send back, as the SMS gateway's signed callback (POST /api/v1/sms/inbound).

The callback is public (the gateway has no user here); it is authenticated by the gateway's signature over the
configured canonical string, with the same algorithm and secret as sending, and a timestamp window. Accepted
texts are taken once per provider message id (ticketing/notify/inbound_sms.py). A refused callback gets a
clear JSON error and a log row.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from typing import Any

from aiohttp import web
from jinja2 import Environment, StrictUndefined

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from ticketing.notify.domain.signing import sms_signature
from ticketing.notify.inbound_sms import take_sms
from ticketing.notify.tables import sms_inbound
from web.errors import ApiError
from web.json import json_response
from web.keys import CLOCK, ENGINE, RUNNING, SETTINGS
from web.openapi import add_routes, operation

MAX_BYTES = 64 * 1024
_ENV = Environment(undefined=StrictUndefined, autoescape=False)


async def _fields(request: web.Request) -> dict[str, Any]:
    raw = await request.content.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ApiError(413, "too_large", "回调内容过大")
    if request.content_type == "application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        return dict(parse_qsl(raw.decode("utf-8", "replace")))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "bad_json", "回调内容不是 JSON 或表单") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "回调内容应为 JSON 对象")
    return data


async def _refuse(request: web.Request, status: int, code: str, message: str, fields: dict[str, Any]) -> web.Response:
    async with write_transaction(request.app[ENGINE]) as conn:
        await conn.execute(sms_inbound.insert().values(
            channel="http", message_id=f"rejected:{secrets.token_hex(8)}", phone=str(fields.get("phone", ""))[:32],
            text=json.dumps(fields, ensure_ascii=False)[:2000], kind="rejected", result=f"{code}: {message}",
            received_at=to_db(request.app[CLOCK]())))
    return json_response({"code": code, "error": {"code": code, "message": message}}, status=status)


@operation("POST", "/api/v1/sms/inbound", summary="短信网关上行回调：市民回复（满意度、查询、退订），需签名",
           tag="notify", public=True, statuses={200: "已处理（含重复回调）", 401: "签名错误"})
async def post_inbound(request: web.Request) -> web.Response:
    cfg = request.app[SETTINGS].notify.http
    raw = await _fields(request)
    names = cfg.inbound_fields
    fields = {key: str(raw.get(name, "") or "") for key, name in names.items()}
    if not cfg.secret and cfg.sign_algorithm != "none":
        return await _refuse(request, 503, "not_configured", "短信网关密钥未配置，拒绝接收", fields)
    if not fields["phone"] or not fields["text"] or not fields["message_id"]:
        return await _refuse(request, 422, "missing_field", "缺少号码、内容或消息编号", fields)
    try:
        fresh = abs(time.time() - float(fields["timestamp"])) <= cfg.inbound_window_s
    except ValueError:
        fresh = False
    if not fresh:
        return await _refuse(request, 401, "stale", "时间戳缺失或超出允许窗口（可能是重放）", fields)
    canonical = _ENV.from_string(cfg.inbound_sign_template).render(app_key=cfg.app_key, **fields)
    expected = sms_signature(cfg.sign_algorithm, cfg.secret, canonical, uppercase=cfg.sign_uppercase)
    if not hmac.compare_digest(expected.lower(), fields["sign"].lower()):
        return await _refuse(request, 401, "bad_signature", "签名不正确", fields)
    service = request.app[RUNNING].notify
    if service is None:
        raise ApiError(503, "notify_unavailable", "通知服务尚未启动")
    taken = await take_sms(service, "http", fields["message_id"][:100], fields["phone"][:32], fields["text"],
                           request.app[CLOCK]())
    return json_response({"code": "0", "result": taken.kind, "duplicate": taken.duplicate, "message": taken.result})


def setup(app: web.Application) -> None:
    add_routes(app, post_inbound)
