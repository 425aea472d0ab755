"""Administration pages (/admin): users (add, reset password, unlock, deactivate), API tokens (list, revoke),
working calendar, reference lists."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select, update

from core import accounts, audit
from core.db.engine import write_transaction
from core.db.timeutil import from_db
from core.errors import DomainError, InvalidParameters
from core.tables import departments, users
from ticketing.db.tables import calendar_days, categories
from ticketing.domain.model import Role
from web.auth import forget_tokens, require_page_user
from web.keys import CASES, CLOCK, ENGINE
from web.pages.auth import remote_of
from web.sessions import revoke_user_sessions
from web.templating import render

ROLE_CHOICES = [(r.value, r.label) for r in Role if r is not Role.SYSTEM]
DAY_KINDS = {"holiday": "放假", "workday": "调休上班"}


async def index(request: web.Request) -> web.StreamResponse:
    await require_page_user(request, Role.ADMIN)
    return render("admin/index.html", request, {"title": "系统管理"})


async def _user_rows(request: web.Request) -> list[dict[str, Any]]:
    now = request.app[CLOCK]()
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(users).order_by(users.c.role, users.c.username))).mappings().all()
    out = []
    for r in rows:
        locked = from_db(r["locked_until"])
        out.append({**{k: r[k] for k in ("username", "display_name", "department_code", "extension", "active",
                                          "failed_logins")},
                    "role_label": Role(r["role"]).label, "locked": locked is not None and locked > now,
                    "locked_until": locked})
    return out


async def users_page(request: web.Request, *, error: str | None = None, notice: str | None = None,
                     status: int = 200) -> web.Response:
    await require_page_user(request, Role.ADMIN)
    reference = await request.app[CASES].reference()
    return render("admin/users.html", request, {
        "title": "用户管理", "users": await _user_rows(request), "roles": ROLE_CHOICES, "error": error,
        "notice": notice or request.query.get("notice"), "departments": sorted(reference.departments.items()),
    }, status=status)


async def users_view(request: web.Request) -> web.StreamResponse:
    return await users_page(request)


async def add_user(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    form = await request.post()
    field = {k: str(form.get(k, "")).strip() for k in ("username", "display_name", "role", "department_code",
                                                         "extension", "password")}
    try:
        role = Role(field["role"]) if field["role"] in dict(ROLE_CHOICES) else None
        if role is None or not field["display_name"] or not field["password"]:
            raise InvalidParameters("请填写用户名、姓名、角色和初始密码")
        async with write_transaction(request.app[ENGINE]) as conn:
            await accounts.add_user(conn, username=field["username"], display_name=field["display_name"],
                                    role=role, now=request.app[CLOCK](), password=field["password"],
                                    department_code=field["department_code"] if role is Role.DEPARTMENT else None,
                                    extension=field["extension"] or None)
            await audit.append(conn, request.app[CLOCK](), admin.username, "user_added", field["username"],
                        {"role": role.value, "department": field["department_code"] or None}, remote_of(request))
    except DomainError as exc:
        return await users_page(request, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/admin/users?notice=已添加用户 {field['username']}")


async def reset_password(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    username = request.match_info["username"]
    password = str((await request.post()).get("password", ""))
    now = request.app[CLOCK]()
    try:
        async with write_transaction(request.app[ENGINE]) as conn:
            user = await accounts.get_user(conn, username)
            await accounts.set_password(conn, username, password)
            await revoke_user_sessions(conn, user.id, now)
            revoked = await accounts.revoke_user_tokens(conn, user.id, now)
            await audit.append(conn, now, admin.username, "password_reset", username, {"tokens_revoked": revoked},
                               remote_of(request))
    except DomainError as exc:
        return await users_page(request, error=exc.message, status=exc.status)
    forget_tokens(request.app)
    raise web.HTTPSeeOther(f"/admin/users?notice=已重置 {username} 的密码，其登录会话和访问令牌已全部失效")


async def set_active(request: web.Request) -> web.StreamResponse:
    """Deactivate (or reactivate) an account: an inactive user cannot log in, and its sessions and tokens end."""
    admin = await require_page_user(request, Role.ADMIN)
    username = request.match_info["username"]
    active = str((await request.post()).get("active", "")) == "true"
    if username == admin.username and not active:
        return await users_page(request, error="不能停用自己的账号", status=422)
    now = request.app[CLOCK]()
    async with write_transaction(request.app[ENGINE]) as conn:
        user = await accounts.set_active(conn, username, active)
        if not active:
            await revoke_user_sessions(conn, user.id, now)
            await accounts.revoke_user_tokens(conn, user.id, now)
        await audit.append(conn, now, admin.username, "user_activated" if active else "user_deactivated", username,
                           {}, remote_of(request))
    forget_tokens(request.app)
    raise web.HTTPSeeOther(f"/admin/users?notice={'已启用' if active else '已停用'} {username}")


async def tokens_page(request: web.Request) -> web.StreamResponse:
    await require_page_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = await accounts.list_tokens(conn, request.app[CLOCK]())
    return render("admin/tokens.html", request, {"title": "访问令牌", "tokens": list(reversed(rows)),
                                                 "notice": request.query.get("notice")})


async def revoke_token(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    raw = request.match_info["token_id"]
    now = request.app[CLOCK]()
    async with write_transaction(request.app[ENGINE]) as conn:
        done = bool(re.fullmatch(r"[0-9]{1,12}", raw)) and await accounts.revoke_token(conn, int(raw), now)
        if done:
            await audit.append(conn, now, admin.username, "token_revoked", raw, {}, remote_of(request))
    forget_tokens(request.app)
    raise web.HTTPSeeOther(f"/admin/tokens?notice={'已吊销令牌 ' + raw if done else '该令牌已失效'}")


async def unlock(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    username = request.match_info["username"]
    async with write_transaction(request.app[ENGINE]) as conn:
        await accounts.get_user(conn, username)
        await conn.execute(update(users).where(users.c.username == username)
                           .values(failed_logins=0, locked_until=None))
        await audit.append(conn, request.app[CLOCK](), admin.username, "user_unlocked", username, {},
                           remote_of(request))
    raise web.HTTPSeeOther(f"/admin/users?notice=已解锁 {username}")


async def calendar_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    await require_page_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(calendar_days).order_by(calendar_days.c.day.desc()))).mappings().all()
    return render("admin/calendar.html", request, {
        "title": "工作日历", "days": [dict(r) for r in rows], "kinds": DAY_KINDS, "error": error,
        "notice": request.query.get("notice")}, status=status)


async def calendar_view(request: web.Request) -> web.StreamResponse:
    return await calendar_page(request)


async def calendar_submit(request: web.Request) -> web.StreamResponse:
    admin = await require_page_user(request, Role.ADMIN)
    form = await request.post()
    kind, name = str(form.get("kind", "")), str(form.get("name", "")).strip()[:50] or None
    try:
        day = date.fromisoformat(str(form.get("day", "")))
    except ValueError:
        return await calendar_page(request, error="请选择正确的日期", status=422)
    if kind not in (*DAY_KINDS, "clear"):
        return await calendar_page(request, error="请选择放假或调休上班", status=422)
    async with write_transaction(request.app[ENGINE]) as conn:
        await conn.execute(delete(calendar_days).where(calendar_days.c.day == day))
        if kind != "clear":
            await conn.execute(calendar_days.insert().values(day=day, kind=kind, name=name,
                                                             entered_by=admin.username))
        await audit.append(conn, request.app[CLOCK](), admin.username, "calendar_day", day.isoformat(),
                    {"kind": kind, "name": name}, remote_of(request))
    request.app[CASES].invalidate()
    raise web.HTTPSeeOther(f"/admin/calendar?notice=已保存 {day.isoformat()}")


async def departments_page(request: web.Request) -> web.StreamResponse:
    await require_page_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(departments).order_by(departments.c.code))).mappings().all()
    return render("admin/departments.html", request, {"title": "部门", "rows": [dict(r) for r in rows]})


async def categories_page(request: web.Request) -> web.StreamResponse:
    await require_page_user(request, Role.ADMIN)
    async with request.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(categories).order_by(categories.c.code))).mappings().all()
    reference = await request.app[CASES].reference()
    return render("admin/categories.html", request, {"title": "案件类别", "rows": [dict(r) for r in rows],
                                                     "departments": reference.departments})


def setup(app: web.Application) -> None:
    app.router.add_get("/admin", index)
    app.router.add_get("/admin/users", users_view)
    app.router.add_post("/admin/users", add_user)
    app.router.add_post("/admin/users/{username}/password", reset_password)
    app.router.add_post("/admin/users/{username}/unlock", unlock)
    app.router.add_post("/admin/users/{username}/active", set_active)
    app.router.add_get("/admin/tokens", tokens_page)
    app.router.add_post("/admin/tokens/{token_id}/revoke", revoke_token)
    app.router.add_get("/admin/calendar", calendar_view)
    app.router.add_post("/admin/calendar", calendar_submit)
    app.router.add_get("/admin/departments", departments_page)
    app.router.add_get("/admin/categories", categories_page)
