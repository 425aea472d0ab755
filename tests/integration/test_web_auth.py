"""Login, sessions, lock-out, CSRF and the audit log through the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from config.bootstrap import create_app
from core.tables import audit_log
from tests.integration.test_web_support import PASSWORD, Site, add_users, site_fixture  # noqa: F401
from web.keys import ENGINE


async def audit_rows(site: Site, action: str) -> list[dict[str, Any]]:
    async with site.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.action == action)
                                   .order_by(audit_log.c.id))).mappings().all()
    return [dict(r) for r in rows]


async def test_login_redirects_each_role_to_its_home_and_writes_an_audit_row(site: Site) -> None:
    for username, home in (("lead01", "/lead"), ("dispatcher01", "/lead"), ("dept-szs", "/dept"),
                           ("admin", "/admin")):
        browser = await site.as_user()
        status, where = await browser.login(username)
        assert (status, where) == (303, home)
    rows = await audit_rows(site, "login")
    assert [r["actor"] for r in rows] == ["lead01", "dispatcher01", "dept-szs", "admin"]


async def test_login_page_is_chinese_and_the_layout_shows_name_role_and_navigation(site: Site) -> None:
    browser = await site.as_user()
    status, html = await browser.get("/login")
    assert status == 200 and "海盐县12319城市管理服务热线" in html and "用户名" in html and "密码" in html
    await browser.login("lead01")
    status, html = await browser.get("/me")
    assert status == 200 and "测试lead01" in html and "值班长" in html and 'href="/lead"' in html
    assert 'href="/admin"' not in html and "退出" in html
    async with site.client.get("/me") as resp:
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
    async with site.client.get("/static/app.css") as resp:
        assert resp.status == 200 and "PingFang SC" in await resp.text()


async def test_wrong_password_is_refused_and_recorded(site: Site) -> None:
    browser = await site.as_user()
    status, html = await browser.login("lead01", "not-the-password")
    assert status == 401 and "用户名或密码错误" in html
    status, html = await browser.login("nobody", "whatever-password")
    assert status == 401 and "用户名或密码错误" in html
    reasons = [r["detail"]["reason"] for r in await audit_rows(site, "login_failed")]
    assert reasons == ["bad_password", "unknown_user"]


async def test_account_is_locked_after_repeated_failures_until_the_lockout_ends(site: Site, clock) -> None:  # type: ignore[no-untyped-def]
    browser = await site.as_user()
    for _ in range(5):  # login_max_failures defaults to 5
        status, _ = await browser.login("dispatcher01", "wrong-password")
        assert status == 401
    status, html = await browser.login("dispatcher01")
    assert status == 401 and "锁定" in html
    clock.advance(minutes=16)  # login_lockout_minutes defaults to 15
    status, where = await browser.login("dispatcher01")
    assert (status, where) == (303, "/lead")


async def test_session_cookie_is_httponly_samesite_lax_and_secure_by_default(  # type: ignore[no-untyped-def]
        db_settings, clock, aiohttp_client) -> None:
    await add_users(db_settings, clock)
    client = await aiohttp_client(create_app(db_settings, clock=clock))
    async with client.get("/login") as resp:
        html = await resp.text()
        login_token = resp.cookies["hl_login_csrf"].value
    assert login_token in html
    data = {"username": "lead01", "password": PASSWORD, "csrf_token": login_token}
    # The test client speaks plain HTTP and so keeps Secure cookies to itself: hand the login cookie over.
    async with client.post("/login", data=data, allow_redirects=False,
                           headers={"Cookie": f"hl_login_csrf={login_token}"}) as resp:
        assert resp.status == 303
        cookie = resp.cookies["hl_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["secure"]


async def test_login_without_the_form_token_is_refused(site: Site) -> None:
    browser = await site.as_user()
    await browser.get("/login")
    status, html = await browser.post("/login", {"username": "lead01", "password": PASSWORD}, csrf=False)
    assert status == 403 and "过期" in html


async def test_logout_ends_the_session_on_the_server(site: Site) -> None:
    browser = await site.as_user("lead01")
    cookie = site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))["hl_session"].value
    status, where = await browser.post("/logout", {})
    assert (status, where) == (303, "/login")
    site.client.session.cookie_jar.update_cookies({"hl_session": cookie})  # a stolen copy of the cookie
    status, where = await browser.get("/lead")
    assert status == 302 and where.startswith("/login")
    assert [r["actor"] for r in await audit_rows(site, "logout")] == ["lead01"]


async def test_post_without_csrf_token_is_refused(site: Site) -> None:
    browser = await site.as_user("lead01")
    status, html = await browser.post("/logout", {}, csrf=False)
    assert status == 403 and "CSRF" in html
    status, html = await browser.post("/logout", {"csrf_token": "forged"}, csrf=False)
    assert status == 403
    status, _ = await browser.get("/lead")
    assert status == 200  # still logged in


async def test_api_call_with_session_needs_the_csrf_header_but_bearer_calls_do_not(site: Site) -> None:
    browser = await site.as_user("agent01")
    body = {"source": "hotline", "description": "路灯不亮", "category_code": "10118"}
    async with site.client.post("/api/v1/cases", json=body) as resp:
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf_failed"
    async with site.client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": browser.csrf}) as resp:
        assert resp.status == 201
    site.client.session.cookie_jar.clear()
    status, _ = await site.api("POST", "/api/v1/cases", "agent01", json=body)
    assert status == 201


async def test_anonymous_users_are_sent_to_login_with_the_page_to_come_back_to(site: Site) -> None:
    browser = await site.as_user()
    for path in ("/lead", "/dept", "/admin", "/admin/users", "/admin/calendar", "/me"):
        status, where = await browser.get(path)
        assert status == 302 and where.startswith("/login?next="), path
    await browser.get("/login?next=%2Fadmin%2Fusers")
    status, html = await browser.get("/login?next=%2Fadmin%2Fusers")
    assert 'value="/admin/users"' in html
