"""城管通 in Chromium on a phone (360 × 640, touch, geolocation override, offline switch): a report made offline
with two photos reaches the agent's case view once the phone is back online; a 核查 task assigned by duty grid
is answered on site with a photo and the case can be closed, while another inspector is refused; a
submission sent again after a lost answer still makes one case. Screenshots in test-artifacts/inspector-*."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import ROOT, Site, hotline, login, shot, until
from ticketing.geo.demo import demo_gazetteer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "device_scale_factor": 2,
}


def centre(grid: str) -> tuple[float, float]:
    g = demo_gazetteer()
    cells = [c for c in g.cells.values() if c.duty_grid == grid]
    lon, lat = g.centroid(cells[len(cells) // 3].geometry)
    return lat, lon


ZR01 = centre("330424001-ZR01")


def phone(browser: Any, at: tuple[float, float] = ZR01) -> Any:
    return browser.new_context(
        **PHONE, geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 9}, permissions=["geolocation"]
    )


def photo_file(tmp: Path, name: str, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    path = tmp / name
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
    return path


class Tokens:
    def __init__(self, site: Site) -> None:
        self.site, self.cache = site, {}

    def __call__(self, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if user not in self.cache:
            out = hotline(self.site.env, "token", "create", user)
            self.cache[user] = re.findall(r"\S{20,}", out)[-1]
        request = urllib.request.Request(
            self.site.url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.cache[user]}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def call(site: Site) -> Tokens:
    return Tokens(site)


def db(site: Site, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site.tmp / "e2e.db") as conn:
        return conn.execute(sql, args).fetchall()


def open_app(context: Any, site: Site, user: str = "inspector01") -> Any:
    page = login(context, site.url, user)
    assert page.url.endswith("/inspector"), page.url
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    until(page, "document.getElementById('pos-text').textContent.includes('精度')")
    return page


def choose_category(page: Any, query: str, name: str) -> None:
    page.fill("#cat-q", query)
    page.locator("#cat-list button", has_text=name).first.tap()
    until(page, f"document.getElementById('cat-chosen').textContent.includes('{name}')")


def test_offline_report_with_two_photos_reaches_the_agent_with_photos_and_cell(  # type: ignore[no-untyped-def]
    site: Site, browser, call: Tokens, tmp_path: Path
) -> None:
    context = phone(browser)
    page = open_app(context, site)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    shot(page, "inspector-home")
    page.reload()  # now controlled by the service worker
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("!!navigator.serviceWorker.controller")
    manifest = page.evaluate("fetch('/inspector/manifest.webmanifest').then(r => r.json())")
    assert manifest["start_url"] == "/inspector" and manifest["display"] == "standalone"  # installable

    context.set_offline(True)
    page.wait_for_selector("#net[data-up='0']")
    page.tap("#btn-report")
    choose_category(page, "wsjg", "污水井盖")  # pinyin initials, offline: searched on the phone
    big = photo_file(tmp_path, "a.jpg", (3200, 2400), (150, 90, 60))
    page.set_input_files("#f-photo", [str(big), str(photo_file(tmp_path, "b.jpg", (800, 600), (40, 120, 90)))])
    until(page, "document.querySelectorAll('#photos .thumb').length === 2")
    page.fill("#f-desc", "（测试）人行道污水井盖破损下陷，有行人绊倒危险")
    until(page, "document.getElementById('r-pos').textContent.includes('GPS')")
    shot(page, "inspector-report-offline")
    page.tap("#btn-send-report")
    until(page, "document.getElementById('queue-badge').textContent.startsWith('1 条待发送')")
    assert page.is_visible("#queue-badge")
    shot(page, "inspector-queued-offline")
    page.reload()  # the app shell comes from the service worker; the queue from IndexedDB
    page.wait_for_selector("body[data-ready='1']")
    until(page, "document.getElementById('queue-badge').textContent.startsWith('1 条待发送')")
    assert db(site, "SELECT count(*) FROM cases WHERE description LIKE '（测试）人行道%'") == [(0,)]

    context.set_offline(False)
    page.wait_for_selector("#queue-badge", state="hidden", timeout=30_000)
    shot(page, "inspector-sent")
    rows = db(site, "SELECT case_no, source, cell_code, created_by FROM cases WHERE description LIKE '（测试）人行道%'")
    assert len(rows) == 1 and rows[0][1:] in [("inspector", rows[0][2], "inspector01")] and rows[0][2]
    case_no = rows[0][0]
    status, case = call("agent01", "GET", f"/api/v1/cases/{case_no}")
    ids = case["history"][0]["payload"]["photos"]
    assert status == 200 and len(ids) == 2 and case["cell_code"].startswith("330424001")
    sizes = db(site, f"SELECT width, height FROM photos WHERE id IN ({','.join('?' * len(ids))})", *ids)
    assert max(max(s) for s in sizes) <= 1600  # downscaled on the phone before upload

    agent = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk = login(agent, site.url, "agent01")  # the console lists the inspectors' reports waiting for 受理
    desk.wait_for_selector(f"#inspector-reports a:has-text('{case_no}')")
    assert case["cell_code"] in desk.inner_text("#inspector-reports")
    shot(desk, "inspector-report-in-console")
    desk.click(f"#inspector-reports a:has-text('{case_no}')")
    desk.wait_for_url(f"**/case/{case_no}")
    until(desk, "[...document.querySelectorAll('.photos img')].filter(i => i.complete && i.naturalWidth).length === 2")
    assert case["cell_code"] in desk.inner_text("body")
    shot(desk, "inspector-case-at-agent")
    agent.close()
    assert errors == []
    context.close()


def test_a_check_task_by_duty_grid_is_answered_on_site_and_another_inspector_is_refused(  # type: ignore[no-untyped-def]
    site: Site, browser, call: Tokens, tmp_path: Path
) -> None:
    status, case = call(
        "agent01",
        "POST",
        "/api/v1/cases",
        {
            "source": "hotline",
            "description": "（测试）井盖松动，车辆经过有响声",
            "category_code": "10102",
            "lat": ZR01[0],
            "lon": ZR01[1],
            "accept": True,
        },
    )
    assert status == 201, case
    for user, command, body in (
        ("lead01", "register", {}),
        ("dispatcher01", "dispatch", {"department": "szs"}),
        ("dept-szs", "submit_result", {"notes": "已紧固井盖"}),
        ("agent01", "request_check", {}),
    ):
        status, case = call(
            user, "POST", f"/api/v1/cases/{case['case_no']}/actions/{command}", {"version": case["version"], **body}
        )
        assert status == 200, (command, case)
    task = next(r for r in case["requests"] if r["kind"] == "check" and r["state"] == "pending")
    assert task["payload"]["assignee"] == "inspector01"  # the inspector of the duty grid holding the cell

    other = phone(browser)
    intruder = open_app(other, site, "inspector02")
    answer = {"case_no": case["case_no"], "command": "check_pass", "version": case["version"], "notes": "已修好"}
    refused = intruder.evaluate(
        """async (data) => {
        const form = new FormData(); form.append('data', JSON.stringify(data));
        const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 48;
        canvas.getContext('2d').fillRect(0, 0, 64, 48);
        form.append('photos', await new Promise((ok) => canvas.toBlob(ok, 'image/jpeg')), 'x.jpg');
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch('/api/v1/inspector/answers', {method: 'POST', body: form, headers: {
          'Idempotency-Key': crypto.randomUUID(), 'X-CSRF-Token': csrf}});
        return [r.status, await r.json()]; }""",
        answer,
    )
    assert refused[0] == 403 and "inspector01" in refused[1]["error"]["message"], refused
    assert case["case_no"] not in intruder.inner_text("#tasks")
    other.close()

    context = phone(browser)
    page = open_app(context, site)
    page.wait_for_selector(f"#tasks button:has-text('{case['case_no']}')")
    shot(page, "inspector-task-list")
    page.locator("#tasks button", has_text=case["case_no"]).tap()
    page.wait_for_selector("#view-task:not([hidden])")
    page.locator("#answer-choices label", has_text="通过").first.tap()
    page.tap("#btn-send-answer")
    assert "照片" in page.inner_text("#answer-msg")  # required for 核查: said before anything is sent
    page.set_input_files("#a-photo", [str(photo_file(tmp_path, "c.jpg", (1200, 900), (90, 90, 90)))])
    until(page, "document.querySelectorAll('#a-photos .thumb').length === 1")
    until(page, "document.getElementById('a-pos').textContent.includes('距案件位置')")
    shot(page, "inspector-answer")
    page.tap("#btn-send-answer")
    until(page, "document.getElementById('toasts').textContent.includes('已反馈')", timeout=30_000)
    status, view = call("lead01", "GET", f"/api/v1/cases/{case['case_no']}")
    assert view["check_result"] == "passed"
    passed = next(h for h in view["history"] if h["command"] == "check_pass")
    assert passed["actor"] == "inspector01" and len(passed["payload"]["photos"]) == 1
    assert passed["payload"]["site"]["distance_m"] < 50 and passed["payload"]["site"]["far"] is False
    status, closed = call(
        "lead01", "POST", f"/api/v1/cases/{case['case_no']}/actions/close", {"version": view["version"]}
    )
    assert status == 200 and closed["state"] == "closed"
    shot(page, "inspector-home-after-answer")
    context.close()


def handled_check(call: Tokens, description: str) -> dict[str, Any]:
    status, case = call(
        "agent01",
        "POST",
        "/api/v1/cases",
        {
            "source": "hotline",
            "description": description,
            "category_code": "10102",
            "lat": ZR01[0],
            "lon": ZR01[1],
            "accept": True,
        },
    )
    assert status == 201, case
    for user, command, body in (
        ("lead01", "register", {}),
        ("dispatcher01", "dispatch", {"department": "szs"}),
        ("dept-szs", "submit_result", {"notes": "已处理"}),
        ("agent01", "request_check", {}),
    ):
        status, case = call(
            user, "POST", f"/api/v1/cases/{case['case_no']}/actions/{command}", {"version": case["version"], **body}
        )
        assert status == 200, (command, case)
    return case


def test_an_offline_answer_to_a_task_that_moved_on_is_kept_with_a_clear_message(  # type: ignore[no-untyped-def]
    site: Site, browser, call: Tokens, tmp_path: Path
) -> None:
    case = handled_check(call, "（测试）井盖缺失待核查")
    context = phone(browser)
    page = open_app(context, site)
    page.wait_for_selector(f"#tasks button:has-text('{case['case_no']}')")
    context.set_offline(True)
    page.locator("#tasks button", has_text=case["case_no"]).tap()
    page.locator("#answer-choices label", has_text="通过").first.tap()
    page.set_input_files("#a-photo", [str(photo_file(tmp_path, "e.jpg", (800, 600), (10, 80, 160)))])
    until(page, "document.querySelectorAll('#a-photos .thumb').length === 1")
    page.tap("#btn-send-answer")
    until(page, "document.getElementById('queue-badge').textContent.startsWith('1 条待发送')")
    # meanwhile the lead gives the task to inspector02: the phone's answer no longer fits the case
    status, view = call("lead01", "GET", f"/api/v1/cases/{case['case_no']}")
    status, moved = call(
        "lead01",
        "POST",
        f"/api/v1/cases/{case['case_no']}/actions/reassign_inspector",
        {"version": view["version"], "inspector": "inspector02"},
    )
    assert status == 200, moved
    context.set_offline(False)
    until(page, "document.getElementById('queue-badge').textContent.includes('1 需处理')", timeout=30_000)
    page.tap("#queue-badge")
    page.wait_for_selector("#queue .q-err")
    assert "inspector02" in page.inner_text("#queue .q-err")  # says why, in Chinese
    assert page.is_visible("#queue [data-retry]") and page.is_visible("#queue [data-drop]")
    items = page.evaluate("window.inspectorApp.queue().then(q => q.map(i => [i.photos.length, i.data.case_no]))")
    assert items == [[1, case["case_no"]]]  # nothing typed or photographed is lost
    shot(page, "inspector-queue-refused")
    status, view = call("lead01", "GET", f"/api/v1/cases/{case['case_no']}")
    assert view["check_result"] is None
    context.close()


def test_a_report_sent_again_after_a_lost_answer_makes_one_case(site: Site, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = phone(browser)
    page = open_app(context, site)
    lost = {"n": 0}

    def lose_first_answer(route: Any) -> None:  # the server gets and stores it; the phone never hears back
        if lost["n"] == 0:
            lost["n"] += 1
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/inspector/reports", lose_first_answer)
    page.tap("#btn-report")
    choose_category(page, "ld", "路灯")
    page.set_input_files("#f-photo", [str(photo_file(tmp_path, "d.jpg", (640, 480), (200, 200, 40)))])
    page.fill("#f-desc", "（测试）路灯白天常亮")
    page.tap("#btn-send-report")
    until(page, "document.getElementById('queue-badge').textContent.startsWith('1 条待发送')")
    assert lost["n"] == 1
    page.evaluate("window.inspectorApp.flush()")  # sent again with the same Idempotency-Key
    until(page, "document.getElementById('queue-badge').hidden", timeout=30_000)
    assert db(site, "SELECT count(*) FROM cases WHERE description = '（测试）路灯白天常亮'") == [(1,)]
    assert db(
        site,
        "SELECT count(*) FROM inspector_submissions s JOIN cases c ON c.case_no = s.case_no "
        "WHERE c.description = '（测试）路灯白天常亮'",
    ) == [(1,)]
    context.close()


def test_a_file_that_is_not_an_image_is_refused_on_the_phone(site: Site, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = phone(browser)
    page = open_app(context, site)
    page.tap("#btn-report")
    text = tmp_path / "notes.txt"
    text.write_text("不是照片")
    page.set_input_files("#f-photo", [str(text)])
    until(page, "document.getElementById('report-msg').textContent.includes('不是图片')")
    assert page.locator("#photos .thumb").count() == 0
    context.close()


def test_gps_refused_means_the_place_is_picked_on_the_map(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE)
    # The user answers the browser's location prompt with "block": the phone reports PERMISSION_DENIED.
    context.add_init_script("""navigator.geolocation.watchPosition = (ok, fail) => {
        setTimeout(() => fail({code: 1, message: 'User denied Geolocation'}), 50); return 1; };""")
    page = login(context, site.url, "inspector01")
    page.wait_for_selector("body[data-ready='1']")
    page.tap("#btn-report")
    until(page, "document.getElementById('r-pos').textContent.includes('地图上点选')")
    page.locator("#report-map").scroll_into_view_if_needed()
    box = page.locator("#report-map canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    until(page, "document.getElementById('r-pos').textContent.includes('地图选点')")
    until(page, "document.getElementById('r-pos').textContent.includes('单元网格')")
    shot(page, "inspector-picked-on-map")
    context.close()


def test_an_online_report_names_its_component_and_takes_a_dictated_description(  # type: ignore[no-untyped-def]
    site: Site, browser, tmp_path: Path
) -> None:
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    clip = ROOT / "tests" / "fixtures" / "audio" / "callers" / "c04.wav"  # a caller's sentence about rubbish
    fake_mic = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={clip}",
    ]
    # A second Chromium of the same Playwright, with a fake microphone that plays a caller's clip.
    mic_browser = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + fake_mic)
    try:
        context = phone(mic_browser)
        context.grant_permissions(["geolocation", "microphone"])
        page = open_app(context, site)
        page.tap("#btn-report")
        choose_category(page, "污水", "污水井盖")
        page.wait_for_selector("#components input[name=comp][value]:not([value=''])")
        chosen = page.locator("#components input[name=comp]:not([value=''])").first
        component = chosen.get_attribute("value")
        assert re.fullmatch(r"\d{16}", component or "")  # the cover itself, by its 16-digit id
        chosen.check()
        page.tap("#btn-voice")
        until(page, "document.getElementById('voice-text').textContent.includes('正在录音')")
        page.wait_for_timeout(3800)
        page.tap("#btn-voice")  # stop: the WAV goes to the platform's speech engine
        until(page, "!document.getElementById('voice-text').textContent.includes('正在')", timeout=120_000)
        said = page.input_value("#f-desc")
        assert len(re.findall(r"[\u4e00-\u9fff]", said)) >= 4, page.inner_text("#voice-text")  # some Mandarin
        shot(page, "inspector-dictated")
        page.fill("#f-desc", said + "（测试，语音）")
        page.tap("#btn-send-report")
        until(page, "document.getElementById('toasts').textContent.includes('已上报')", timeout=30_000)
        rows = db(site, "SELECT component_id, source FROM cases WHERE description LIKE '%（测试，语音）'")
        assert rows == [(component, "inspector")]
        context.close()
    finally:
        mic_browser.close()


def test_on_duty_positions_reach_the_wallboard_and_the_leads_day_view(site: Site, browser) -> None:  # type: ignore[no-untyped-def]
    context = phone(browser)
    page = open_app(context, site)
    page.tap("#btn-duty")
    until(page, "document.getElementById('duty-text').textContent.startsWith('在岗')")
    assert page.get_attribute("#btn-duty", "aria-pressed") == "true"
    lead = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN")
    wall = login(lead, site.url, "lead01")
    wall.goto(f"{site.url}/wallboard")
    wall.wait_for_selector("body[data-ready='1']")
    until(wall, "window.wallMap.layers.people.some(p => p.username === 'inspector01')", timeout=15_000)
    shot(wall, "inspector-wallboard-positions")
    wall.goto(f"{site.url}/inspectors?u=inspector01")
    wall.wait_for_selector("body[data-ready='1']")
    assert "在岗" in wall.inner_text("#inspectors-table")
    assert "（0 个定位点）" not in wall.inner_text("#trail-title")
    shot(wall, "inspector-lead-day")
    page.tap("#btn-duty")  # off duty: the phone stops sending, the server would refuse
    until(page, "document.getElementById('duty-text').textContent.startsWith('未上岗')")
    refused = page.evaluate("""async () => { const r = await fetch('/api/v1/inspector/positions', {method: 'POST',
        headers: {'Content-Type': 'application/json',
                  'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
        body: JSON.stringify({lat: 30.51, lon: 120.93})}); return [r.status, (await r.json()).error.message]; }""")
    assert refused[0] == 409 and "未上岗" in refused[1]
    wall.goto(f"{site.url}/wallboard")
    wall.wait_for_selector("body[data-ready='1']")
    wall.wait_for_timeout(500)
    assert wall.evaluate("window.wallMap.layers.people.length") == 0
    lead.close()
    context.close()


def test_offline_the_cell_and_nearby_components_come_from_the_phone(  # type: ignore[no-untyped-def]
    site: Site, browser, tmp_path: Path
) -> None:
    """The duty grid's cells (cached map) and components (fetched after start, kept by the service worker)
    let the phone snap the fix and offer the nearby 井盖 without network; the server snaps again on sending."""
    context = phone(browser)
    page = open_app(context, site)
    page.reload()  # controlled by the service worker from now on
    page.wait_for_selector("body[data-ready='1']")
    until(page, "document.body.dataset.offline === '1'", timeout=30_000)
    lat, lon = ZR01
    online_cell = page.evaluate(f"fetch('/api/v1/grid/locate?lat={lat}&lon={lon}').then(r => r.json())")["cell_code"]
    nearby = page.evaluate(
        f"fetch('/api/v1/components?lat={lat}&lon={lon}&radius=60&class=0102').then(r => r.json())")["items"]
    assert nearby, "the demo data has a 污水井盖 near the test position"

    context.set_offline(True)
    page.reload()  # offline from the start: shell, map and components all from the phone
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#net[data-up='0']")
    until(page, "document.body.dataset.offline === '1'")
    page.tap("#btn-report")
    choose_category(page, "wsjg", "污水井盖")
    until(page, f"document.getElementById('r-pos').textContent.includes('单元网格 {online_cell}（离线判定')")
    page.wait_for_selector("#components input[name=comp][value]:not([value=''])")
    offered = page.eval_on_selector_all(
        "#components input[name=comp]:not([value=''])", "els => els.map(e => e.value)")
    assert offered[0] == nearby[0]["id"]  # the same nearest cover the server offers online
    assert set(offered) <= {k["id"] for k in nearby}
    assert "离线数据" in page.inner_text("#components")
    shot(page, "inspector-offline-snap")
    page.locator("#components input[name=comp]:not([value=''])").first.check()
    page.fill("#f-desc", "（测试，离线部件）井盖松动")
    page.set_input_files("#f-photo", [str(photo_file(tmp_path, "g.jpg", (800, 600), (60, 60, 160)))])
    until(page, "document.querySelectorAll('#photos .thumb').length === 1")
    page.tap("#btn-send-report")
    until(page, "document.getElementById('queue-badge').textContent.startsWith('1 条待发送')")
    context.set_offline(False)
    page.wait_for_selector("#queue-badge", state="hidden", timeout=30_000)
    rows = db(site, "SELECT cell_code, component_id FROM cases WHERE description = '（测试，离线部件）井盖松动'")
    assert rows == [(online_cell, offered[0])]  # the server's snap agrees with the phone's
    context.close()
