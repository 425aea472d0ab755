"""API tokens: list and revoke (/api/v1/tokens). Users see and revoke their own; administrators everybody's.

Tokens are made with `hotline token create NAME` (shown once; only the hash is stored) and last
`security.token_ttl_days` (30 by default). `hotline token list|revoke` and /admin/tokens do the same as here.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core import accounts, audit
from core.db.engine import write_transaction
from core.identity import Role
from web.auth import forget_tokens, require_user
from web.errors import ApiError, validate
from web.json import json_response
from web.keys import CLOCK, ENGINE
from web.openapi import add_routes, operation


class TokenQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str | None = Field(None, pattern=r"^[a-z][a-z0-9_.-]{1,63}$", description="管理员可查看他人的令牌")


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def token_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{k: _when(row[k]) for k in ("created_at", "expires_at", "revoked_at")}}


@operation("GET", "/api/v1/tokens", summary="访问令牌列表（本人；管理员可查看全部）", tag="accounts", query=TokenQuery)
async def get_tokens(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = validate(TokenQuery, dict(request.query))
    if user.role is not Role.ADMIN and query.username not in (None, user.username):
        raise ApiError(403, "forbidden", "只能查看本人的访问令牌")
    username = query.username if user.role is Role.ADMIN else user.username
    async with request.app[ENGINE].connect() as conn:
        rows = await accounts.list_tokens(conn, request.app[CLOCK](), username)
    return json_response({"items": [token_view(r) for r in rows]})


@operation(
    "DELETE",
    "/api/v1/tokens/{token_id}",
    summary="吊销访问令牌（本人；管理员可吊销任何人的）",
    tag="accounts",
    statuses={200: "已吊销", 404: "没有该有效令牌"},
    path_params={"token_id": {"type": "string", "pattern": r"^[0-9]{1,12}$", "description": "令牌编号"}},
)
async def delete_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    raw = request.match_info["token_id"]
    if not re.fullmatch(r"[0-9]{1,12}", raw):
        raise ApiError(404, "token_not_found", "没有该有效令牌")
    now = request.app[CLOCK]()
    async with write_transaction(request.app[ENGINE]) as conn:
        owner = None if user.role is Role.ADMIN else user.username
        if not await accounts.revoke_token(conn, int(raw), now, username=owner):
            raise ApiError(404, "token_not_found", "没有该有效令牌")
        await audit.append(conn, now, user.username, "token_revoked", raw, {}, request.remote)
    forget_tokens(request.app)
    return json_response({"id": int(raw), "revoked": True})


def setup(app: web.Application) -> None:
    add_routes(app, get_tokens, delete_token)
