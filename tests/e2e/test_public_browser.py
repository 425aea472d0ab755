"""A citizen on a phone reports a problem on /report (map pick, photo, phone) and follows it on /track, in
Debian's Chromium against `hotline serve` (temp SQLite, demo data). No Asterisk."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import Site, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True, "has_touch": True}


def photo(tmp: Path) -> Path:
    path = tmp / "lamp.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 160)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_a_citizen_reports_on_a_phone_and_follows_the_case(site: Site, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{site.url}/report")
    page.wait_for_selector("body[data-map-ready='1']")
    page.select_option("select[name=category]", "10118")
    page.fill("textarea[name=description]", "小区门口路灯不亮，晚上很黑")
    box = page.locator("#report-map canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.input_value("#lat") and page.input_value("#lon")
    assert "已选位置" in page.text_content("#picked")
    page.set_input_files("input[name=photos]", str(photo(tmp_path)))
    page.fill("input[name=phone]", "13877778888")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#reported")
    shot(page, "public-reported")
    case_no = page.text_content("#case-no")
    assert case_no and len(case_no.strip()) == 12
    page.goto(f"{site.url}/track")
    page.fill("input[name=case_no]", case_no.strip())
    page.fill("input[name=last4]", "8888")
    page.click("#track-form button[type=submit]")
    page.wait_for_selector("#timeline")
    shot(page, "public-track")
    timeline = page.text_content("#timeline") or ""
    assert "已上报" in timeline and "13877778888" not in timeline and "很黑" not in timeline
    page.fill("input[name=case_no]", case_no.strip())
    page.fill("input[name=last4]", "0000")
    page.click("#track-form button[type=submit]")
    page.wait_for_selector("[role=alert]")
    assert page.locator("#timeline").count() == 0
    context.close()
