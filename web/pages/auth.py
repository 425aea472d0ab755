"""Login, logout, the account page and the root redirect."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web
from sqlalchemy import update

from core import accounts, audit
from core.accounts import User
from core.db.engine import write_transaction
from core.errors import DomainError
from core.tables import users
from web.auth import clear_session_cookie, current_session, current_user, home_for, require_page_user
from web.auth import set_session_cookie as set_cookie
from web.csrf import LOGIN_COOKIE, new_login_token, same
from web.keys import CLOCK, ENGINE, SETTINGS
from web.security import safe_next
from web.sessions import login, logout, revoke_user_sessions
from web.templating import render
from web.throttle import LOGIN_THROTTLE, LoginThrottle


def remote_of(request: web.Request) -> str | None:
    return request.remote


def landing(request: web.Request, user: User) -> str:
    """The role's home page if that page is installed on this site, else the account page."""
    home = home_for(user)
    for resource in request.app.router.resources():
        if resource.canonical == home:
            return home
    return "/me"


def _login_page(request: web.Request, *, error: str | None = None, username: str = "",
                status: int = 200) -> web.Response:
    token = new_login_token()
    response = render("login.html", request, {"error": error, "username": username, "login_token": token,
                                              "next": safe_next(request.query.get("next")) or ""}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, path="/login", httponly=True, samesite="Strict",
                        secure=request.app[SETTINGS].security.cookie_secure)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    if user is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")) or landing(request, user))
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))[:256]
    if not same(str(form.get("csrf_token", "")), request.cookies.get(LOGIN_COOKIE)):
        return _login_page(request, error="登录页面已过期，请重新输入", username=username, status=403)
    if not username or not password:
        return _login_page(request, error="请输入用户名和密码", username=username, status=400)
    security = request.app[SETTINGS].security
    throttle, client, now = request.app[LOGIN_THROTTLE], remote_of(request) or "", request.app[CLOCK]()
    wait = throttle.wait_s(client, now)
    if wait:
        response = _login_page(request, error=f"登录尝试过于频繁，请 {wait} 秒后再试", username=username, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    throttle.attempted(now, client)
    try:
        async with throttle.hashing:
            result = await login(request.app[ENGINE], username, password, now,
                                 max_failures=security.login_max_failures,
                                 lockout_minutes=security.login_lockout_minutes,
                                 remote=remote_of(request), user_agent=request.headers.get("User-Agent"))
        if result.user is None or result.token is None:
            throttle.failed(client, now)
    finally:
        throttle.settled(client)
    if result.user is None or result.token is None:
        return _login_page(request, error=result.error, username=username, status=401)
    target = safe_next(str(form.get("next", ""))) or landing(request, result.user)
    response = web.HTTPSeeOther(target)
    set_cookie(request, response, result.token)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout_submit(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is not None:
        await logout(request.app[ENGINE], session, request.app[CLOCK](), remote_of(request))
    response = web.HTTPSeeOther("/login")
    clear_session_cookie(request, response)
    raise response


async def account(request: web.Request, *, error: str | None = None, notice: str | None = None,
                  status: int = 200) -> web.Response:
    user = await require_page_user(request)
    return render("case/account.html", request, {"title": "我的账户", "account": user, "error": error,
                                                 "notice": notice or request.query.get("notice")}, status=status)


async def account_view(request: web.Request) -> web.StreamResponse:
    return await account(request)


async def password_submit(request: web.Request) -> web.StreamResponse:
    """Self-service password change: the current password, then the new one twice. Other sessions end."""
    user = await require_page_user(request)
    session = await current_session(request)
    if session is None:  # a bearer token cannot change the password of a browser account
        return await account(request, error="请在浏览器中登录后修改密码", status=403)
    form = await request.post()
    old, new, again = (str(form.get(k, ""))[:256] for k in ("current_password", "new_password", "confirm_password"))
    if new != again:
        return await account(request, error="两次输入的新密码不一致", status=422)
    if new == old:
        return await account(request, error="新密码不能与当前密码相同", status=422)
    engine, now = request.app[ENGINE], request.app[CLOCK]()
    async with engine.connect() as conn:
        stored = await accounts.password_hash_of(conn, user.id)
    if not await asyncio.to_thread(accounts.verify_password, stored, old):
        return await account(request, error="当前密码不正确", status=422)
    try:
        new_hash = await asyncio.get_running_loop().run_in_executor(accounts.HASHERS, accounts.hash_password, new)
    except DomainError as exc:
        return await account(request, error=exc.message, status=exc.status)
    async with write_transaction(engine) as conn:
        await conn.execute(update(users).where(users.c.id == user.id).values(password_hash=new_hash))
        await revoke_user_sessions(conn, user.id, now, keep=session.id)
        await audit.append(conn, now, user.username, "password_changed", user.username, {}, remote_of(request))
    raise web.HTTPSeeOther("/me?notice=密码已修改，其他设备上的登录已退出")


async def root(request: web.Request) -> web.StreamResponse:
    user = await current_user(request)
    raise web.HTTPFound(landing(request, user) if user else "/login")


def setup(app: web.Application) -> None:
    security = app[SETTINGS].security
    app[LOGIN_THROTTLE] = LoginThrottle(
        per_client=security.login_client_failures, global_per_minute=security.login_global_per_minute,
        window=timedelta(minutes=security.login_window_minutes), hash_concurrency=security.login_hash_concurrency)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/me", account_view)
    app.router.add_post("/me/password", password_submit)
    if not any(r.canonical == "/" for r in app.router.resources()):
        app.router.add_get("/", root)
