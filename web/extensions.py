"""Extensions bound to users on the server: every route that signs in, sets the state of or calls out from an
extension asks `check_extension` (the rule is callcenter.domain.agent_session.extension_refused)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from callcenter.agent_sessions import AGENT_SESSIONS
from callcenter.domain.agent_session import extension_refused
from core.accounts import User
from core.identity import Role
from core.tables import users
from web.errors import ApiError
from web.keys import ENGINE


async def check_extension(request: web.Request, user: User, extension: str, action: str) -> None:
    """403 `not_your_extension` unless `user` may use `extension` for `action` (login, control, originate)."""
    sessions = request.app[AGENT_SESSIONS]
    await sessions.load()
    async with request.app[ENGINE].connect() as conn:
        owner = (
            await conn.execute(
                select(users.c.username).where(users.c.extension == extension, users.c.active.is_(True)).limit(1)
            )
        ).scalar()
    refused = extension_refused(
        extension,
        user.username,
        account_extension=user.extension,
        account_owner=owner,
        holder=sessions.holder(extension),
        action=action,
        supervisor=user.role is Role.LEAD,
    )
    if refused is not None:
        raise ApiError(403, "not_your_extension", refused)


async def own_extension(request: web.Request, user: User) -> str | None:
    """The extension the user holds (signed in from the console), else the account's."""
    sessions = request.app[AGENT_SESSIONS]
    await sessions.load()
    return sessions.extension_of(user.username) or user.extension
