"""Redirects after login stay on this site; every answer carries the security headers; personal-data JSON is
not cached; HSTS once the site is served over TLS."""

from __future__ import annotations

from typing import Any

import pytest

from config.bootstrap import create_app
from tests.integration.test_web_support import Site, add_users, plain_cookies, site_fixture  # noqa: F401
from web.security import safe_next

HOSTILE = [
    "//evil.com",
    "/\\evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "/ /evil.com",
    "https://evil.com",
    "http:/evil.com",
    "\\\\evil.com",
    "/\x0b/evil.com",
    "javascript:alert(1)",
    "/login",
    "/login?next=/x",
    "",
    "evil.com",
    "/\x7f/evil.com",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_next_values_are_refused(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/lead", "/case/202611230001?back=%2Flead", "/admin/users", "/%09/x"])
def test_own_paths_are_kept(target: str) -> None:
    assert safe_next(target) == target


async def test_login_with_a_tab_in_next_goes_home_not_elsewhere(site: Site) -> None:
    async with site.client.get("/login?next=/%09/evil.com") as resp:
        assert "evil.com" not in await resp.text()
    for next_value in ("/\t/evil.com", "//evil.com", "/\\evil.com"):
        site.client.session.cookie_jar.clear()
        async with site.client.get("/login") as resp:
            token = (await resp.text()).split('name="csrf_token" value="')[1].split('"')[0]
        async with site.client.post(
            "/login",
            data={"username": "lead01", "password": "haiyan-12319-test", "csrf_token": token, "next": next_value},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/lead", next_value


async def test_every_answer_has_security_headers_and_api_json_is_not_cached(site: Site) -> None:
    for path, user in (
        ("/login", None),
        ("/api/v1/cases", "agent01"),
        ("/static/app.css", None),
        ("/api/v1/openapi.json", None),
        ("/nowhere", None),
    ):
        headers = {"Authorization": f"Bearer {site.tokens[user]}"} if user else {}
        async with site.client.get(path, headers=headers) as resp:
            csp = resp.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-eval" not in csp and resp.headers["X-Content-Type-Options"] == "nosniff", path
            assert "Strict-Transport-Security" not in resp.headers  # plain HTTP here
            if path.startswith("/api/"):
                assert resp.headers["Cache-Control"] == "no-store", path


async def test_hsts_when_the_site_is_served_over_tls(db_settings: Any, clock: Any, aiohttp_client: Any) -> None:
    settings = plain_cookies(db_settings)
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"public_url": "https://12319.haiyan.example"})}
    )
    await add_users(settings, clock)
    client = await aiohttp_client(create_app(settings, clock=clock))
    async with client.get("/login") as resp:
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
