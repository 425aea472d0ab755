"""/track and /report over HTTP: a report creates a `web` case with its photos; tracking needs the number and
the phone's last four digits (or the 查询码), shows the timeline and nothing personal; both are rate-limited
per client, size-limited, and refuse a submission without the form's token."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
from PIL import Image
from sqlalchemy import func, select

from tests.api_plugin import Api
from web.keys import ENGINE
from web.tables import photos as photo_table

TOKEN = re.compile(r'name="form_token" value="([0-9a-f]{32})"')


async def token(api: Api, path: str) -> str:
    async with api.client.get(path) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        found = TOKEN.search(await resp.text())
    assert found
    return found.group(1)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


async def report(api: Api, photos: int = 1, **fields: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    values = {
        "form_token": await token(api, "/report"),
        "category": "10118",
        "description": "海滨东路路灯不亮很久了",
        "lat": "30.5262",
        "lon": "120.9432",
        "address": "",
        "phone": "13855556666",
        **fields,
    }
    for key, value in values.items():
        form.add_field(key, value)
    for n in range(photos):
        form.add_field("photos", jpeg(), filename=f"p{n}.jpg", content_type="image/jpeg")
    async with api.client.post("/report", data=form) as resp:
        return resp.status, await resp.text()


async def track(api: Api, case_no: str, digits: str) -> tuple[int, str]:
    data = {"form_token": await token(api, "/track"), "case_no": case_no, "last4": digits}
    async with api.client.post("/track", data=data) as resp:
        return resp.status, await resp.text()


def case_no_in(html: str) -> str:
    found = re.search(r'id="case-no">(\d{12})<', html)
    assert found, html
    return found.group(1)


async def test_a_web_report_becomes_a_case_and_the_reporter_can_follow_it(api: Api) -> None:
    status, html = await report(api)
    assert status == 200
    case_no = case_no_in(html)
    _, case = await api.call("GET", f"/api/v1/cases/{case_no}", "lead01")
    assert case["source"] == "web" and case["category"]["code"] == "10118" and case["lat"] == 30.5262
    status, page = await track(api, case_no, "6666")
    assert status == 200 and 'id="timeline"' in page and "已上报" in page
    assert "13855556666" not in page and "路灯不亮很久了" not in page and "海滨东路" not in page
    status, page = await track(api, case_no, "1234")
    assert status == 404 and 'id="timeline"' not in page
    async with api.client.get(f"/open311/v2/requests/{case_no}.json") as resp:
        (item,) = await resp.json()
    assert item["media_url"] and item["description"] == "海滨东路路灯不亮很久了"


async def test_a_report_without_a_phone_gets_a_code_to_track_with(api: Api) -> None:
    status, html = await report(api, photos=0, phone="")
    code = re.search(r'id="code">(\d{4})<', html)
    assert status == 200 and code
    status, _ = await track(api, case_no_in(html), code.group(1))
    assert status == 200


async def test_bad_reports_are_refused_and_nothing_is_saved(api: Api) -> None:
    for fields, photos, expected in [
        ({"description": "短"}, 0, 400),
        ({"lat": "", "lon": "", "address": ""}, 0, 400),
        ({"category": "99999"}, 0, 400),
        ({"phone": "call me"}, 1, 400),
        ({}, 4, 400),
        ({"form_token": "x" * 32}, 0, 403),
    ]:
        status, html = await report(api, photos=photos, **fields)
        assert status == expected and 'role="alert"' in html, (fields, photos)
    _, listed = await api.call("GET", "/api/v1/cases", "lead01")
    assert listed["total"] == 0
    async with api.client.app[ENGINE].connect() as conn:  # nor a photo of a refused report
        assert (await conn.execute(select(func.count()).select_from(photo_table))).scalar_one() == 0


async def test_lookups_and_reports_are_rate_limited_per_client(api: Api, clock: Any) -> None:
    unknown = "200001010001"  # a well-formed number of a day before any case: never issued, on any run date
    statuses = [(await track(api, unknown, "0000"))[0] for _ in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429
    clock.advance(minutes=11)
    assert (await track(api, unknown, "0000"))[0] == 404
    statuses = [(await report(api, photos=0))[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]


async def test_the_report_map_reads_public_roads(api: Api) -> None:
    async with api.client.get("/api/v1/public/roads") as resp:
        assert resp.status == 200 and (await resp.json())["type"] == "FeatureCollection"
