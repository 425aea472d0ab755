"""Who is calling: bearer tokens for the API, server-side sessions (cookie) for browsers.

`await require_user(request, *roles)` returns the user or raises 401/403 as JSON errors (API handlers).
`await require_page_user(request, *roles)` does the same for pages: anonymous users are redirected to the
login page, users of another role get a 403 page. Token lookups are cached briefly per process so a busy API
does not hit the database for every request; a revoked token stops working within TOKEN_CACHE_SECONDS.
Sessions are read from the database on every request, so logout and password resets take effect at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.accounts import User, token_digest, user_for_token
from ticketing.creation_keys import purge_keys
from ticketing.domain.model import Role
from web.errors import ApiError
from web.keys import CLOCK, ENGINE, SETTINGS
from web.sessions import SESSION_HOURS, Session, purge_sessions, session_for

log = logging.getLogger("hotline.web")
TOKEN_CACHE_SECONDS = 10.0
SESSION_COOKIE = "hl_session"
USER_KEY = web.RequestKey("user", "User | None")
SESSION_KEY = web.RequestKey("session", "Session | None")
_CACHE = web.AppKey("token_cache", dict[str, tuple[float, User]])

# Where each role lands after login (pages of other features register under these paths).
ROLE_HOME: dict[Role, str] = {
    Role.AGENT: "/console", Role.LEAD: "/lead", Role.DISPATCHER: "/lead", Role.DEPARTMENT: "/dept",
    Role.INSPECTOR: "/inspector", Role.ADMIN: "/admin", Role.LEADER: "/reports",
}


PURGE = web.AppKey("session_purge", AsyncIOScheduler)
PURGE_EVERY = timedelta(hours=1)


def setup_auth(app: web.Application) -> None:
    app[_CACHE] = {}
    app.cleanup_ctx.append(_session_purge)
    from web.csrf import csrf_middleware  # late import: csrf reads sessions through this module

    app.middlewares.append(csrf_middleware)


async def _session_purge(app: web.Application) -> AsyncIterator[None]:
    """Expired and revoked sessions are deleted hourly (they are dead already; this keeps the table small), and
    case-creation idempotency keys past their retention with them."""
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def purge() -> None:
        try:
            await purge_sessions(app[ENGINE], app[CLOCK]())
        except Exception:  # retried at the next interval; must not stop the scheduler
            log.exception("session purge failed")
        try:
            await purge_keys(app[ENGINE], app[CLOCK]())
        except Exception:
            log.exception("idempotency key purge failed")

    scheduler.add_job(purge, "interval", seconds=PURGE_EVERY.total_seconds(), id="session_purge",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC) + timedelta(minutes=5))
    scheduler.start()
    app[PURGE] = scheduler
    yield
    scheduler.shutdown(wait=False)


def forget_tokens(app: web.Application) -> None:
    """Drop this process's token cache (after a revocation, deactivation or password reset), so the change
    takes effect here at once; other instances follow within TOKEN_CACHE_SECONDS."""
    app[_CACHE].clear()


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def current_session(request: web.Request) -> Session | None:
    """The browser session of this request (None for bearer calls and anonymous users)."""
    if SESSION_KEY in request:
        return request[SESSION_KEY]
    session = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and bearer_token(request) is None:
        async with request.app[ENGINE].connect() as conn:
            session = await session_for(conn, token, request.app[CLOCK]())
    request[SESSION_KEY] = session
    return session


async def current_user(request: web.Request) -> User | None:
    if USER_KEY in request:
        return request[USER_KEY]
    token = bearer_token(request)
    if token is not None:
        user = await _user_for(request.app, token)
    else:
        session = await current_session(request)
        user = session.user if session else None
    request[USER_KEY] = user
    return user


async def _user_for(app: web.Application, token: str) -> User | None:
    cache = app[_CACHE]
    key = token_digest(token)
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < TOKEN_CACHE_SECONDS:
        return hit[1]
    async with app[ENGINE].connect() as conn:
        user = await user_for_token(conn, token, app[CLOCK]())
    if user is not None:
        if len(cache) > 10_000:
            cache.clear()
        cache[key] = (time.monotonic(), user)
    return user


def _allowed(user: User, roles: tuple[Role | str, ...]) -> bool:
    return not roles or user.role.value in {str(r) for r in roles}


async def require_user(request: web.Request, *roles: Role | str) -> User:
    """The authenticated user, who must hold one of `roles` if any are named (401/403 otherwise)."""
    user = await current_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", "需要登录或提供有效的访问令牌（Authorization: Bearer ...）")
    if not _allowed(user, roles):
        raise ApiError(403, "forbidden", f"{user.role.label}无权访问此功能")
    return user


class PageForbidden(Exception):
    """A logged-in user opened a page of another role; rendered as a 403 page by the pages middleware."""

    def __init__(self, user: User, message: str) -> None:
        super().__init__(message)
        self.user = user
        self.message = message


async def require_page_user(request: web.Request, *roles: Role | str) -> User:
    """Like `require_user`, for HTML pages: login redirect for anonymous users, 403 page for other roles."""
    user = await current_user(request)
    if user is None:
        target = request.path_qs if request.method == "GET" else request.path
        raise web.HTTPFound(f"/login?next={quote(target, safe='')}")
    if not _allowed(user, roles):
        raise PageForbidden(user, f"“{user.role.label}”角色无权访问此页面")
    return user


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, path="/", httponly=True,
                        samesite="Lax", secure=request.app[SETTINGS].security.cookie_secure)


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=request.app[SETTINGS].security.cookie_secure,
                        httponly=True, samesite="Lax")


def home_for(user: User) -> str:
    return ROLE_HOME.get(user.role, "/me")
