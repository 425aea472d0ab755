"""The department portal and photos: own orders only, sign, return, extension, result with photos."""

from __future__ import annotations

import io
import re

import pytest
from aiohttp import FormData
from PIL import Image

from tests.integration.test_web_support import Site, site_fixture  # noqa: F401
from web.api import photos as photos_api


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


def version_in(html: str, command: str) -> str:
    form = html[html.index(f'id="act-{command}"'):]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found is not None
    return found.group(1)


async def dispatched(site: Site, department: str = "szs", **over: str) -> str:
    case = await site.new_case(**over)
    await site.act(case["case_no"], "register", "lead01")
    await site.act(case["case_no"], "dispatch", "dispatcher01", department=department)
    return str(case["case_no"])


async def upload(site: Site, browser_csrf: str, *files: tuple[str, bytes, str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    form = FormData()
    for name, data, content_type in files:
        form.add_field("file", data, filename=name, content_type=content_type)
    async with site.client.post("/api/v1/photos", data=form, headers={"X-CSRF-Token": browser_csrf}) as resp:
        return resp.status, await resp.json()


async def test_department_sees_only_its_own_orders_with_deadline_and_light(site: Site) -> None:
    ours = await dispatched(site, "szs")
    theirs = await dispatched(site, "hws", description="人民路垃圾桶满溢", category_code="20101")
    browser = await site.as_user("dept-szs")
    status, html = await browser.get("/dept")
    assert status == 200 and ours in html and theirs not in html
    row = html[html.index(ours):]
    row = row[:row.index("</tr>")]
    assert "正常" in row and "未签收" in row and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    status, html = await browser.get(f"/case/{theirs}")
    assert status == 404
    status, html = await browser.get(f"/case/{ours}")
    assert status == 200 and "138****0000" in html and "13812340000" not in html


async def test_department_signs_asks_for_extension_and_submits_the_result_with_photos(site: Site) -> None:
    no = await dispatched(site)
    browser = await site.as_user("dept-szs")
    _, html = await browser.get(f"/case/{no}")
    assert {"act-acknowledge", "act-request_return", "act-request_extension", "act-request_backlog",
            "act-submit_result"} <= set(re.findall(r'id="(act-\w+)"', html))
    status, _ = await browser.post(f"/case/{no}/act/acknowledge", {"version": version_in(html, "acknowledge")})
    assert status == 303
    _, html = await browser.get("/dept")
    assert "已签收" in html
    _, html = await browser.get(f"/case/{no}")
    status, _ = await browser.post(f"/case/{no}/act/request_extension", {
        "version": version_in(html, "request_extension"), "value": "2", "unit": "working_days",
        "reason": "需采购灯具"})
    assert status == 303
    _, html = await browser.get(f"/case/{no}")
    form = FormData()
    for key, value in (("csrf_token", browser.csrf), ("version", version_in(html, "submit_result")),
                       ("notes", "已更换灯泡，恢复照明")):
        form.add_field(key, value)
    form.add_field("photos", image_bytes(), filename="现场.jpg", content_type="image/jpeg")
    form.add_field("photos", image_bytes("PNG", (200, 100)), filename="after.png", content_type="image/png")
    async with site.client.post(f"/case/{no}/act/submit_result", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "lead01")
    assert view["state"] == "handled"
    photo_ids = view["history"][-1]["payload"]["photos"]
    assert len(photo_ids) == 2
    _, html = await browser.get(f"/case/{no}")
    assert f"/photos/{photo_ids[0]}/thumb" in html and "已更换灯泡" in html
    async with site.client.get(f"/photos/{photo_ids[0]}/thumb") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(await resp.read())) as thumb:
            assert max(thumb.size) <= 320
    browser = await site.as_user("dept-hws")  # another department may not read them (web/api/photos.py rule)
    for path in (f"/photos/{photo_ids[0]}", f"/photos/{photo_ids[0]}?case={no}"):
        async with site.client.get(path) as resp:
            assert resp.status == 403


async def test_department_asks_to_return_a_case_with_a_reason(site: Site) -> None:
    no = await dispatched(site)
    browser = await site.as_user("dept-szs")
    _, html = await browser.get(f"/case/{no}")
    status, html = await browser.post(f"/case/{no}/act/request_return",
                                      {"version": version_in(html, "request_return"), "reason": ""})
    assert status == 422
    status, _ = await browser.post(f"/case/{no}/act/request_return",
                                   {"version": version_in(html, "request_return"), "reason": "不属于本部门"})
    assert status == 303
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "dispatcher01")
    assert [(r["kind"], r["state"]) for r in view["requests"]] == [("return", "pending")]


async def test_photo_api_returns_ids_and_checks_the_content(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = await site.as_user("dept-szs")
    await browser.get("/dept")
    status, body = await upload(site, browser.csrf, ("a.jpg", image_bytes(), "image/jpeg"))
    assert status == 201 and len(body["photos"][0]["id"]) == 32
    assert body["photos"][0]["content_type"] == "image/jpeg" and body["photos"][0]["width"] == 800
    status, body = await upload(site, browser.csrf, ("notes.txt", "不是图片".encode(), "text/plain"))
    assert status == 415 and body["error"]["code"] == "photo_rejected"
    status, body = await upload(site, browser.csrf, ("fake.jpg", b"<html>not a jpeg</html>", "image/jpeg"))
    assert status == 415
    # A PNG named .jpg is stored as what it is.
    status, body = await upload(site, browser.csrf, ("really-png.jpg", image_bytes("PNG"), "image/jpeg"))
    assert status == 201 and body["photos"][0]["content_type"] == "image/png"
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    status, body = await upload(site, browser.csrf, ("anim.gif", gif.getvalue(), "image/gif"))
    assert status == 415
    monkeypatch.setattr(photos_api, "MAX_PHOTO_BYTES", 10_000)
    status, body = await upload(site, browser.csrf, ("big.jpg", image_bytes(size=(1600, 1200)), "image/jpeg"))
    assert status == 413 and body["error"]["code"] == "photo_too_large"
    status, _ = await upload(site, "", ("a.jpg", image_bytes(), "image/jpeg"))
    assert status == 403  # the session needs its CSRF token
    status, body = await site.api("POST", "/api/v1/photos", "inspector01",
                                  data={"file": io.BytesIO(image_bytes())})
    assert status == 201  # bearer callers need no CSRF token


async def test_department_pages_are_refused_to_other_roles_and_anonymous_users(site: Site) -> None:
    for username in ("agent01", "lead01", "dispatcher01", "inspector01", "admin"):
        browser = await site.as_user(username)
        status, _ = await browser.get("/dept")
        assert status == 403, username
    browser = await site.as_user()
    status, where = await browser.get("/dept")
    assert status == 302 and where.startswith("/login?next=") and where.endswith("dept")
    async with site.client.get("/photos/" + "0" * 32) as resp:
        assert resp.status == 401
