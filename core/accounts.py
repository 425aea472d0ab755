"""Users, roles, passwords (argon2) and API tokens (stored as SHA-256 hashes, shown once)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import from_db, to_db
from core.errors import InvalidParameters, NotFound
from core.identity import Actor, Role
from core.tables import api_tokens, departments, users

_hasher = PasswordHasher()
HASH_NICE = 10  # how much lower than the event loop's thread the password hashing threads run


def _lower_priority() -> None:
    # On Linux the nice value is per thread, and the threads argon2 starts for its lanes inherit it: a login
    # flood then takes only the CPU the event loop (calls, websockets, API) leaves over. Measured with
    # bench/load.py: two concurrent hashes of 4 lanes each on 2 cores took the API's p95 from 40 ms to 7 s.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + HASH_NICE)


# The threads that hash and verify passwords (never the event loop's, never the default executor's).
HASHERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="argon2", initializer=_lower_priority)
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
LOGIN_ROLES = frozenset(Role) - {Role.SYSTEM}


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    department_code: str | None
    extension: str | None
    active: bool

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.department_code)


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise InvalidParameters("密码至少 10 个字符")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row) -> User:  # type: ignore[no-untyped-def]
    return User(row["id"], row["username"], row["display_name"], Role(row["role"]), row["department_code"],
                row["extension"], row["active"])


async def add_user(conn: AsyncConnection, *, username: str, display_name: str, role: Role,
                   now: datetime, password: str | None = None, department_code: str | None = None,
                   extension: str | None = None) -> User:
    """Create a user; department users must name an existing department, others must not."""
    if not USERNAME.match(username):
        raise InvalidParameters("用户名须以小写字母开头，只含小写字母、数字和 _ . -，2 到 64 个字符")
    if (role is Role.DEPARTMENT) != (department_code is not None):
        raise InvalidParameters("专业部门用户必须且只能绑定一个部门；其他角色不绑定部门")
    if department_code is not None:
        found = (await conn.execute(select(departments.c.id).where(departments.c.code == department_code))).first()
        if found is None:
            raise InvalidParameters(f"未知部门：{department_code}")
    if (await conn.execute(select(users.c.id).where(users.c.username == username))).first():
        raise InvalidParameters(f"用户 {username} 已存在")
    values = dict(username=username, display_name=display_name, role=role.value, department_code=department_code,
                  extension=extension, password_hash=hash_password(password) if password else None,
                  active=True, failed_logins=0, created_at=to_db(now))
    user_id = (await conn.execute(insert(users).values(**values).returning(users.c.id))).scalar_one()
    return User(user_id, username, display_name, role, department_code, extension, True)


async def get_user(conn: AsyncConnection, username: str) -> User:
    row = (await conn.execute(select(users).where(users.c.username == username))).mappings().first()
    if row is None:
        raise NotFound(f"用户 {username} 不存在")
    return _user(row)


async def set_password(conn: AsyncConnection, username: str, password: str) -> None:
    await conn.execute(update(users).where(users.c.username == username)
                       .values(password_hash=hash_password(password), failed_logins=0, locked_until=None))


async def create_token(conn: AsyncConnection, username: str, now: datetime, *, days: int,
                       label: str | None = None) -> str:
    """Issue a bearer token for a user; only its hash is stored, so it is shown this once."""
    user = await get_user(conn, username)
    token = "hl_" + secrets.token_urlsafe(32)
    await conn.execute(insert(api_tokens).values(
        user_id=user.id, token_hash=token_digest(token), label=label, created_at=to_db(now),
        expires_at=to_db(now + timedelta(days=days))))
    return token


async def user_for_token(conn: AsyncConnection, token: str, now: datetime) -> User | None:
    row = (await conn.execute(
        select(users, api_tokens.c.expires_at, api_tokens.c.revoked_at)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == token_digest(token)))).mappings().first()
    if row is None or row["revoked_at"] is not None or not row["active"]:
        return None
    expires = from_db(row["expires_at"])
    if expires is not None and expires <= now:
        return None
    return _user(row)


async def list_tokens(conn: AsyncConnection, now: datetime, username: str | None = None) -> list[dict[str, object]]:
    """API tokens (never their value): whose, label, created, expires, revoked, and whether usable now."""
    stmt = (select(api_tokens.c.id, users.c.username, api_tokens.c.label, api_tokens.c.created_at,
                   api_tokens.c.expires_at, api_tokens.c.revoked_at)
            .join(users, users.c.id == api_tokens.c.user_id).order_by(api_tokens.c.id))
    if username is not None:
        stmt = stmt.where(users.c.username == username)
    out: list[dict[str, object]] = []
    for row in (await conn.execute(stmt)).mappings():
        expires, revoked = from_db(row["expires_at"]), from_db(row["revoked_at"])
        out.append({"id": row["id"], "username": row["username"], "label": row["label"],
                    "created_at": from_db(row["created_at"]), "expires_at": expires, "revoked_at": revoked,
                    "active": revoked is None and (expires is None or expires > now)})
    return out


async def revoke_token(conn: AsyncConnection, token_id: int, now: datetime, *, username: str | None = None) -> bool:
    """Revoke one token (of `username` only, when given); False when there is no such live token."""
    stmt = update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
    if username is not None:
        stmt = stmt.where(api_tokens.c.user_id == select(users.c.id).where(users.c.username == username)
                          .scalar_subquery())
    return bool((await conn.execute(stmt.values(revoked_at=to_db(now)))).rowcount)


async def revoke_user_tokens(conn: AsyncConnection, user_id: int, now: datetime) -> int:
    """Revoke every live token of a user (password reset, deactivation); how many were revoked."""
    result = await conn.execute(update(api_tokens).where(api_tokens.c.user_id == user_id,
                                                         api_tokens.c.revoked_at.is_(None))
                                .values(revoked_at=to_db(now)))
    return int(result.rowcount or 0)


async def set_active(conn: AsyncConnection, username: str, active: bool) -> User:
    """Activate or deactivate an account (an inactive one cannot log in; its sessions and tokens stop)."""
    user = await get_user(conn, username)
    await conn.execute(update(users).where(users.c.id == user.id).values(active=active))
    return User(user.id, user.username, user.display_name, user.role, user.department_code, user.extension, active)


async def password_hash_of(conn: AsyncConnection, user_id: int) -> str | None:
    return (await conn.execute(select(users.c.password_hash).where(users.c.id == user_id))).scalar()
