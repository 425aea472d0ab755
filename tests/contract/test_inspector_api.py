"""The inspector's phone API through HTTP on SQLite and PostgreSQL: reports with photos created exactly once,
tasks by duty grid answered only by their inspector, on-site fixes, duty and positions, and clear refusals
that leave nothing half-saved."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from config.bootstrap import engine_for
from config.settings import Settings
from core import accounts
from tests.api_plugin import Api
from tests.dates import local_day
from ticketing.db.tables import cases
from ticketing.domain.model import Role
from ticketing.geo.demo import demo_gazetteer, seed_demo
from ticketing.geo.domain.geometry import offset_m
from web.keys import CASES, ENGINE
from web.tables import photos


def centre(grid: str) -> tuple[float, float]:
    """(lat, lon) of a unit cell in the middle of a demo duty grid."""
    g = demo_gazetteer()
    cells = [c for c in g.cells.values() if c.duty_grid == grid]
    lon, lat = g.centroid(cells[len(cells) // 2].geometry)
    return lat, lon


ZR01, ZR02, ZR03 = (centre(f"330424001-ZR0{i}") for i in (1, 2, 3))


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def ins(api: Api, db_settings: Settings, clock) -> Api:  # type: ignore[no-untyped-def]
    engine = engine_for(db_settings)
    async with engine.begin() as conn:
        await accounts.add_user(
            conn, username="inspector02", display_name="监督员 02", role=Role.INSPECTOR, now=clock()
        )
        api.tokens["inspector02"] = await accounts.create_token(conn, "inspector02", clock(), days=30)
    await seed_demo(engine)
    await engine.dispose()
    return api


async def send(
    api: Api, path: str, user: str, data: Any, files: list[bytes] = (), key: str | None = None, name: str = "p.jpg"
) -> tuple[int, Any]:
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("data", json.dumps(data), content_type="application/json")
    for i, blob in enumerate(files):
        form.add_field("photos", io.BytesIO(blob), filename=f"{i}-{name}", content_type="image/jpeg")
    headers = {"Authorization": f"Bearer {api.tokens[user]}"}
    if key is not False:
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
    async with api.client.post(path, data=form, headers=headers) as resp:
        return resp.status, await resp.json()


def report(lat: float, lon: float, **over: Any) -> dict[str, Any]:
    return {
        "category_code": "10102",
        "description": "污水井盖破损，有塌陷危险",
        "lat": lat,
        "lon": lon,
        "accuracy": 8.0,
        **over,
    }


async def counts(api: Api) -> tuple[int, int]:
    async with api.client.app[ENGINE].connect() as conn:
        n_cases = (await conn.execute(select(func.count()).select_from(cases))).scalar_one()
        n_photos = (await conn.execute(select(func.count()).select_from(photos))).scalar_one()
    return n_cases, n_photos


async def test_a_report_with_two_photos_is_created_once_however_often_it_is_sent(ins: Api) -> None:
    key = uuid.uuid4().hex
    status, first = await send(
        ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01), [jpeg(), jpeg()], key=key
    )
    assert status == 201 and first["replayed"] is False, first
    assert first["cell_code"] and first["state"] == "reported"
    status, again = await send(
        ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01), [jpeg(), jpeg()], key=key
    )
    assert status == 201 and again["replayed"] is True and again["case_no"] == first["case_no"]
    assert again["cell_code"] == first["cell_code"] and again["state"] == first["state"]
    # two sends at the same moment with one key still make one case
    key2 = uuid.uuid4().hex
    both = await asyncio.gather(
        *(send(ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01), [jpeg()], key=key2) for _ in range(2))
    )
    assert {b["case_no"] for _, b in both} == {both[0][1]["case_no"]}
    assert await counts(ins) == (2, 3)
    status, case = await ins.call("GET", f"/api/v1/cases/{first['case_no']}", "agent01")
    assert status == 200 and case["source"] == "inspector" and case["cell_code"] == first["cell_code"]
    assert len(case["history"][0]["payload"]["photos"]) == 2 and case["created_by"] == "inspector01"


@pytest.mark.parametrize(
    ("files", "data", "status", "code"),
    [
        ([b"%PDF-1.4 not an image"], report(*ZR01), 415, "photo_rejected"),
        ([b"\xff\xd8" + bytes(9 * 1024 * 1024)], report(*ZR01), 413, "photo_too_large"),
        ([jpeg()], report(39.9, 116.4), 422, "outside_county"),
        ([jpeg()], report(*ZR01, category_code="19999"), 422, "invalid_parameters"),
        ([jpeg()], {**report(*ZR01), "lat": "north"}, 422, "validation_failed"),
    ],
)
async def test_a_refused_report_leaves_no_case_and_no_photo(
    ins: Api, files: list[bytes], data: Any, status: int, code: str
) -> None:
    got, body = await send(ins, "/api/v1/inspector/reports", "inspector01", data, [jpeg(), *files])
    assert (got, body["error"]["code"]) == (status, code), body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"])  # said in Chinese
    assert await counts(ins) == (0, 0)


async def test_a_report_needs_an_idempotency_key_and_an_inspector(ins: Api) -> None:
    status, body = await send(ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01), key=False)
    assert status == 400 and body["error"]["code"] == "idempotency_key_required"
    status, body = await send(ins, "/api/v1/inspector/reports", "agent01", report(*ZR01))
    assert status == 403


async def handled_case(api: Api, lat: float, lon: float) -> dict[str, Any]:
    case = await api.create(accept=True, lat=lat, lon=lon, address=None)
    for command, user, body in (
        ("register", "lead01", {}),
        ("dispatch", "dispatcher01", {"department": "szs"}),
        ("submit_result", "dept-szs", {"notes": "已更换井盖"}),
    ):
        status, case = await api.act(case, command, user, **body)
        assert status == 200, case
    return case


async def test_a_check_goes_to_the_duty_grid_inspector_who_alone_answers_it_on_site(ins: Api) -> None:
    case = await handled_case(ins, *ZR01)
    status, case = await ins.act(case, "request_check", "agent01")
    assert status == 200
    task = next(r for r in case["requests"] if r["kind"] == "check")
    assert task["payload"]["assignee"] == "inspector01" and task["payload"]["duty_grid"] == "330424001-ZR01"
    status, mine = await ins.call("GET", "/api/v1/inspector/tasks", "inspector01")
    assert [t["case_no"] for t in mine["items"]] == [case["case_no"]] and mine["items"][0]["due_at"]
    status, theirs = await ins.call("GET", "/api/v1/inspector/tasks", "inspector02")
    assert theirs["items"] == []
    answer = {"case_no": case["case_no"], "command": "check_pass", "version": case["version"], "notes": "已修好"}
    status, body = await send(ins, "/api/v1/inspector/answers", "inspector02", answer, [jpeg()])
    assert status == 403 and "inspector01" in body["error"]["message"]
    status, body = await send(ins, "/api/v1/inspector/answers", "inspector01", answer)
    assert status == 422 and "照片" in body["error"]["message"]  # 核查 answers carry photos by default
    far = offset_m((ZR01[1], ZR01[0]), 300, 0)  # 300 m east of the case: flagged, not refused
    status, body = await send(
        ins,
        "/api/v1/inspector/answers",
        "inspector01",
        {**answer, "lat": far[1], "lon": far[0], "accuracy": 12.0},
        [jpeg()],
    )
    assert status == 200 and body["site"]["far"] is True and 290 < body["site"]["distance_m"] < 310, body
    assert await counts(ins) == (1, 1)  # the refused answers' photos were not kept
    status, stale = await send(ins, "/api/v1/inspector/answers", "inspector01", {**answer, "version": 1}, [jpeg()])
    assert status == 409 and stale["error"]["code"] == "stale_version" and "版本" in stale["error"]["message"]
    status, again = await send(ins, "/api/v1/inspector/answers", "inspector01", {**answer, "version": None}, [jpeg()])
    assert status == 409 and again["error"]["code"] == "task_gone"
    status, view = await ins.call("GET", f"/api/v1/cases/{case['case_no']}", "lead01")
    assert view["check_result"] == "passed"
    status, closed = await ins.act(view, "close", "lead01")
    assert status == 200 and closed["state"] == "closed"
    status, day = await ins.call("GET", "/api/v1/inspector/day?username=inspector01", "lead01")
    assert day["answers"] == 1 and day["answers_on_time"] == 1 and day["flagged"][0]["case_no"] == case["case_no"]


async def test_the_lead_reassigns_a_verification_and_a_grid_without_an_inspector_uses_the_pool(ins: Api) -> None:
    case = await ins.create(accept=True, lat=ZR01[0], lon=ZR01[1], address=None)
    status, case = await ins.act(case, "request_verification", "agent01")
    assert status == 200 and case["requests"][0]["payload"]["assignee"] == "inspector01"
    assert any(d["stage"] == "verifying" for d in case["deadlines"])
    status, case = await ins.act(case, "reassign_inspector", "lead01", inspector="inspector02")
    assert status == 200
    status, body = await ins.act(case, "reassign_inspector", "lead01", inspector="agent01")
    assert status == 422  # not an inspector
    answer = {
        "case_no": case["case_no"],
        "command": "report_verified",
        "confirmed": True,
        "lat": ZR01[0],
        "lon": ZR01[1],
    }
    status, body = await send(ins, "/api/v1/inspector/answers", "inspector01", answer)
    assert status == 403
    status, body = await send(ins, "/api/v1/inspector/answers", "inspector02", answer)
    assert status == 200 and body["site"]["far"] is False and body["site"]["distance_m"] < 1
    pool = await ins.create(accept=True, lat=ZR03[0], lon=ZR03[1], address=None)  # inspector03 has no account
    status, pool = await ins.act(pool, "request_verification", "agent01")
    assert pool["requests"][0]["payload"]["assignee"] is None
    for user in ("inspector01", "inspector02"):
        status, tasks = await ins.call("GET", "/api/v1/inspector/tasks", user)
        assert [t["pool"] for t in tasks["items"] if t["case_no"] == pool["case_no"]] == [True]


async def test_positions_are_kept_only_on_duty_and_only_inside_the_county(ins: Api, clock) -> None:  # type: ignore[no-untyped-def]
    here = {"lat": ZR01[0], "lon": ZR01[1], "accuracy": 6.0}
    status, body = await ins.call("POST", "/api/v1/inspector/positions", "inspector01", json=here)
    assert status == 409 and body["error"]["code"] == "off_duty"
    status, duty = await ins.call("POST", "/api/v1/inspector/duty", "inspector01", json={"action": "start"})
    assert status == 200 and duty["on_duty"] is True and duty["interval_s"] == 60
    status, body = await ins.call("POST", "/api/v1/inspector/positions", "inspector01", json=here)
    assert status == 201 and body["cell_code"]
    status, body = await ins.call(
        "POST", "/api/v1/inspector/positions", "inspector01", json={"lat": 31.23, "lon": 121.47}
    )  # Shanghai
    assert status == 422 and body["error"]["code"] == "outside_county"
    status, latest = await ins.call("GET", "/api/v1/inspector/positions/latest", "lead01")
    assert [p["username"] for p in latest["items"]] == ["inspector01"]
    tz = (await ins.client.app[CASES].calendar()).tz
    started = clock()
    clock.advance(minutes=30)
    status, duty = await ins.call("POST", "/api/v1/inspector/duty", "inspector01", json={"action": "end"})
    assert duty["on_duty"] is False
    status, body = await ins.call("POST", "/api/v1/inspector/positions", "inspector01", json=here)
    assert status == 409
    status, latest = await ins.call("GET", "/api/v1/inspector/positions/latest", "lead01")
    assert latest["items"] == []
    # The days are the app's local days: half an hour on duty may straddle local midnight (date runs).
    days = sorted({local_day(started, tz), local_day(clock(), tz)})
    views = []
    for d in days:
        status, view = await ins.call("GET", f"/api/v1/inspector/day?date={d.isoformat()}", "inspector01")
        assert status == 200
        views.append(view)
    assert len(views[0]["trail"]) == 1 and sum(len(v["trail"]) for v in views) == 1
    assert abs(sum(v["on_duty_minutes"] for v in views) - 30) <= 1
    status, body = await ins.call("GET", "/api/v1/inspector/day?username=inspector02", "inspector01")
    assert status == 403
    status, body = await ins.call("GET", "/api/v1/inspector/positions/latest", "inspector01")
    assert status == 403


async def test_configured_classes_skip_to_registration_only_when_the_inspector_confirms(  # type: ignore[no-untyped-def]
    ins: Api, db_settings: Settings, clock, aiohttp_client
) -> None:
    from config.bootstrap import create_app

    cases_settings = db_settings.cases
    inspection = cases_settings.inspection.model_copy(update={"register_directly": ("10102",)})
    settings = db_settings.model_copy(update={"cases": cases_settings.model_copy(update={"inspection": inspection})})
    api = Api(await aiohttp_client(create_app(settings, clock=clock)), ins.tokens)
    status, plain = await send(api, "/api/v1/inspector/reports", "inspector01", report(*ZR01))
    assert status == 201 and plain["state"] == "reported"  # not confirmed: the usual 受理 by an agent
    assert plain["state_label"] == "已上报"
    key = uuid.uuid4().hex
    status, direct = await send(
        api, "/api/v1/inspector/reports", "inspector01", report(*ZR01, register_now=True), key=key
    )
    assert status == 201  # the phone is told the state the report reached, not the one it was created in
    assert (direct["state"], direct["state_label"]) == ("registered", "已立案")
    status, again = await send(
        api, "/api/v1/inspector/reports", "inspector01", report(*ZR01, register_now=True), key=key
    )
    assert again["replayed"] and again["case_no"] == direct["case_no"] and again["state"] == "registered"
    status, view = await api.call("GET", f"/api/v1/cases/{direct['case_no']}", "lead01")
    assert view["state"] == "registered"
    assert [(h["command"], h["actor"]) for h in view["history"]][1:] == [
        ("accept", "auto:inspector01"),
        ("register", "auto:inspector01"),
    ]
    status, other = await send(
        api, "/api/v1/inspector/reports", "inspector01", report(*ZR01, category_code="10118", register_now=True)
    )
    status, view = await api.call("GET", f"/api/v1/cases/{other['case_no']}", "lead01")
    assert view["state"] == "reported"  # 路灯 is not configured to skip
    status, default = await send(ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01, register_now=True))
    status, view = await ins.call("GET", f"/api/v1/cases/{default['case_no']}", "lead01")
    assert view["state"] == "reported"  # off by default


async def test_an_inspector_may_dictate_through_the_speech_api_and_a_department_may_not(ins: Api) -> None:
    import wave

    import aiohttp

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:  # too short to transcribe: checked after the role, before the model
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0" * 2 * 800)
    for user, expected in (("inspector01", 422), ("dept-szs", 403)):
        form = aiohttp.FormData()
        form.add_field("file", io.BytesIO(buffer.getvalue()), filename="voice.wav", content_type="audio/wav")
        headers = {"Authorization": f"Bearer {ins.tokens[user]}"}
        async with ins.client.post("/api/v1/transcriptions", data=form, headers=headers) as resp:
            assert resp.status == expected, (user, await resp.json())


async def test_the_phone_gets_its_duty_grids_components_for_offline_use(ins: Api) -> None:
    g = demo_gazetteer()
    mine = {c.code for c in g.cells.values() if c.duty_grid == "330424001-ZR01"}
    status, body = await ins.call("GET", "/api/v1/inspector/components", "inspector01")
    assert status == 200 and body["radius_m"] == 60 and not body["truncated"]
    ids = {row[0] for row in body["items"]}
    inside = {c.id for c in g.components.values() if c.cell_code in mine}
    assert inside and inside <= ids  # every component of the grid's cells, plus a fringe just outside it
    assert len(ids) < len(g.components) / 3  # not the county's inventory
    row = next(r for r in body["items"] if r[0] in inside)
    component = g.components[row[0]]
    assert row[1:4] == [component.class_code, round(component.lat, 7), round(component.lon, 7)]
    status, other = await ins.call("GET", "/api/v1/inspector/components", "inspector02")
    assert status == 200 and {r[0] for r in other["items"]} != ids
    status, _ = await ins.call("GET", "/api/v1/inspector/components", "dept-szs")
    assert status == 403
