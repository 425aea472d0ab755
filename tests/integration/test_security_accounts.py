"""Accounts: tokens listed and revoked (API, admin page), revoked on a password reset and on deactivation,
30-day default lifetime, expired sessions purged by a scheduled job, self-service password change."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote_plus

from sqlalchemy import func, insert, select

from config.settings import Settings
from core.db.timeutil import to_db
from tests.integration.test_web_support import PASSWORD, Site, site_fixture  # noqa: F401
from web.auth import PURGE
from web.keys import CLOCK, ENGINE
from web.sessions import purge_sessions
from web.tables import web_sessions


async def _works(site: Site, user: str) -> bool:
    status, _ = await site.api("GET", "/api/v1/tokens", user)
    return status == 200


async def test_users_list_and_revoke_their_own_tokens_and_admins_anybodys(site: Site) -> None:
    status, mine = await site.api("GET", "/api/v1/tokens", "agent01")
    assert status == 200 and [t["username"] for t in mine["items"]] == ["agent01"]
    assert mine["items"][0]["active"] is True and "token" not in mine["items"][0]
    assert "token_hash" not in mine["items"][0]
    status, _ = await site.api("GET", "/api/v1/tokens?username=admin", "agent01")
    assert status == 403
    status, everybody = await site.api("GET", "/api/v1/tokens", "admin")
    assert status == 200 and {t["username"] for t in everybody["items"]} >= {"agent01", "lead01", "admin"}
    lead_token = next(t["id"] for t in everybody["items"] if t["username"] == "lead01")
    status, _ = await site.api("DELETE", f"/api/v1/tokens/{lead_token}", "agent01")
    assert status == 404  # not agent01's
    assert await _works(site, "lead01")
    status, done = await site.api("DELETE", f"/api/v1/tokens/{mine['items'][0]['id']}", "agent01")
    assert status == 200 and done["revoked"] is True
    assert not await _works(site, "agent01")  # at once, not after the cache's 10 s
    status, _ = await site.api("DELETE", f"/api/v1/tokens/{lead_token}", "admin")
    assert status == 200 and not await _works(site, "lead01")


async def test_admin_page_lists_and_revokes_tokens(site: Site) -> None:
    browser = await site.as_user("admin")
    status, html = await browser.get("/admin/tokens")
    assert status == 200 and "访问令牌" in html and "dispatcher01" in html and "吊销" in html
    _, listed = await site.api("GET", "/api/v1/tokens?username=dispatcher01", "admin")
    token_id = listed["items"][0]["id"]
    status, where = await browser.post(f"/admin/tokens/{token_id}/revoke", {})
    assert status == 303 and "已吊销" in unquote_plus(where)
    assert not await _works(site, "dispatcher01")
    browser = await site.as_user("agent01")
    status, _ = await browser.get("/admin/tokens")
    assert status == 403


async def test_a_password_reset_revokes_the_users_tokens_and_sessions(site: Site) -> None:
    victim = await site.as_user("dispatcher01")
    assert await _works(site, "dispatcher01")
    admin = await site.as_user("admin")
    status, _ = await admin.post("/admin/users/dispatcher01/password", {"password": "another-long-secret"})
    assert status == 303
    assert not await _works(site, "dispatcher01")
    site.client.session.cookie_jar.clear()
    status, _ = await victim.login("dispatcher01", "another-long-secret")
    assert status == 303


async def test_deactivated_users_cannot_log_in_and_their_sessions_and_tokens_end(site: Site) -> None:
    lead = await site.as_user("lead01")
    status, _ = await lead.get("/lead")
    assert status == 200
    cookies = site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))
    admin = await site.as_user("admin")
    status, where = await admin.post("/admin/users/lead01/active", {"active": "false"})
    assert status == 303 and "已停用" in unquote_plus(where)
    status, html = await admin.post("/admin/users/admin/active", {"active": "false"})
    assert status == 422  # not oneself
    assert not await _works(site, "lead01")
    site.client.session.cookie_jar.clear()
    site.client.session.cookie_jar.update_cookies(cookies)
    status, where = await lead.get("/lead")
    assert status == 302 and where.startswith("/login")
    site.client.session.cookie_jar.clear()
    status, html = await lead.login("lead01")
    assert status == 401 and "用户名或密码错误" in html
    admin = await site.as_user("admin")
    await admin.post("/admin/users/lead01/active", {"active": "true"})
    await site.as_user("lead01")  # logs in again


async def test_tokens_last_30_days_by_default(db_settings: Settings) -> None:
    assert db_settings.security.token_ttl_days == 30


async def test_expired_and_revoked_sessions_are_purged_by_a_scheduled_job(site: Site) -> None:
    app = site.client.app
    assert app[PURGE].get_job("session_purge") is not None
    await site.as_user("agent01")  # one live session
    now = app[CLOCK]()
    async with app[ENGINE].begin() as conn:
        user_id = 1
        for sid, expires, revoked in (
            ("old-expired", now - timedelta(days=8), None),
            ("old-revoked", now + timedelta(hours=1), now - timedelta(days=8)),
            ("recent-expired", now - timedelta(days=1), None),
        ):
            await conn.execute(
                insert(web_sessions).values(
                    id=sid,
                    user_id=user_id,
                    csrf_token="x",
                    created_at=to_db(now - timedelta(days=9)),
                    expires_at=to_db(expires),
                    revoked_at=to_db(revoked) if revoked else None,
                )
            )
    assert await purge_sessions(app[ENGINE], now) == 2
    async with app[ENGINE].connect() as conn:
        left = (await conn.execute(select(func.count()).select_from(web_sessions))).scalar_one()
    assert left == 2  # the live one and the recently expired one


async def test_users_change_their_own_password_and_other_sessions_end(site: Site) -> None:
    other = await site.as_user("inspector01")
    other_cookies = site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))
    browser = await site.as_user("inspector01")
    status, html = await browser.get("/me")
    assert status == 200 and "修改密码" in html
    form = {
        "current_password": "wrong-password-x",
        "new_password": "new-secret-12319",
        "confirm_password": "new-secret-12319",
    }
    status, html = await browser.post("/me/password", form)
    assert status == 422 and "当前密码不正确" in html
    status, html = await browser.post(
        "/me/password", {**form, "current_password": PASSWORD, "confirm_password": "different-12319"}
    )
    assert status == 422 and "不一致" in html
    status, where = await browser.post("/me/password", {**form, "current_password": PASSWORD})
    assert status == 303 and where.startswith("/me")
    status, _ = await browser.get("/me")
    assert status == 200  # this session goes on
    site.client.session.cookie_jar.clear()
    site.client.session.cookie_jar.update_cookies(other_cookies)
    status, where = await other.get("/me")
    assert status == 302  # the other one has ended
    site.client.session.cookie_jar.clear()
    status, _ = await browser.login("inspector01", "new-secret-12319")
    assert status == 303
