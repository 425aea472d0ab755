"""The geo API through HTTP on SQLite and PostgreSQL: answers on the demo data and clear 4xx errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config.bootstrap import create_app, engine_for
from config.settings import Settings
from core import accounts
from ticketing.domain.model import Role
from ticketing.geo.demo import seed_demo

Call = Any


@pytest.fixture
async def geo_api(db_settings: Settings, clock, aiohttp_client) -> Call:  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    async with engine.begin() as conn:
        await accounts.add_user(conn, username="inspector01", display_name="监督员一", role=Role.INSPECTOR,
                                now=clock(), department_code=None)
        token = await accounts.create_token(conn, "inspector01", clock(), days=1)
    await seed_demo(engine)
    await engine.dispose()
    client: TestClient = await aiohttp_client(create_app(db_settings, clock=clock))

    async def call(path: str, auth: bool = True) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if auth else {}
        async with client.get(path, headers=headers) as resp:
            return resp.status, await resp.json()

    return call


async def test_geocode_a_caller_sentence(geo_api: Call) -> None:
    status, body = await geo_api("/api/v1/geocode?q=我要反映一下，海边东路一百二十号门口的路灯坏了")
    assert status == 200
    best = body["candidates"][0]
    assert best["label"] == "海滨东路120号" and best["kind"] == "门牌" and best["demo"] is True
    assert best["place"]["street_dept_code"] == "wyjd" and "演示数据" in best["place"]["label"]


async def test_reverse_locate_cells_and_components(geo_api: Call) -> None:
    status, body = await geo_api("/api/v1/reverse-geocode?lat=30.5154&lon=120.955")
    assert status == 200 and body["address"].startswith("海滨东路") and body["road"]["name"] == "海滨东路"
    status, cell = await geo_api("/api/v1/grid/locate?lat=30.5154&lon=120.955")
    assert status == 200 and cell["cell_code"].startswith("330424001") and cell["duty_grid"]["inspector"]
    status, cells = await geo_api("/api/v1/grid/cells?bbox=120.950,30.514,120.956,30.518")
    assert status == 200 and cells["type"] == "FeatureCollection" and 10 <= len(cells["features"]) <= 80
    status, near = await geo_api("/api/v1/components?lat=30.5154&lon=120.955&radius=200&class=路灯")
    assert status == 200 and near["items"] and all(i["class_code"] == "0118" for i in near["items"])
    status, one = await geo_api(f"/api/v1/components/{near['items'][0]['id']}")
    assert status == 200 and one["owner_dept"] in ("szs", "gdgs")


BAD_INPUT = [
    ("/api/v1/geocode?q=", 400, "empty_query"),
    ("/api/v1/geocode?q=" + "路" * 300, 400, "query_too_long"),
    ("/api/v1/reverse-geocode?lat=abc&lon=120.9", 400, "bad_coordinate"),
    ("/api/v1/reverse-geocode?lat=NaN&lon=120.9", 400, "bad_coordinate"),
    ("/api/v1/grid/locate?lat=91&lon=120.9", 400, "bad_coordinate"),
    ("/api/v1/grid/locate?lat=30.5", 400, "missing_parameter"),
    ("/api/v1/grid/locate?lat=39.9&lon=116.4", 404, "outside_grid"),
    ("/api/v1/grid/cells?bbox=1,2,3", 400, "bad_bbox"),
    ("/api/v1/grid/cells?bbox=100,20,130,40", 400, "bbox_too_large"),
    ("/api/v1/components?lat=30.5&lon=120.9&radius=99999", 400, "bad_radius"),
    ("/api/v1/components?lat=30.5&lon=120.9&class=飞船", 400, "unknown_class"),
    ("/api/v1/components/12345", 400, "bad_component_id"),
    ("/api/v1/components/3304240118999999", 404, "component_not_found"),
    ("/api/v1/geocode?q=绮园&limit=0", 400, "bad_limit"),
]


async def test_bad_input_gets_a_clear_error(geo_api: Call) -> None:
    for path, status, code in BAD_INPUT:
        got, body = await geo_api(path)
        assert (got, body["error"]["code"]) == (status, code), path
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), path


async def test_geo_needs_a_user(geo_api: Call) -> None:
    status, body = await geo_api("/api/v1/geocode?q=绮园", auth=False)
    assert status == 401 and body["error"]["code"] == "unauthenticated"
