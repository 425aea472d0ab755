"""/reports in Debian's Chromium: a leader logs in and lands on it, every section is drawn (KPIs, rankings with
grades, trend, the unit-cell heat map from the platform's own GeoJSON, lists, hotline levels), no full phone
number shows, the exports download; screenshots on a 1920×1080 wall screen and on a 1366×768 laptop
(test-artifacts/reports-*.png, looked at by a person after a layout change)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import ARTIFACTS, PASSWORD, Site, hotline, login, shot, start_site, stop_site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = start_site(tmp_path_factory.mktemp("reports"))
    try:
        hotline(running.env, "user", "add", "leader01", "--role", "leader", "--name", "县领导", "--password", PASSWORD)
        yield running
    finally:
        stop_site(running)


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_the_leader_lands_on_reports_and_sees_every_section(site: Site, browser, size) -> None:  # type: ignore[no-untyped-def]
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = login(context, site.url, "leader01")
    assert page.url.endswith("/reports"), page.url  # the leader's landing page
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    assert page.get_attribute("body", "data-ready") == "1", page.inner_text("#rep-status")
    page.wait_for_load_state("networkidle")
    shot(page, f"reports-{width}x{height}")
    page.screenshot(path=str(ARTIFACTS / f"reports-{width}x{height}-full.png"), full_page=True)
    assert page.locator("#rep-summary .rep-kpi").count() == 9
    assert page.locator('[data-table="department_ranking"] tbody tr').count() >= 1
    assert page.locator('[data-table="hotline_hour"] tbody tr').count() == 24
    for chart in ("#c-dep", "#c-region", "#c-trend", "#c-map", "#c-classes", "#c-hotline"):
        assert page.locator(f"{chart} canvas").count() >= 1, chart  # ECharts drew it
    note = page.inner_text("#map-note")
    assert "单元网格" in note
    text = page.inner_text("body")
    assert not PHONE.search(text), PHONE.search(text)  # never a full phone number
    assert "综合评价" in page.inner_text("nav.mainnav")
    if width == 1920:  # two columns on the wall screen, one on the laptop
        boxes = [
            page.locator(s).bounding_box()
            for s in ("section[aria-labelledby=h-dep]", "section[aria-labelledby=h-region]")
        ]
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    else:
        boxes = [
            page.locator(s).bounding_box()
            for s in ("section[aria-labelledby=h-dep]", "section[aria-labelledby=h-region]")
        ]
        assert boxes[1]["y"] > boxes[0]["y"]
    href = page.get_attribute('[data-table="department_ranking"] a.exports', "href")
    answer = context.request.get(site.url + href)
    assert answer.ok and load_workbook(io.BytesIO(answer.body())).active.cell(1, 1).value == "排名"
    answer = context.request.post(
        f"{site.url}/api/v1/evaluation/bulletins",
        data={"start": "2026-01-01"},
        headers={"X-CSRF-Token": page.get_attribute("meta[name=csrf-token]", "content")},
    )
    assert answer.status == 403  # read-only
    context.close()


def test_the_heat_map_follows_the_class_filter(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    page = login(context, site.url, "leader01")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    options = page.locator("#f-major option")
    assert options.count() > 2
    before = page.inner_text("#map-note")
    with page.expect_response(lambda r: "/api/v1/evaluation/hotspots" in r.url and "major=" in r.url) as got:
        page.select_option("#f-major", index=1)
    assert got.value.ok
    page.wait_for_load_state("networkidle")
    page.locator("#c-map").screenshot(path=str(ARTIFACTS / "reports-map-class.png"))
    assert page.inner_text("#map-note") != "" and before != ""
    context.close()
