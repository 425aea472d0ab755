"""Server-side login sessions, password login with lock-out, and the audit log.

Why server-side rows rather than signed cookies: a session must die the moment a user logs out, an
administrator resets a password or deactivates an account, and several service instances share one database.
A row per session gives all of that with no signing key to manage or rotate; the cookie is a 256-bit random
token of which only the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import audit
from core.accounts import User, verify_password
from core.db.engine import write_transaction
from core.db.timeutil import from_db, to_db
from core.tables import users
from ticketing.domain.model import Role
from web.tables import web_sessions

SESSION_HOURS = 12  # one working day plus overtime; agents log in again the next morning
# A valid argon2 hash of a random password: unknown users cost the same time as known ones.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$1JsXcx4uHMNcCdCmUdp5JQ$+1go5ur/OTkIk2QX1Wo76kh6locdItfOs2nAb2t/Li8"


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # the digest stored in the table
    user: User
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: User | None
    token: str | None = None  # the cookie value, given out once
    error: str | None = None  # message for people when login failed


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(row["id"], row["username"], row["display_name"], Role(row["role"]), row["department_code"],
                row["extension"], row["active"])



async def login(engine: AsyncEngine, username: str, password: str, now: datetime, *, max_failures: int,
                lockout_minutes: int, remote: str | None, user_agent: str | None) -> LoginResult:
    """Check a password; count failures and lock the account after `max_failures`; open a session on success."""
    async with write_transaction(engine) as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).mappings().first()
        locked = from_db(row["locked_until"]) if row is not None else None
        if row is not None and locked is not None and locked > now:
            await audit.append(conn, now, username, "login_failed", username, {"reason": "locked"}, remote)
            return LoginResult(None, error="账号因多次登录失败已被锁定，请稍后再试或联系管理员解锁")
        good = verify_password(row["password_hash"] if row is not None else _DUMMY_HASH, password)
        if row is None or not good or not row["active"]:
            await _count_failure(conn, row, now, max_failures, lockout_minutes)
            reason = "unknown_user" if row is None else ("inactive" if good else "bad_password")
            await audit.append(conn, now, username, "login_failed", username, {"reason": reason}, remote)
            return LoginResult(None, error="用户名或密码错误")
        await conn.execute(update(users).where(users.c.id == row["id"]).values(failed_logins=0, locked_until=None))
        token = secrets.token_urlsafe(32)
        await conn.execute(insert(web_sessions).values(
            id=digest(token), user_id=row["id"], csrf_token=secrets.token_urlsafe(32), created_at=to_db(now),
            expires_at=to_db(now + timedelta(hours=SESSION_HOURS)), remote=remote,
            user_agent=(user_agent or "")[:200] or None))
        await audit.append(conn, now, username, "login", username, {}, remote)
        return LoginResult(_user(row), token)


async def _count_failure(conn: AsyncConnection, row: Any, now: datetime, max_failures: int,
                         lockout_minutes: int) -> None:
    if row is None:
        return
    failures = (row["failed_logins"] or 0) + 1
    values: dict[str, Any] = {"failed_logins": failures}
    if failures >= max_failures:
        values = {"failed_logins": 0, "locked_until": to_db(now + timedelta(minutes=lockout_minutes))}
    await conn.execute(update(users).where(users.c.id == row["id"]).values(**values))


async def session_for(conn: AsyncConnection, token: str, now: datetime) -> Session | None:
    """The live session of a cookie token (None when unknown, revoked, expired or the user is inactive)."""
    row = (await conn.execute(
        select(users, web_sessions.c.id.label("sid"), web_sessions.c.csrf_token, web_sessions.c.expires_at,
               web_sessions.c.revoked_at)
        .join(web_sessions, web_sessions.c.user_id == users.c.id)
        .where(web_sessions.c.id == digest(token)))).mappings().first()
    if row is None or row["revoked_at"] is not None or not row["active"]:
        return None
    expires = from_db(row["expires_at"])
    if expires is None or expires <= now:
        return None
    return Session(row["sid"], _user(row), row["csrf_token"], expires)


async def logout(engine: AsyncEngine, session: Session, now: datetime, remote: str | None) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(update(web_sessions).where(web_sessions.c.id == session.id)
                           .values(revoked_at=to_db(now)))
        await audit.append(conn, now, session.user.username, "logout", session.user.username, {}, remote)


async def revoke_user_sessions(conn: AsyncConnection, user_id: int, now: datetime) -> None:
    """End every open session of a user (password reset, deactivation)."""
    await conn.execute(update(web_sessions).where(web_sessions.c.user_id == user_id,
                                                  web_sessions.c.revoked_at.is_(None))
                       .values(revoked_at=to_db(now)))
