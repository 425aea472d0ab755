"""Login hardening: hashing off the event loop and outside the write turn, throttling per client and for the
whole service, one answer for every failure, and a failure counter that concurrent attempts cannot undercount."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select

from config.bootstrap import create_app
from config.settings import Settings
from core.db import engine as db_engine
from core.tables import users
from tests.integration.test_web_support import Browser, Site, add_users, plain_cookies, site_fixture  # noqa: F401
from web import sessions
from web.keys import ENGINE


def _with_security(settings: Settings, **values: Any) -> Settings:
    settings = plain_cookies(settings)
    return settings.model_copy(update={"security": settings.security.model_copy(update=values)})


async def _failed_page(browser: Browser, username: str, password: str) -> tuple[int, str]:
    status, html = await browser.login(username, password)
    return status, html.split('name="csrf_token"')[0]  # the form token differs from page to page


async def test_unknown_locked_and_wrong_password_answer_alike(site: Site) -> None:
    browser = await site.as_user()
    for _ in range(5):
        await browser.login("dispatcher01", "wrong-password")
    locked = await _failed_page(browser, "dispatcher01", "haiyan-12319-test")  # right password, locked account
    unknown = await _failed_page(browser, "nobody", "haiyan-12319-test")
    wrong = await _failed_page(browser, "lead01", "wrong-password")
    assert locked[0] == unknown[0] == wrong[0] == 401
    assert (
        locked[1].replace("dispatcher01", "X") == unknown[1].replace("nobody", "X") == wrong[1].replace("lead01", "X")
    )
    assert "锁定" in locked[1]  # the one message says that failures lock, for everybody


async def test_password_hashing_runs_in_a_thread_outside_the_write_turn(  # type: ignore[no-untyped-def]
    site: Site, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[bool] = []
    hashed = threading.Event()
    real = sessions.verify_password

    def spy(stored: str, password: str) -> bool:
        threads.append(threading.current_thread() is threading.main_thread())
        hashed.set()
        return real(stored, password)

    monkeypatch.setattr(sessions, "verify_password", spy)
    engine = site.client.app[ENGINE]
    async with db_engine.write_transaction(engine):  # another writer holds the turn (SQLite) / a transaction
        attempt = asyncio.create_task(
            sessions.login(
                engine,
                "lead01",
                "haiyan-12319-test",
                clock(),
                max_failures=5,
                lockout_minutes=15,
                remote=None,
                user_agent=None,
            )
        )
        assert await asyncio.to_thread(hashed.wait, 30)  # hashed while the writer still holds its turn
    result = await attempt
    assert result.user is not None and threads == [False]


async def test_one_client_is_throttled_after_many_failures_across_accounts(  # type: ignore[no-untyped-def]
    db_settings, clock, aiohttp_client
) -> None:
    settings = _with_security(db_settings, login_client_failures=4, login_window_minutes=10)
    await add_users(settings, clock)
    browser = Browser(await aiohttp_client(create_app(settings, clock=clock)))
    for name in ("agent01", "lead01", "admin", "dept-szs"):  # one wrong password each: no account locks
        status, _ = await browser.login(name, "wrong-password")
        assert status == 401
    async with browser.client.get("/login") as resp:
        form = await resp.text()
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    async with browser.client.post(
        "/login",
        data={"username": "lead01", "password": "haiyan-12319-test", "csrf_token": token},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 429 and 0 < int(resp.headers["Retry-After"]) <= 600
        assert "过于频繁" in await resp.text()
    clock.advance(minutes=11)
    status, where = await browser.login("lead01")
    assert (status, where) == (303, "/lead")


async def test_the_whole_service_takes_a_bounded_number_of_attempts_a_minute(  # type: ignore[no-untyped-def]
    db_settings, clock, aiohttp_client
) -> None:
    settings = _with_security(db_settings, login_global_per_minute=3)
    await add_users(settings, clock)
    browser = Browser(await aiohttp_client(create_app(settings, clock=clock)))
    for _ in range(3):
        browser.client.session.cookie_jar.clear()
        status, _ = await browser.login("lead01")
        assert status == 303
    browser.client.session.cookie_jar.clear()
    status, _ = await browser.login("lead01")
    assert status == 429
    clock.advance(seconds=61)
    browser.client.session.cookie_jar.clear()
    status, _ = await browser.login("lead01")
    assert status == 303


async def test_concurrent_failures_are_all_counted(site: Site, clock) -> None:  # type: ignore[no-untyped-def]
    engine = site.client.app[ENGINE]
    results = await asyncio.gather(
        *(
            sessions.login(
                engine,
                "dispatcher01",
                f"wrong-{i}-password",
                clock(),
                max_failures=50,
                lockout_minutes=15,
                remote="127.0.0.1",
                user_agent=None,
            )
            for i in range(6)
        )
    )
    assert all(r.user is None for r in results)
    async with engine.connect() as conn:
        failures = (
            await conn.execute(select(users.c.failed_logins).where(users.c.username == "dispatcher01"))
        ).scalar_one()
    assert failures == 6
