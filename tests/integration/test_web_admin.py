"""Administration pages: users, unlock, password reset, calendar, reference lists; page permissions."""

from __future__ import annotations

from sqlalchemy import select

from core.tables import audit_log
from tests.integration.test_web_support import PASSWORD, Site, site_fixture  # noqa: F401
from ticketing.db.tables import calendar_days
from web.keys import ENGINE

# Every page of this feature with the roles allowed to open it.
PAGES = {"/lead": {"lead01", "dispatcher01"}, "/dept": {"dept-szs"}, "/admin": {"admin"},
         "/admin/users": {"admin"}, "/admin/calendar": {"admin"}, "/admin/departments": {"admin"},
         "/admin/categories": {"admin"}}
EVERYONE = ("agent01", "lead01", "dispatcher01", "inspector01", "admin", "dept-szs")


async def actions(site: Site, action: str) -> list[str | None]:
    async with site.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(audit_log.c.target).where(audit_log.c.action == action))).all()
    return [r[0] for r in rows]


async def test_every_page_is_refused_to_the_wrong_roles_and_to_anonymous_users(site: Site) -> None:
    case = await site.new_case()
    for username in EVERYONE:
        browser = await site.as_user(username)
        for path, allowed in PAGES.items():
            status, _ = await browser.get(path)
            assert status == (200 if username in allowed else 403), (username, path)
        status, _ = await browser.get(f"/case/{case['case_no']}")
        assert status == (404 if username == "dept-szs" else 200), username
    browser = await site.as_user()
    for path in [*PAGES, f"/case/{case['case_no']}", "/me"]:
        status, where = await browser.get(path)
        assert status == 302 and where.startswith("/login?next="), path
    for path in ("/admin/users", "/admin/calendar", f"/case/{case['case_no']}/act/register",
                 f"/case/{case['case_no']}/phone"):
        status, where = await browser.post(path, {}, csrf=False)
        assert status == 302 and where.startswith("/login"), path


async def test_admin_adds_a_department_user_who_can_then_log_in(site: Site) -> None:
    browser = await site.as_user("admin")
    await browser.get("/admin/users")
    status, where = await browser.post("/admin/users", {
        "username": "dept-lhs", "display_name": "园林所值班", "role": "department", "department_code": "lhs",
        "extension": "", "password": "green-city-2026"})
    assert status == 303 and where.startswith("/admin/users")
    status, html = await browser.post("/admin/users", {
        "username": "dept-lhs", "display_name": "重复", "role": "department", "department_code": "lhs",
        "password": "green-city-2026"})
    assert status == 422 and "已存在" in html
    browser = await site.as_user()
    status, where = await browser.login("dept-lhs", "green-city-2026")
    assert (status, where) == (303, "/dept")
    assert await actions(site, "user_added") == ["dept-lhs"]


async def test_admin_unlocks_a_locked_user_and_resets_a_password(site: Site) -> None:
    browser = await site.as_user()
    for _ in range(5):
        await browser.login("lead01", "wrong-password")
    browser = await site.as_user("admin")
    status, html = await browser.get("/admin/users")
    assert "已锁定" in html
    status, _ = await browser.post("/admin/users/lead01/unlock", {})
    assert status == 303
    status, _ = await browser.post("/admin/users/dispatcher01/password", {"password": "short"})
    assert status == 422
    status, _ = await browser.post("/admin/users/dispatcher01/password", {"password": "a-new-password-1"})
    assert status == 303
    assert (await (await site.as_user()).login("lead01"))[0] == 303
    assert (await (await site.as_user()).login("dispatcher01"))[0] == 401
    assert (await (await site.as_user()).login("dispatcher01", "a-new-password-1"))[0] == 303
    assert await actions(site, "user_unlocked") == ["lead01"]
    assert await actions(site, "password_reset") == ["dispatcher01"]


async def test_a_password_reset_ends_the_users_open_sessions(site: Site) -> None:
    browser = await site.as_user("dispatcher01")
    jar = site.client.session.cookie_jar
    cookie = jar.filter_cookies(site.client.make_url("/"))["hl_session"].value
    admin = await site.as_user("admin")
    await admin.post("/admin/users/dispatcher01/password", {"password": "a-new-password-1"})
    jar.clear()
    jar.update_cookies({"hl_session": cookie})
    status, _ = await browser.get("/lead")
    assert status == 302


async def test_admin_enters_a_holiday_and_a_make_up_workday(site: Site) -> None:
    browser = await site.as_user("admin")
    await browser.get("/admin/calendar")
    for day, kind, name in (("2026-12-31", "holiday", "县庆放假"), ("2027-01-03", "workday", "调休上班")):
        status, _ = await browser.post("/admin/calendar", {"day": day, "kind": kind, "name": name})
        assert status == 303
    status, html = await browser.get("/admin/calendar")
    assert "县庆放假" in html and "调休上班" in html and "2027-01-03" in html
    status, _ = await browser.post("/admin/calendar", {"day": "not-a-day", "kind": "holiday"})
    assert status == 422
    async with site.client.app[ENGINE].connect() as conn:
        kinds = (await conn.execute(select(calendar_days.c.kind).order_by(calendar_days.c.day))).scalars().all()
    assert kinds == ["holiday", "workday"]


async def test_departments_and_categories_are_listed_read_only(site: Site) -> None:
    browser = await site.as_user("admin")
    status, html = await browser.get("/admin/departments")
    assert status == 200 and "海盐县市政设施管理所" in html and "<form" not in html.split("<main")[1]
    status, html = await browser.get("/admin/categories")
    assert status == 200 and "10118" in html and "路灯" in html
    assert PASSWORD  # the demo users share one password in these tests
