"""Server-side login sessions, password login with lock-out, and the audit log.

Why server-side rows rather than signed cookies: a session must die the moment a user logs out, an
administrator resets a password or deactivates an account, and several service instances share one database.
A row per session gives all of that with no signing key to manage or rotate; the cookie is a 256-bit random
token of which only the SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import audit
from core.accounts import HASHERS, User, verify_password
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



GENERIC_FAILURE = "用户名或密码错误；多次失败后账号会被暂时锁定"


async def login(engine: AsyncEngine, username: str, password: str, now: datetime, *, max_failures: int,
                lockout_minutes: int, remote: str | None, user_agent: str | None) -> LoginResult:
    """Check a password; count failures and lock the account after `max_failures`; open a session on success.

    The argon2 check (tens of milliseconds of CPU) runs in a worker thread and before the write transaction,
    so a flood of logins neither stalls the event loop (calls, websockets) nor holds SQLite's writer turn.
    Unknown, locked, inactive accounts and wrong passwords all get the same answer (`GENERIC_FAILURE`);
    only the audit log tells them apart. The failure counter is one atomic UPDATE ... RETURNING, and the
    success path re-reads the row under FOR UPDATE on PostgreSQL, so concurrent attempts count correctly."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(users).where(users.c.username == username))).mappings().first()
    locked = from_db(row["locked_until"]) if row is not None else None
    stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
    good = await asyncio.get_running_loop().run_in_executor(HASHERS, verify_password, stored, password)
    async with write_transaction(engine) as conn:
        if row is None:
            await audit.append(conn, now, username, "login_failed", username, {"reason": "unknown_user"}, remote)
            return LoginResult(None, error=GENERIC_FAILURE)
        if locked is not None and locked > now:
            await audit.append(conn, now, username, "login_failed", username, {"reason": "locked"}, remote)
            return LoginResult(None, error=GENERIC_FAILURE)
        if not good or not row["active"] or row["password_hash"] is None:
            await _count_failure(conn, row["id"], now, max_failures, lockout_minutes)
            reason = "inactive" if good else "bad_password"
            await audit.append(conn, now, username, "login_failed", username, {"reason": reason}, remote)
            return LoginResult(None, error=GENERIC_FAILURE)
        current = (await conn.execute(_locked_row(conn, row["id"]))).mappings().first()
        still_locked = from_db(current["locked_until"]) if current is not None else None
        if current is None or not current["active"] or (still_locked is not None and still_locked > now):
            await audit.append(conn, now, username, "login_failed", username, {"reason": "locked"}, remote)
            return LoginResult(None, error=GENERIC_FAILURE)
        await conn.execute(update(users).where(users.c.id == row["id"]).values(failed_logins=0, locked_until=None))
        token = secrets.token_urlsafe(32)
        await conn.execute(insert(web_sessions).values(
            id=digest(token), user_id=row["id"], csrf_token=secrets.token_urlsafe(32), created_at=to_db(now),
            expires_at=to_db(now + timedelta(hours=SESSION_HOURS)), remote=remote,
            user_agent=(user_agent or "")[:200] or None))
        await audit.append(conn, now, username, "login", username, {}, remote)
        return LoginResult(_user(current), token)


def _locked_row(conn: AsyncConnection, user_id: int) -> Any:
    stmt = select(users).where(users.c.id == user_id)
    return stmt.with_for_update() if conn.dialect.name == "postgresql" else stmt


async def _count_failure(conn: AsyncConnection, user_id: int, now: datetime, max_failures: int,
                         lockout_minutes: int) -> None:
    """One more failure, counted in the database itself (no read-modify-write race between attempts)."""
    failures = (await conn.execute(
        update(users).where(users.c.id == user_id).values(failed_logins=users.c.failed_logins + 1)
        .returning(users.c.failed_logins))).scalar_one()
    if failures >= max_failures:
        await conn.execute(update(users).where(users.c.id == user_id).values(
            failed_logins=0, locked_until=to_db(now + timedelta(minutes=lockout_minutes))))


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


async def revoke_user_sessions(conn: AsyncConnection, user_id: int, now: datetime, *,
                               keep: str | None = None) -> None:
    """End every open session of a user (password reset, deactivation), but `keep` (a password change)."""
    stmt = update(web_sessions).where(web_sessions.c.user_id == user_id, web_sessions.c.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(web_sessions.c.id != keep)
    await conn.execute(stmt.values(revoked_at=to_db(now)))


async def purge_sessions(engine: AsyncEngine, now: datetime, keep: timedelta = timedelta(days=7)) -> int:
    """Delete sessions that expired or were revoked more than `keep` ago (the audit log keeps the logins)."""
    cutoff = to_db(now - keep)
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(web_sessions).where(
            (web_sessions.c.expires_at < cutoff) | (web_sessions.c.revoked_at < cutoff)))
    return int(result.rowcount or 0)
