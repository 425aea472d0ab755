"""Open311 GeoReport v2 by the book: every element of every response in XML and JSON, form-encoded POST,
tokens, media_url, expected_datetime, jurisdiction_id, FixMyStreet's servicerequestupdates, errors as the
spec's list, privacy for cases that did not come in through Open311, per-client read limits; and an
independent client from PyPI (`georeport`) reading our endpoint in both formats."""

from __future__ import annotations

import asyncio
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from georeport import GeoReport
from PIL import Image

from callcenter.rig.local_ports import free_port
from config.bootstrap import create_app
from config.settings import Settings
from tests.api_plugin import Api, _tokens
from web.api.open311_shapes import CREATED_FIELDS, REQUEST_FIELDS, SERVICE_FIELDS, UPDATE_FIELDS
from web.settings import Open311Settings

FORM = {
    "service_code": "10118",
    "lat": "30.5262",
    "long": "120.9432",
    "description": "路灯不亮",
    "phone": "13812345678",
    "first_name": "三",
    "last_name": "张",
    "account_id": "acc-7",
}
ATTRIBUTE = ("variable", "code", "datatype", "required", "datatype_description", "order", "description", "values")


@asynccontextmanager
async def start(settings: Settings, clock: Any, **open311: Any) -> AsyncIterator[Api]:
    tokens = await _tokens(settings, clock)
    if open311:
        settings = settings.model_copy(update={"open311": Open311Settings(**open311)})
    client = TestClient(TestServer(create_app(settings, clock=clock), host="127.0.0.1", port=free_port()))
    await client.start_server()
    try:
        yield Api(client, tokens)
    finally:
        await client.close()


@pytest.fixture
async def o311(db_settings: Settings, clock) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    async with start(db_settings, clock) as api:
        yield api


async def get(api: Api, path: str) -> tuple[int, str, str]:
    async with api.client.get(path) as resp:
        return resp.status, resp.content_type, await resp.text()


async def post(api: Api, fmt: str = "json", **over: str) -> tuple[int, str]:
    data = {**FORM, "api_key": api.tokens["agent01"], **over}
    async with api.client.post(f"/open311/v2/requests.{fmt}", data=data) as resp:
        return resp.status, await resp.text()


def xml_items(text: str, root: str, item: str) -> list[ET.Element]:
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    tree = ET.fromstring(text)
    assert tree.tag == root and all(child.tag == item for child in tree)
    return list(tree)


async def test_services_and_a_definition_are_the_specs_shapes_with_the_classes_conditions(o311: Api) -> None:
    status, kind, text = await get(o311, "/open311/v2/services.xml")
    services = xml_items(text, "services", "service")
    assert status == 200 and kind == "text/xml" and len(services) == 111
    assert all([c.tag for c in s] == list(SERVICE_FIELDS) for s in services)
    lamp = next(s for s in services if s.findtext("service_code") == "10118")
    assert lamp.findtext("metadata") == "true" and lamp.findtext("type") == "realtime"
    async with o311.client.get("/open311/v2/services.json") as resp:
        assert resp.content_type == "application/json"
        listed = await resp.json()
    assert [list(s) for s in listed] == [list(SERVICE_FIELDS)] * 111
    async with o311.client.get("/open311/v2/services/10118.json") as resp:
        definition = await resp.json()
    assert isinstance(definition, dict) and definition["service_code"] == "10118"
    (attribute,) = definition["attributes"]
    assert list(attribute) == list(ATTRIBUTE) and attribute["datatype"] == "singlevaluelist"
    assert "立案条件" in attribute["description"] and [v["key"] for v in attribute["values"]] == ["yes", "unsure", "no"]
    _, _, text = await get(o311, "/open311/v2/services/10118.xml")
    tree = ET.fromstring(text)
    assert tree.tag == "service_definition" and [c.tag for c in tree] == ["service_code", "attributes"]
    (node,) = tree.find("attributes") or []
    assert node.tag == "attribute" and [c.tag for c in node] == list(ATTRIBUTE)
    assert [v.tag for v in node.find("values") or []] == ["value"] * 3
    assert [c.tag for c in (node.find("values") or [])[0]] == ["key", "name"]


async def test_a_form_post_answers_as_the_spec_and_the_request_reads_back_in_both_formats(o311: Api) -> None:
    status, text = await post(o311, "xml", **{"attribute[meets_condition]": "yes"})
    (created,) = xml_items(text, "service_requests", "request")
    assert status == 201 and [c.tag for c in created] == list(CREATED_FIELDS)
    assert created.findtext("account_id") == "acc-7"
    request_id = created.findtext("service_request_id")
    status, _, text = await get(o311, f"/open311/v2/requests/{request_id}.xml")
    (item,) = xml_items(text, "service_requests", "request")
    assert [c.tag for c in item] == list(REQUEST_FIELDS)
    assert item.findtext("status") == "open" and item.findtext("lat") == "30.5262"
    assert item.findtext("requested_datetime", "").endswith("+08:00") and item.findtext("expected_datetime")
    async with o311.client.get(f"/open311/v2/requests/{request_id}.json") as resp:
        (same,) = await resp.json()
    assert list(same) == list(REQUEST_FIELDS) and same["long"] == 120.9432 and "符合" in same["description"]
    assert "13812345678" not in text and "张" not in text
    _, case = await o311.call("GET", f"/api/v1/cases/{request_id}")
    assert case["source"] == "open311" and case["caller_phone"] == "13812345678"
    stage_due = next(d["due_at"] for d in case["deadlines"] if not d["finished_at"])
    assert same["expected_datetime"] == stage_due
    _, _, text = await get(o311, "/open311/v2/requests.xml?status=open&service_code=10118&jurisdiction_id=330424")
    assert [r.findtext("service_request_id") for r in xml_items(text, "service_requests", "request")] == [request_id]


async def test_a_token_leads_to_its_request(o311: Api) -> None:
    from sqlalchemy import select

    from web.keys import ENGINE
    from web.tables import open311_requests

    _, text = await post(o311)
    async with o311.client.app[ENGINE].connect() as conn:
        token = (await conn.execute(select(open311_requests.c.token))).scalar_one()
    _, _, text = await get(o311, f"/open311/v2/tokens/{token}.xml")
    (item,) = xml_items(text, "service_requests", "request")
    assert [c.tag for c in item] == ["service_request_id", "token"] and item.findtext("token") == token


async def test_errors_are_the_specs_list_with_404_403_and_400(o311: Api) -> None:
    cases = [
        await post(o311, api_key=""),
        await post(o311, "xml", lat="", long="", address_string=""),
        await post(o311, service_code="99999"),
        await post(o311, lat="nan"),
        await post(o311, phone="call me"),
    ]
    assert [c[0] for c in cases] == [403, 400, 404, 400, 400]
    assert ET.fromstring(cases[1][1]).tag == "errors"
    async with o311.client.post("/open311/v2/requests.json", json={**FORM, "api_key": o311.tokens["agent01"]}) as r:
        assert r.status == 400 and (await r.json())[0]["code"] == 400
    for path, expected in [
        ("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", 400),
        ("/open311/v2/requests/209901010001.xml", 404),
        ("/open311/v2/services.xml?jurisdiction_id=other.gov", 404),
        ("/open311/v2/requests.json?status=pending", 400),
    ]:
        status, _, text = await get(o311, path)
        assert status == expected, path
        errors = ET.fromstring(text) if path.split("?")[0].endswith(".xml") else None
        if errors is not None:
            assert errors.tag == "errors" and [c.tag for c in errors[0]] == ["code", "description"]


async def test_anonymous_readers_see_other_cases_only_to_road_level_and_without_description(o311: Api) -> None:
    hotline = await o311.create(
        description="海滨东路120号3幢门口路灯不亮，我家老人晚上摔了",
        address="海滨东路120号3幢",
        lat=30.52617,
        lon=120.94318,
    )
    _, text = await post(o311)
    web_no = json.loads(text)[0]["service_request_id"]
    async with o311.client.get(f"/open311/v2/requests.json?service_request_id={hotline['case_no']},{web_no}") as r:
        items = {i["service_request_id"]: i for i in await r.json()}
    other, own = items[hotline["case_no"]], items[web_no]
    assert other["address"] == "海滨东路" and other["description"] is None and other["media_url"] is None
    assert (other["lat"], other["long"]) == (30.526, 120.943)
    assert own["description"] == "路灯不亮" and own["lat"] == 30.5262
    key = o311.tokens["lead01"]
    async with o311.client.get(f"/open311/v2/requests/{hotline['case_no']}.json?api_key={key}") as r:
        (staff,) = await r.json()
    assert staff["address"] == "海滨东路120号3幢" and "摔了" in staff["description"]


async def test_a_site_may_publish_descriptions(db_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    async with start(db_settings, clock, show_descriptions=True) as api:
        case = await api.create(address="海滨东路120号", description="海滨东路120号门口路灯不亮")
        async with api.client.get(f"/open311/v2/requests/{case['case_no']}.json") as resp:
            (item,) = await resp.json()
        assert item["description"] == "海滨东路120号门口路灯不亮" and case["case_no"] and item["address"] == "海滨东路"


async def test_reads_are_limited_per_client(db_settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
    async with start(db_settings, clock, reads_per_minute=3) as api:
        statuses = [(await get(api, "/open311/v2/services.json"))[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        status, _, _ = await get(api, f"/open311/v2/services.json?api_key={api.tokens['agent02']}")
        assert status == 200  # another client
        clock.advance(minutes=1)
        assert (await get(api, "/open311/v2/services.json"))[0] == 200


async def test_status_changes_are_fixmystreet_request_updates(o311: Api, clock) -> None:  # type: ignore[no-untyped-def]
    _, text = await post(o311)
    request_id = json.loads(text)[0]["service_request_id"]
    _, case = await o311.call("GET", f"/api/v1/cases/{request_id}")
    for command, user, body in [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
    ]:
        clock.advance(minutes=5)
        _, case = await o311.act(case, command, user, **body)
    _, _, text = await get(o311, "/open311/v2/servicerequestupdates.xml")
    updates = xml_items(text, "service_requests_updates", "request_update")
    assert all([c.tag for c in u] == list(UPDATE_FIELDS) for u in updates)
    assert [u.findtext("status") for u in updates] == ["open", "investigating", "action_scheduled", "in_progress"]
    assert len({u.findtext("update_id") for u in updates}) == 4


async def test_media_url_is_the_cases_photo_for_its_own_requests_only(o311: Api, clock) -> None:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(buffer, "JPEG")
    form = aiohttp.FormData()
    form.add_field("photos", buffer.getvalue(), filename="after.jpg", content_type="image/jpeg")
    status, uploaded = await o311.call("POST", "/api/v1/photos", "dept-szs", data=form)
    assert status == 201, uploaded
    photo = uploaded["photos"][0]["id"]
    _, text = await post(o311)
    request_id = json.loads(text)[0]["service_request_id"]
    _, case = await o311.call("GET", f"/api/v1/cases/{request_id}")
    for command, user, body in [
        ("accept", "agent01", {}),
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
        ("submit_result", "dept-szs", {"notes": "已修复", "photos": [photo]}),
    ]:
        _, case = await o311.act(case, command, user, **body)
        assert "error" not in case, case
    async with o311.client.get(f"/open311/v2/requests/{request_id}.json") as resp:
        (item,) = await resp.json()
    assert item["media_url"].endswith(f"/open311/v2/media/{request_id}/{photo}.jpg")
    path = item["media_url"].split("127.0.0.1:8080")[-1]
    async with o311.client.get(path) as resp:
        assert resp.status == 200 and resp.content_type == "image/jpeg"
    other = await o311.create()
    async with o311.client.get(f"/open311/v2/media/{other['case_no']}/{photo}.jpg") as resp:
        assert resp.status == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_an_independent_client_reads_our_endpoint(o311: Api, fmt: str) -> None:
    _, text = await post(o311)
    request_id = json.loads(text)[0]["service_request_id"]
    client = GeoReport(str(o311.client.make_url("/open311/v2")), jurisdiction="330424", output_format=fmt)
    services = await asyncio.to_thread(client.get_service_list)
    assert len(services) == 111 and {s["service_code"] for s in services} >= {"10118"}
    definition = await asyncio.to_thread(client.get_service_definition, "10118")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    first = attributes[0] if isinstance(attributes, list) else attributes
    assert first["datatype"] == "singlevaluelist"
    found = await asyncio.to_thread(client.get_service_requests, service_request_id=request_id)
    found = found if isinstance(found, list) else [found]
    assert [r["service_request_id"] for r in found] == [request_id]
    one = await asyncio.to_thread(client.get_service_request, request_id)
    assert one["status"] == "open" and one["service_code"] == "10118"
