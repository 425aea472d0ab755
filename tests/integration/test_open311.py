"""Open311 GeoReport v2: services and requests in JSON and XML, api_key for posting, errors as lists."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from tests.api_plugin import Api

FORM = {"service_code": "10118", "lat": "30.5262", "long": "120.9432", "description": "路灯不亮",
        "phone": "13812345678", "first_name": "三", "last_name": "张"}


async def _post(api: Api, fmt: str = "json", **over: str):  # type: ignore[no-untyped-def]
    data = {**FORM, "api_key": api.tokens["agent01"], **over}
    async with api.client.post(f"/open311/v2/requests.{fmt}", data=data) as resp:
        return resp.status, await resp.text()


async def test_services_are_the_category_tree_in_json_and_xml(api: Api) -> None:
    async with api.client.get("/open311/v2/services.json") as resp:
        services = await resp.json()
    lamp = next(s for s in services if s["service_code"] == "10118")
    assert lamp["service_name"] == "路灯" and lamp["group"] == "部件-公用设施" and len(services) == 111
    async with api.client.get("/open311/v2/services.xml") as resp:
        root = ET.fromstring(await resp.text())
    assert resp.content_type == "text/xml" and root.tag == "services" and len(root) == 111
    async with api.client.get("/open311/v2/services/10118.json") as resp:
        assert (await resp.json()) == [{"service_code": "10118", "attributes": []}]


async def test_post_creates_a_case_and_reading_it_back_hides_the_caller(api: Api) -> None:
    status, body = await _post(api)
    assert status == 201
    request_id = json.loads(body)[0]["service_request_id"]
    async with api.client.get(f"/open311/v2/requests/{request_id}.json") as resp:
        (item,) = await resp.json()
    assert item["status"] == "open" and item["service_name"] == "路灯" and item["lat"] == 30.5262
    assert "13812345678" not in str(item) and "张" not in str(item)
    _, case = await api.call("GET", f"/api/v1/cases/{request_id}")
    assert case["source"] == "open311" and case["caller_phone"] == "13812345678"
    async with api.client.get("/open311/v2/requests.xml?status=open&service_code=10118") as resp:
        root = ET.fromstring(await resp.text())
    assert [r.findtext("service_request_id") for r in root] == [request_id]


async def test_errors_are_open311_error_lists(api: Api) -> None:
    status, body = await _post(api, api_key="")
    assert status == 403 and "api_key" in body
    status, body = await _post(api, "xml", lat="", long="", address_string="")
    assert status == 400 and ET.fromstring(body).tag == "errors"
    status, body = await _post(api, service_code="99999")
    assert status == 422 and "类别" in body
    status, body = await _post(api, lat="nan")
    assert status == 400
    async with api.client.get("/open311/v2/requests.json?start_date=2026-01-01&end_date=2026-11-01") as resp:
        assert resp.status == 400 and (await resp.json())[0]["code"] == 400
    async with api.client.get("/open311/v2/requests/209901010001.json") as resp:
        assert resp.status == 404
