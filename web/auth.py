"""Who is calling: bearer tokens for the API (sessions for the pages come with the consoles).

`await require_user(request, *roles)` returns the user or raises 401/403 as JSON errors. Token lookups are
cached briefly per process so a busy API does not hit the database for every request; a revoked token
stops working within TOKEN_CACHE_SECONDS.
"""

from __future__ import annotations

import time

from aiohttp import web

from ticketing.accounts import User, token_digest, user_for_token
from ticketing.domain.model import Role
from web.errors import ApiError
from web.keys import CLOCK, ENGINE

TOKEN_CACHE_SECONDS = 10.0
USER_KEY = web.RequestKey("user", "User | None")
_CACHE = web.AppKey("token_cache", dict[str, tuple[float, User]])


def setup_auth(app: web.Application) -> None:
    app[_CACHE] = {}


async def current_user(request: web.Request) -> User | None:
    if USER_KEY in request:
        return request[USER_KEY]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = await _user_for(request.app, token.strip())
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


async def require_user(request: web.Request, *roles: Role | str) -> User:
    """The authenticated user, who must hold one of `roles` if any are named (401/403 otherwise)."""
    user = await current_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", "需要登录或提供有效的访问令牌（Authorization: Bearer ...）")
    if roles and user.role.value not in {str(r) for r in roles}:
        raise ApiError(403, "forbidden", f"{user.role.label}无权访问此功能")
    return user
