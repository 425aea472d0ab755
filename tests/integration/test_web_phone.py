"""Softphone provisioning: an agent sees their own SIP account and its QR code; the admin rotates it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select

from callcenter.rig.confgen import agent_passwords
from config.bootstrap import create_app
from core.tables import audit_log
from tests.integration.test_web_support import Site, add_users, plain_cookies
from web.keys import ENGINE, SETTINGS


@pytest.fixture
async def phone_site(db_settings: Any, clock: Any, aiohttp_client: Any, tmp_path: Path) -> Site:
    settings = plain_cookies(db_settings)
    tls = {"name": "lan-tls", "protocol": "tls", "bind": "10.20.0.5", "port": 5061,
           "cert_file": "/etc/site/asterisk.crt", "key_file": "/etc/site/asterisk.key",
           "external_signaling_address": "203.0.113.7", "local_net": ["10.20.0.0/16"]}
    telephony = settings.telephony.model_copy(update={"state_dir": str(tmp_path / "asterisk")})
    telephony = type(telephony).model_validate({**telephony.model_dump(), "transports": [tls],
                                                "agent_transport": "lan-tls", "agent_acl": ["10.20.1.0/24"]})
    settings = settings.model_copy(update={"telephony": telephony})
    tokens = await add_users(settings, clock)
    site = Site(await aiohttp_client(create_app(settings, clock=clock)), tokens)
    admin = await site.as_user("admin")
    await admin.get("/admin/users")
    for username, extension in (("agent8001", "8001"), ("agent8002", "8002")):
        status, _ = await admin.post("/admin/users", {
            "username": username, "display_name": f"坐席{extension}", "role": "agent", "department_code": "",
            "extension": extension, "password": "agent-password-2026"})
        assert status == 303
    return site


async def test_an_agent_sees_only_their_own_sip_account_with_a_qr_code(phone_site: Site) -> None:
    tel = phone_site.client.app[SETTINGS].telephony
    browser = await phone_site.as_user()
    assert (await browser.login("agent8001", "agent-password-2026"))[0] == 303
    status, html = await browser.get("/console/phone")
    assert status == 200
    mine, other = agent_passwords(tel)["8001"], agent_passwords(tel)["8002"]
    assert mine in html and other not in html
    assert "203.0.113.7" in html and "5061" in html and "TLS" in html and "SRTP" in html
    assert re.search(r"<svg[^>]*>.*</svg>", html, re.S), "the QR code is inline SVG"
    status, html = await (await phone_site.as_user("agent01")).get("/console/phone")
    assert status == 200 and "还没有分配分机" in html
    for username in ("dispatcher01", "dept-szs"):
        assert (await (await phone_site.as_user(username)).get("/console/phone"))[0] == 403


async def test_the_admin_rotates_a_password_and_the_old_one_is_gone(phone_site: Site) -> None:
    tel = phone_site.client.app[SETTINGS].telephony
    before = agent_passwords(tel)
    admin = await phone_site.as_user("admin")
    status, html = await admin.get("/admin/phones")
    assert status == 200 and "坐席8001（agent8001）" in html and before["8001"] not in html
    status, where = await admin.post("/admin/phones/8001/rotate", {})
    assert status == 303 and "已轮换分机 8001" in unquote_plus(where)
    after = agent_passwords(tel)
    assert after["8001"] != before["8001"] and after["8002"] == before["8002"]
    assert (await admin.post("/admin/phones/9999/rotate", {}))[0] == 404
    assert (await (await phone_site.as_user("lead01")).get("/admin/phones"))[0] == 403
    agent = await phone_site.as_user()
    assert (await agent.login("agent8001", "agent-password-2026"))[0] == 303
    await agent.get("/console/phone")  # a page's CSRF token
    assert (await agent.post("/admin/phones/8002/rotate", {}))[0] == 403
    assert agent_passwords(tel)["8002"] == before["8002"]
    async with phone_site.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(audit_log.c.target).where(
            audit_log.c.action == "sip_password_rotated"))).all()
    assert [r[0] for r in rows] == ["8001"]
