"""Who may read a photo (web/api/photos.py `may_read_photo`), per role, over HTTP: an inspector's 上报 photos
reach the department the case is dispatched to (through the case page), stay readable after the case goes
back, to the inspector holding a 核实 task on it, and are refused to a department it never went to, to an inspector
without a task (or whose task was reassigned) and to the administrator."""

from __future__ import annotations

import io
import json
import re
import uuid

from aiohttp import FormData
from PIL import Image

from config.bootstrap import engine_for
from core import accounts
from tests.contract.test_inspector_api import ZR01
from tests.integration.test_web_support import PASSWORD, Site, site_fixture  # noqa: F401
from ticketing.domain.model import Role
from ticketing.geo.demo import seed_demo


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 40)).save(out, "JPEG")
    return out.getvalue()


async def status_of(site: Site, path: str) -> int:
    async with site.client.get(path) as resp:
        return resp.status


async def test_photo_read_rule_per_role(site: Site, db_settings, clock) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    async with engine.begin() as conn:
        for username, role in (("inspector02", Role.INSPECTOR), ("leader01", Role.LEADER)):
            await accounts.add_user(conn, username=username, display_name=username, role=role, now=clock(),
                                    password=PASSWORD)
    await seed_demo(engine)
    await engine.dispose()

    form = FormData()
    data = {"category_code": "10102", "description": "污水井盖破损，有塌陷危险", "lat": ZR01[0], "lon": ZR01[1]}
    form.add_field("data", json.dumps(data), content_type="application/json")
    form.add_field("photos", io.BytesIO(jpeg()), filename="a.jpg", content_type="image/jpeg")
    headers = {"Authorization": f"Bearer {site.tokens['inspector01']}", "Idempotency-Key": uuid.uuid4().hex}
    async with site.client.post("/api/v1/inspector/reports", data=form, headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        no = (await resp.json())["case_no"]
    _, view = await site.api("GET", f"/api/v1/cases/{no}", "lead01")
    photo = view["history"][0]["payload"]["photos"][0]
    url, through_case = f"/photos/{photo}", f"/photos/{photo}?case={no}"

    await site.as_user("dept-szs")  # not dispatched yet: the department has no part in the case
    assert await status_of(site, through_case) == 403
    await site.act(no, "accept", "agent01")
    await site.as_user("inspector02")  # an inspector with no task on the case
    assert await status_of(site, through_case) == 403
    await site.act(no, "request_verification", "agent01")  # 发核实: to the duty grid's inspector
    await site.act(no, "reassign_inspector", "lead01", inspector="inspector02")
    await site.as_user("inspector02")  # now holds the 核实 task: reads what the reporter photographed
    assert await status_of(site, through_case) == 200
    assert await status_of(site, url) == 403  # but only through the case
    await site.act(no, "reassign_inspector", "lead01", inspector="inspector01")
    await site.act(no, "report_verified", "inspector01", confirmed=True, lat=ZR01[0], lon=ZR01[1])
    await site.act(no, "register", "lead01")
    await site.act(no, "dispatch", "dispatcher01", department="szs")

    browser = await site.as_user("dept-szs")  # the case page links the photos through the case, and they load
    status, html = await browser.get(f"/case/{no}")
    assert status == 200
    links = re.findall(r'src="(/photos/[0-9a-f]{32}/thumb\?case=\d+)"', html)
    assert links == [f"/photos/{photo}/thumb?case={no}"]
    async with site.client.get(links[0]) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert await status_of(site, through_case) == 200
    assert await status_of(site, url) == 403  # without the case it was read through: not this department's upload
    assert await status_of(site, f"/photos/{photo}?case=000000000000") == 403

    await site.as_user("dept-hws")  # a department the case was never dispatched to
    assert await status_of(site, through_case) == 403
    assert await status_of(site, url) == 403

    await site.act(no, "request_return", "dept-szs", reason="不属本单位职责")
    await site.act(no, "approve_return", "dispatcher01")
    await site.as_user("dept-szs")  # returned: the department that had it still reads what it saw
    assert await status_of(site, through_case) == 200

    # inspector02's task was given back to inspector01 (who answered it and keeps reading the photos)
    for user, expected in (("agent01", 200), ("lead01", 200), ("dispatcher01", 200), ("leader01", 200),
                           ("inspector01", 200), ("inspector02", 403), ("admin", 403)):
        await site.as_user(user)
        assert (user, await status_of(site, through_case)) == (user, expected)
    await site.as_user()
    assert await status_of(site, through_case) == 401
    assert await status_of(site, "/photos/" + "f" * 32) == 401
    await site.as_user("agent01")
    assert await status_of(site, "/photos/" + "f" * 32) == 404
