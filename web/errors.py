"""API errors: one JSON shape for every error, rendered by one middleware; no stack trace reaches users."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from core.db.engine import is_unavailable, pool_exhausted
from core.errors import DomainError
from web.json import json_response

log = logging.getLogger("hotline.web")
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and a message for people (Chinese)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return json_response({"error": body}, status=status)


_HTTP_MESSAGES = {401: "需要登录", 403: "无权访问", 404: "请求的资源不存在", 405: "不支持的请求方法",
                  413: "请求内容过大", 415: "不支持的内容类型"}


@web.middleware
async def error_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or not _wants_json(request):
            raise
        message = _HTTP_MESSAGES.get(exc.status, exc.reason)
        return error_response(exc.status, f"http_{exc.status}", message)
    except Exception as exc:
        if is_unavailable(exc):  # the database is away (restart, failover): nothing was saved, try again
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
            return unavailable_response(busy=pool_exhausted(exc))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误，已记录，请稍后重试")


RETRY_AFTER_S = 5  # a PostgreSQL restart takes 1-3 s; clients wait this long before the next try


def unavailable_response(busy: bool = False) -> web.Response:
    """503 with Retry-After: the database cannot be reached (or, `busy`, every pooled connection stayed taken
    for the pool's whole timeout). Every write is one transaction, so nothing is half-written; only a
    connection lost during COMMIT leaves the outcome unknown to us (see docs/reliability.md)."""
    response = (error_response(503, "server_busy", "服务繁忙，请稍后重试") if busy
                else error_response(503, "database_unavailable", "数据库暂时无法连接，请稍后重试"))
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/open311/")) or "json" in request.headers.get("Accept", "")


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Read a JSON body into a pydantic model: 400 for malformed JSON, 422 naming each bad field."""
    try:
        raw = await request.read()
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", "请求体不是合法的 JSON") from exc
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
                   for e in exc.errors(include_url=False, include_input=False)]
        fields = "、".join(d["field"] for d in details)
        raise ApiError(422, "validation_failed", f"请求参数不正确：{fields}", details) from None


async def multipart_reader(request: web.Request) -> Any:
    """The body's multipart reader; 400 `bad_multipart` when the boundary is missing or malformed (aiohttp
    raises a bare ValueError/AssertionError there, which would otherwise surface as a 500)."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:
        raise ApiError(400, "bad_multipart", "multipart/form-data 请求缺少或带有错误的 boundary") from exc
    return reader


# What a malformed multipart body raises while it is read (bad part headers are HttpProcessingError).
BAD_MULTIPART = (ValueError, AssertionError, LookupError, HttpProcessingError)
