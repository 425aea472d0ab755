"""End to end with real parts: a SIPp citizen calls 12319 and presses 0, our runtime on a real Asterisk
offers the call to extension 8001 (a baresip softphone that answers), the agent logged into the console in
Chromium sees the screen pop, creates and accepts a case with a category and a place clicked on the map,
linked to the call."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bench.screenpop import CHROMIUM, PASSWORD, running_console
from callcenter.settings import TelephonySettings
from tests.e2e.conftest import ARTIFACTS
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp
from web.keys import RUNNING

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]
CALLER = "13800138123"


async def test_sip_call_pops_up_in_the_console_and_becomes_a_case(asterisk: TelephonySettings,
                                                                   tmp_path: Path) -> None:
    phone = BaresipAgent(asterisk, "8001", tmp_path / "a8001", make_tone(tmp_path))

    async def softphone_online(app: web.Application) -> None:
        await agent_online(app[RUNNING].calls, phone, "8001")

    try:
        async with running_console(tmp_path, telephony=asterisk, before_login=softphone_online) as console:
            page = console.page
            await page.wait_for_selector("#reg-pill[data-reg='online']")
            await page.click("#btn-ready")
            await page.wait_for_selector("#state-pill[data-state='ready']")
            steps = [("pause", 1500), ("dtmf", "0"), ("pause", 25000), ("bye",)]
            path = scenario.write(tmp_path, "citizen.xml", steps)
            sipp = asyncio.create_task(run_sipp(asterisk, path, service=asterisk.hotline_number,
                                                workdir=tmp_path, keys={"caller": CALLER}, timeout_s=60))
            await page.wait_for_selector("#screen-pop:not([hidden])", timeout=30_000)
            assert await page.inner_text("#pop-number") == CALLER
            await page.wait_for_selector("#state-pill[data-state='on_call']", timeout=15_000)
            await page.wait_for_function("() => document.querySelector('#pop-ivr').textContent.includes('转人工')")
            await page.wait_for_function(
                "() => document.querySelector('#pop-history').textContent.includes('首次来电')")
            assert await page.is_hidden("#pop-repeat")  # the call being answered is not an earlier call
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console-sip-call.png"))
            await _wallboard_shows_the_agent_on_the_call(page, console.url)

            await page.fill("#f-cat-q", "10118")
            await page.wait_for_selector("#cat-list li[data-i]")
            await page.keyboard.press("Enter")
            box = await page.locator("#map canvas").bounding_box()
            await page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.62)
            await page.wait_for_function("() => document.querySelector('#f-place').textContent.includes('单元网格')")
            await page.fill("#f-desc", "市民来电：路灯不亮")
            await page.click("#btn-create")
            case_no = await (await page.wait_for_selector("#created-case")).inner_text()
            assert re.fullmatch(r"\d{12}", case_no)
            await page.screenshot(path=str(ARTIFACTS / "console-sip-call-case.png"))
            case = await page.evaluate(f"fetch('/api/v1/cases/{case_no}').then(r => r.json())")
            assert case["caller_phone"] == CALLER and case["state"] == "accepted"
            result = await sipp
            assert result.returncode == 0, result.stderr[-2000:]
    finally:
        await phone.stop()


async def _wallboard_shows_the_agent_on_the_call(agent_page: Any, url: str) -> None:
    """The shift lead's wallboard lists 8001 on the call with listen / whisper / barge."""
    context = await agent_page.context.browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    wall = await context.new_page()
    await wall.goto(f"{url}/login")
    await wall.fill("input[name=username]", "lead01")
    await wall.fill("input[name=password]", PASSWORD)
    await wall.click("button[type=submit]")
    await wall.goto(f"{url}/wallboard")
    await wall.wait_for_selector("#agents-table button[data-mode='barge']")
    assert "通话中" in await wall.inner_text("#agents-table")
    await wall.screenshot(path=str(ARTIFACTS / "wallboard-live-call.png"))
    await context.close()
