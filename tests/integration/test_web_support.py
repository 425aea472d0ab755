"""Shared helpers for the web page tests (imported by test_web_*.py): users with passwords, a logged-in client."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from config.bootstrap import create_app, engine_for
from config.settings import Settings
from core import accounts
from core.tables import users
from tests.dates import TOKEN_DAYS
from ticketing.domain.model import Role

PASSWORD = "haiyan-12319-test"
USERS = [("agent01", Role.AGENT, None), ("lead01", Role.LEAD, None), ("dispatcher01", Role.DISPATCHER, None),
         ("inspector01", Role.INSPECTOR, None), ("admin", Role.ADMIN, None), ("dept-szs", Role.DEPARTMENT, "szs"),
         ("dept-hws", Role.DEPARTMENT, "hws")]
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def plain_cookies(settings: Settings) -> Settings:
    """The test client talks plain HTTP, so the session cookie must not be marked Secure."""
    return settings.model_copy(update={"security": settings.security.model_copy(update={"cookie_secure": False})})


async def add_users(settings: Settings, clock: Any) -> dict[str, str]:
    """Create the demo roles with a password; returns a bearer token per user for API set-up steps."""
    engine = engine_for(settings)
    tokens = {}
    async with engine.begin() as conn:
        for username, role, dept in USERS:
            await accounts.add_user(conn, username=username, display_name=f"测试{username}", role=role, now=clock(),
                                    department_code=dept)
            tokens[username] = await accounts.create_token(conn, username, clock(), days=TOKEN_DAYS)
        # One argon2 hash for everybody: hashing is deliberately slow and these users share a password.
        await conn.execute(update(users).values(password_hash=_password_hash()))
    await engine.dispose()
    return tokens


class Browser:
    """One browser: a cookie jar, the CSRF token of the last page, and shortcuts for forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        async with self.client.get(path, allow_redirects=False, **kw) as resp:
            text = await resp.text()
            found = CSRF_META.search(text)
            if found and found.group(1):
                self.csrf = found.group(1)
            redirect = 300 <= resp.status < 400
            return resp.status, resp.headers.get("Location", "") if redirect else text

    async def login(self, username: str, password: str = PASSWORD) -> tuple[int, str]:
        async with self.client.get("/login") as resp:
            token = CSRF_FIELD.search(await resp.text())
        assert token is not None
        data = {"username": username, "password": password, "csrf_token": token.group(1)}
        async with self.client.post("/login", data=data, allow_redirects=False) as resp:
            status, where = resp.status, resp.headers.get("Location", await resp.text())
        if status == 303:
            await self.get("/me")
        return status, where

    async def post(self, path: str, data: Any = None, *, csrf: bool = True, **kw: Any) -> tuple[int, str]:
        if csrf and isinstance(data, dict):
            data = {**data, "csrf_token": self.csrf}
        async with self.client.post(path, data=data, allow_redirects=False, **kw) as resp:
            text = await resp.text()
            return resp.status, resp.headers.get("Location", "") if 300 <= resp.status < 400 else text


class Site:
    """The app under test with one browser; `as_user` clears the cookies and logs in as someone else."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    async def as_user(self, username: str | None = None) -> Browser:
        self.client.session.cookie_jar.clear()
        browser = Browser(self.client)
        if username:
            status, _ = await browser.login(username)
            assert status == 303, f"login of {username} failed"
        return browser

    async def api(self, method: str, path: str, user: str, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        async with self.client.request(method, path, headers=headers, **kw) as resp:
            return resp.status, await resp.json()

    async def new_case(self, **over: Any) -> dict[str, Any]:
        body = {"source": "hotline", "description": "海滨东路120号门口路灯不亮", "category_code": "10118",
                "caller_phone": "13812340000", "address": "海滨东路120号", "accept": True, **over}
        status, data = await self.api("POST", "/api/v1/cases", "agent01", json=body)
        assert status == 201, data
        return data

    async def act(self, case_no: str, command: str, user: str, **body: Any) -> dict[str, Any]:
        status, view = await self.api("GET", f"/api/v1/cases/{case_no}", user)
        assert status == 200, view
        status, view = await self.api("POST", f"/api/v1/cases/{case_no}/actions/{command}", user,
                                      json={"version": view["version"], **body})
        assert status == 200, view
        return view


@pytest.fixture(name="site")
async def site_fixture(db_settings: Settings, clock: Any, aiohttp_client: Any) -> Site:
    settings = plain_cookies(db_settings)
    tokens = await add_users(settings, clock)
    return Site(await aiohttp_client(create_app(settings, clock=clock)), tokens)
