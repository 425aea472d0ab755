"""In Chromium: an agent creates and accepts a case with a category and a place chosen on the map; the shift
lead's wallboard, already open, shows it through the websocket. Screenshots in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Site, login, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
VIEWPORT = {"width": 1600, "height": 900}


def test_agent_creates_case_on_the_map_and_it_appears_on_the_open_wallboard(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    lead_ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    wall = login(lead_ctx, site.url, "lead01")
    errors: list[str] = []
    wall.on("pageerror", lambda e: errors.append(str(e)))
    wall.goto(f"{site.url}/wallboard")
    wall.wait_for_selector("body[data-ready='1']")
    wall.wait_for_selector(".live-dot[data-up='1']")

    agent_ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = login(agent_ctx, site.url, "agent01")
    page.on("pageerror", lambda e: errors.append(str(e)))
    assert page.url.endswith("/console")
    page.wait_for_selector("body[data-map-ready='1']")
    shot(page, "console-empty")

    page.fill("#f-cat-q", "ld")  # pinyin initials of 路灯
    page.wait_for_selector("#cat-list li[data-i]")
    assert "路灯" in page.inner_text("#cat-list li.active")
    shot(page, "console-category-search")
    page.keyboard.press("Enter")
    assert "10118" in page.inner_text("#f-cat-chosen")

    box = page.locator("#map canvas").bounding_box()
    # A point near the middle of the map that is not on an existing case's dot (that would open the case).
    px, py = page.evaluate("""() => { const m = window.consoleMap;
        for (let d = 0; d < 200; d += 7) for (const [x, y] of [[d, 0], [0, d], [-d, 0], [0, -d]]) {
          const px = m.w / 2 + x, py = m.h / 2 + y; if (!m._caseAt(px, py)) return [px, py]; } }""")
    page.mouse.click(box["x"] + px, box["y"] + py)
    page.wait_for_function("() => document.querySelector('#f-place').textContent.includes('单元网格')")
    page.wait_for_function("() => document.querySelector('#f-address').value.length > 0")
    page.fill("#f-phone", "13800001234")
    page.fill("#f-desc", "路灯不亮，晚上很黑，行人不安全")
    shot(page, "console-form-filled")
    page.click("#btn-create")
    created = page.wait_for_selector("#created-case")
    case_no = created.inner_text()
    assert re.fullmatch(r"\d{12}", case_no)
    assert "已受理" in page.inner_text("#form-msg")
    page.wait_for_function(f"() => document.querySelector('#my-cases').textContent.includes('{case_no}')")
    shot(page, "console-case-created")

    # The wallboard learns of the case over /ws (no reload) and draws it on its map.
    wall.wait_for_function(f"() => window.wallMap.layers.cases.some(c => c.case_no === '{case_no}')", timeout=10_000)
    shot(wall, "wallboard")
    assert errors == []
    agent_ctx.close()
    lead_ctx.close()


def test_agent_may_not_open_the_wallboard_and_anonymous_users_are_sent_to_login(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{site.url}/console")
    assert "/login" in page.url
    page = login(ctx, site.url, "agent01")
    answer = page.goto(f"{site.url}/wallboard")
    assert answer is not None and answer.status == 403
    ctx.close()
