"""CSRF protection for browser sessions.

Every state-changing request (POST, PUT, PATCH, DELETE) made with the session cookie must carry the session's
token, either in the `X-CSRF-Token` header (JavaScript; the page has it in <meta name="csrf-token">) or in a
form field `csrf_token` (HTML forms; `{{ csrf_field() }}` in templates). Requests with a bearer token are exempt:
browsers never attach those by themselves. The login form, which has no session yet, uses a double-submit
cookie (`hl_login_csrf`) set when the form is shown.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from web.auth import SESSION_COOKIE, bearer_token, current_session
from web.errors import error_response

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_COOKIE = "hl_login_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PATHS = frozenset({"/login"})  # checked by the login view against the double-submit cookie
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MESSAGE = "页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试"


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def submitted_token(request: web.Request) -> str | None:
    """The token sent with a request: header first, else the form field (the parsed form is cached)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in _FORM_TYPES:
        value = (await request.post()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def csrf_middleware(request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if (request.method not in UNSAFE or bearer_token(request) is not None or request.path in EXEMPT_PATHS
            or SESSION_COOKIE not in request.cookies):
        return await handler(request)
    session = await current_session(request)
    if session is not None and not same(await submitted_token(request), session.csrf_token):
        return _refused(request)
    return await handler(request)


def _refused(request: web.Request) -> web.Response:
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return error_response(403, "csrf_failed", MESSAGE)
    return web.Response(status=403, text=MESSAGE, content_type="text/plain", charset="utf-8")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
