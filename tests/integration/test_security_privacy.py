"""Phone numbers leave the server only per core/privacy.py: case views, the phone filter, caller lookup, reveals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.privacy import REVEALS_PER_HOUR, mask_phone
from core.tables import audit_log
from tests.integration.test_web_support import Site, site_fixture  # noqa: F401
from web.keys import ENGINE

NUMBER = "13812340000"


async def _audit(site: Site, action: str) -> list[dict[str, Any]]:
    async with site.client.app[ENGINE].connect() as conn:
        rows = (
            (await conn.execute(select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)))
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


async def test_admins_and_leaders_see_masked_numbers_in_case_views_and_lists(site: Site) -> None:
    case = await site.new_case(caller_phone=NUMBER)
    for user in ("admin", "dispatcher01", "dept-szs", "inspector01"):
        status, listed = await site.api("GET", "/api/v1/cases", user)
        if status == 200 and listed["items"]:
            assert listed["items"][0]["caller_phone"] == "138****0000", user
    status, view = await site.api("GET", f"/api/v1/cases/{case['case_no']}", "admin")
    assert status == 200 and view["caller_phone"] == "138****0000"
    status, view = await site.api("GET", f"/api/v1/cases/{case['case_no']}", "lead01")
    assert status == 200 and view["caller_phone"] == NUMBER


async def test_the_phone_filter_is_exact_normalised_audited_and_only_for_agents_and_leads(site: Site) -> None:
    await site.new_case(caller_phone=NUMBER)
    for suffix in ("0000", "40000", "2340000"):  # the digit-by-digit recovery of a masked number
        status, listed = await site.api("GET", f"/api/v1/cases?phone={suffix}", "agent01")
        assert status == 200 and listed["total"] == 0
    for typed in (NUMBER, "138-1234-0000"):
        status, listed = await site.api("GET", f"/api/v1/cases?phone={typed}", "lead01")
        assert status == 200 and listed["total"] == 1
    for user in ("dispatcher01", "admin", "dept-szs", "inspector01"):
        status, body = await site.api("GET", f"/api/v1/cases?phone={NUMBER}", user)
        assert status == 403 and body["error"]["code"] == "phone_filter_forbidden", user
    rows = await _audit(site, "case_phone_search")
    expected = [("agent01", mask_phone(s)) for s in ("0000", "40000", "2340000")]
    assert [(r["actor"], r["target"]) for r in rows] == [
        *expected,
        ("lead01", "138****0000"),
        ("lead01", mask_phone("138-1234-0000")),
    ]
    assert all(NUMBER not in str(r) for r in rows)


async def test_caller_lookup_is_refused_to_admins(site: Site) -> None:
    status, body = await site.api("GET", f"/api/v1/console/caller?phone={NUMBER}", "admin")
    assert status == 403, body
    status, _ = await site.api("GET", f"/api/v1/console/caller?phone={NUMBER}", "agent01")
    assert status == 200


async def test_only_reveal_roles_get_the_button_and_the_reveal(site: Site) -> None:
    case = await site.new_case(caller_phone=NUMBER)
    for user in ("admin", "agent01"):
        browser = await site.as_user(user)
        _, html = await browser.get(f"/case/{case['case_no']}")
        assert "显示完整号码" not in html
        status, html = await browser.post(f"/case/{case['case_no']}/phone", {})
        assert status == 403, user
        if user == "admin":
            assert NUMBER not in html
    assert await _audit(site, "reveal_phone") == []


async def test_reveals_are_rate_limited_per_user_and_hour(site: Site, clock) -> None:  # type: ignore[no-untyped-def]
    case = await site.new_case(caller_phone=NUMBER)
    browser = await site.as_user("dispatcher01")
    await browser.get(f"/case/{case['case_no']}")
    for _ in range(REVEALS_PER_HOUR):
        status, html = await browser.post(f"/case/{case['case_no']}/phone", {})
        assert status == 200 and NUMBER in html
    status, html = await browser.post(f"/case/{case['case_no']}/phone", {})
    assert status == 429 and NUMBER not in html
    assert len(await _audit(site, "reveal_phone")) == REVEALS_PER_HOUR
    clock.advance(minutes=61)
    await browser.get(f"/case/{case['case_no']}")
    status, html = await browser.post(f"/case/{case['case_no']}/phone", {})
    assert status == 200 and NUMBER in html
