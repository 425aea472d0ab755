"""Shared API test support: users with tokens in the test database and a client that calls as them.

Registered as a pytest plugin by tests/conftest.py, so the `api` fixture is available everywhere.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image

from config.bootstrap import create_app, engine_for
from config.settings import Settings
from core import accounts
from tests.dates import TOKEN_DAYS
from ticketing.domain.model import Role

USERS = [("agent01", Role.AGENT, None), ("agent02", Role.AGENT, None),
         ("lead01", Role.LEAD, None), ("dispatcher01", Role.DISPATCHER, None),
         ("inspector01", Role.INSPECTOR, None), ("admin", Role.ADMIN, None), ("dept-szs", Role.DEPARTMENT, "szs"),
         ("dept-hws", Role.DEPARTMENT, "hws")]


async def _tokens(settings: Settings, clock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    engine = engine_for(settings)
    tokens = {}
    async with engine.begin() as conn:
        for username, role, dept in USERS:
            await accounts.add_user(conn, username=username, display_name=username, role=role, now=clock(),
                                    extension="8001" if username == "agent02" else None,
                                    department_code=dept)
            tokens[username] = await accounts.create_token(conn, username, clock(), days=TOKEN_DAYS)
    await engine.dispose()
    return tokens


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    async def call(self, method: str, path: str, user: str | None = "agent01", **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        async with self.client.request(method, path, headers=headers, **kw) as resp:
            return resp.status, await resp.json()

    async def create(self, **over: Any) -> dict[str, Any]:
        body = {"source": "hotline", "description": "海滨东路120号门口路灯不亮", "category_code": "10118",
                "caller_phone": "13800000000", "address": "海滨东路120号", **over}
        status, data = await self.call("POST", "/api/v1/cases", json=body)
        assert status == 201, data
        return data

    async def photo(self, user: str) -> str:
        """Upload a small generated JPEG as `user`; its id (commands accept only real, own photo ids)."""
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (40, 120, 200)).save(buffer, "JPEG")
        form = FormData()
        form.add_field("file", buffer.getvalue(), filename="现场.jpg", content_type="image/jpeg")
        status, body = await self.call("POST", "/api/v1/photos", user, data=form)
        assert status == 201, body
        return str(body["photos"][0]["id"])

    async def act(self, case: dict[str, Any], command: str, user: str, **body: Any) -> tuple[int, Any]:
        return await self.call("POST", f"/api/v1/cases/{case['case_no']}/actions/{command}", user,
                               json={"version": case["version"], **body})


@pytest.fixture
async def api(db_settings: Settings, clock, aiohttp_client) -> Api:  # type: ignore[no-untyped-def]
    tokens = await _tokens(db_settings, clock)
    client = await aiohttp_client(create_app(db_settings, clock=clock))
    return Api(client, tokens)
