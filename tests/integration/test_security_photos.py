"""Photos: permission before anything is stored, ids in submit_result checked, a per-user quota, and a
multipart body without a boundary answered 400 (photos and transcriptions), not 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from tests.integration.test_web_dept import dispatched, image_bytes, upload, version_in
from tests.integration.test_web_support import Site, site_fixture  # noqa: F401
from web.api import photos as photos_api
from web.keys import ENGINE, SETTINGS
from web.tables import photos


async def _stored(site: Site) -> tuple[int, int]:
    async with site.client.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(func.count()).select_from(photos))).scalar_one()
    folder = Path(site.client.app[SETTINGS].data_path("photos"))
    files = sum(1 for _ in folder.rglob("*.*")) if folder.exists() else 0
    return rows, files


async def test_a_result_from_someone_not_allowed_stores_no_photo(site: Site) -> None:
    no = await dispatched(site)
    browser = await site.as_user("dispatcher01")  # may read the case, may not submit a result
    await browser.get(f"/case/{no}")
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "dispatcher01")
    form = FormData()
    for key, value in (("csrf_token", browser.csrf), ("version", str(view["version"])), ("notes", "不该保存")):
        form.add_field(key, value)
    form.add_field("photos", image_bytes(), filename="x.jpg", content_type="image/jpeg")
    async with site.client.post(f"/case/{no}/act/submit_result", data=form, allow_redirects=False) as resp:
        assert resp.status == 403
    assert await _stored(site) == (0, 0)


async def test_result_photo_ids_must_be_ones_own_or_the_cases(site: Site) -> None:
    no = await dispatched(site)
    other = await site.as_user("inspector01")
    status, theirs = await upload(site, other.csrf, ("a.jpg", image_bytes(), "image/jpeg"))
    assert status == 201
    foreign = theirs["photos"][0]["id"]
    dept = await site.as_user("dept-szs")
    status, mine = await upload(site, dept.csrf, ("b.jpg", image_bytes(), "image/jpeg"))
    own = mine["photos"][0]["id"]
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "dept-szs")
    for bad in ([foreign], ["0" * 32], ["not-a-photo-id"]):
        status, error = await site.api(
            "POST",
            f"/api/v1/cases/{no}/actions/submit_result",
            "dept-szs",
            json={"version": view["version"], "notes": "已处理", "photos": bad},
        )
        assert status == 422 and error["error"]["code"] in ("unknown_photo", "validation_failed"), bad
    _, html = await dept.get(f"/case/{no}")
    status, html = await dept.post(
        f"/case/{no}/act/submit_result",
        {"version": version_in(html, "submit_result"), "notes": "已处理", "photo_ids": foreign},
    )
    assert status == 422 and "照片编号无效" in html
    status, view = await site.api(
        "POST",
        f"/api/v1/cases/{no}/actions/submit_result",
        "dept-szs",
        json={"version": view["version"], "notes": "已处理", "photos": [own]},
    )
    assert status == 200 and view["history"][-1]["payload"]["photos"] == [own]


async def test_uploads_stop_at_the_daily_quota(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos_api, "PHOTOS_PER_DAY", 2)
    browser = await site.as_user("inspector01")
    status, _ = await upload(
        site, browser.csrf, ("a.jpg", image_bytes(), "image/jpeg"), ("b.jpg", image_bytes(), "image/jpeg")
    )
    assert status == 201
    status, error = await upload(site, browser.csrf, ("c.jpg", image_bytes(), "image/jpeg"))
    assert status == 429 and error["error"]["code"] == "rate_limited"
    assert (await _stored(site))[0] == 2


@pytest.mark.parametrize("path", ["/api/v1/photos", "/api/v1/transcriptions"])
async def test_multipart_without_a_boundary_is_a_400(site: Site, path: str) -> None:
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed; charset=x"):
        async with site.client.post(
            path,
            data=b"--x\r\nhello\r\n--x--\r\n",
            headers={"Content-Type": content_type, "Authorization": f"Bearer {site.tokens['agent01']}"},
        ) as resp:
            body = await resp.json()
            assert resp.status == 400 and body["error"]["code"] == "bad_multipart", (content_type, body)
