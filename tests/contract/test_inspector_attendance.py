"""Inspectors' time on duty and patrol distance as inputs of the post evaluation, through HTTP on SQLite and
PostgreSQL: a duty across the day's start, an open duty and a GPS jump in the trail, with figures computed by
hand; the same figures in the lead's day view and in the inspector profile's score."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from tests.api_plugin import Api
from tests.contract.test_inspector_api import ZR01, ins, report, send  # noqa: F401 (ins is a fixture)
from tests.dates import local_day
from ticketing.geo.domain.geometry import offset_m
from web.keys import CASES


def north(metres: float, east: float = 0.0) -> dict[str, float]:
    lon, lat = offset_m((ZR01[1], ZR01[0]), east, metres)
    return {"lat": lat, "lon": lon, "accuracy": 5.0}


async def duty(api: Api, action: str) -> None:
    status, body = await api.call("POST", "/api/v1/inspector/duty", "inspector01", json={"action": action})
    assert status == 200 and body["on_duty"] is (action == "start")


async def position(api: Api, where: dict[str, float]) -> None:
    status, body = await api.call("POST", "/api/v1/inspector/positions", "inspector01", json=where)
    assert status == 201, body


async def test_duty_and_trail_feed_the_inspector_indicators(ins: Api, clock) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    tz = (await ins.client.app[CASES].calendar()).tz
    day = local_day(clock(), tz) + timedelta(days=2)  # a day wholly after the tokens were issued
    midnight = datetime.combine(day, time(0), tz)

    def at(minutes: float) -> None:
        clock.now = midnight + timedelta(minutes=minutes)

    at(-60)
    await duty(ins, "start")  # 23:00 the day before
    at(-30)
    await position(ins, north(-100))  # before the day: neither day's trail bridges the boundary to it
    at(30)
    await position(ins, north(0))
    at(31)
    await position(ins, north(50))
    at(32)
    await position(ins, north(50, east=800))  # 800 m in a minute (48 km/h): a GPS jump, left out
    at(33)
    await position(ins, north(100))  # 50 m in 2 min from the last kept fix
    at(34)
    await position(ins, north(150))
    at(40)
    status, _ = await send(ins, "/api/v1/inspector/reports", "inspector01", report(*ZR01))
    assert status == 201
    at(90)
    await duty(ins, "end")  # 01:30: 90 minutes of this duty fall in the day
    at(180)
    await duty(ins, "start")  # 03:00, still on duty when evaluated
    at(225)  # now: 03:45, so 45 minutes of the open duty count

    query = f"object=inspector&period=day&start={day.isoformat()}"
    status, got = await ins.call("GET", f"/api/v1/evaluation/indicators?{query}", "lead01")
    assert status == 200, got
    row = next(r for r in got["rows"] if r["object_id"] == "inspector01")
    values = row["values"]
    hours = (90 + 45) / 60  # 2.25 h
    assert values["duty_hours"]["value"] == pytest.approx(hours)
    assert values["duty_hours"]["unit"] == "小时"
    assert values["daily_duty_hours"]["value"] == pytest.approx(hours)  # one day on duty
    assert values["patrol_km"]["value"] == pytest.approx(0.150, abs=0.001)  # 0 → 50 → 100 → 150 m
    assert values["reports_per_duty_hour"]["value"] == pytest.approx(1 / hours, abs=1e-4)
    assert values["valid_report_rate"]["denominator"] == 1  # the report still counts among the acts
    kinds = {i["id"]: i["kind"] for i in got["indicators"]}
    assert kinds["duty_hours"] == "quantity" and kinds["valid_report_rate"] == "rate"

    before = (day - timedelta(days=1)).isoformat()
    status, prev = await ins.call("GET", f"/api/v1/evaluation/indicators?object=inspector&period=day&start={before}",
                                  "lead01")
    prev_values = next(r for r in prev["rows"] if r["object_id"] == "inspector01")["values"]
    assert prev_values["duty_hours"]["value"] == pytest.approx(1.0)  # 23:00 to midnight
    assert prev_values["patrol_km"]["value"] == 0  # one fix makes no trail
    assert prev_values["reports_per_duty_hour"]["value"] == 0

    status, view = await ins.call("GET", f"/api/v1/inspector/day?username=inspector01&date={day.isoformat()}",
                                  "lead01")
    assert status == 200
    assert view["on_duty_minutes"] == 135 and view["patrol_km"] == pytest.approx(0.15)
    assert view["reports"] == 1 and view["reports_per_duty_hour"] == pytest.approx(round(1 / hours, 2))

    status, scored = await ins.call("GET", f"/api/v1/evaluation/scores?profile=inspector&{query}", "lead01")
    assert status == 200, scored
    mine = next(r for r in scored["rows"] if r["object_id"] == "inspector01")
    parts = {p["indicator"]: p for p in mine["parts"]}
    # 2.25 h a day is 3.75 h short of 6 h: 15 − 3 × 3.75 = 3.75
    assert parts["daily_duty_hours"]["points"] == 3.75
    assert "2.25 小时 低于 6 小时 3.75 小时" in parts["daily_duty_hours"]["formula"]
    # 0.44 reports an hour is short of 0.5: 15 − 30 × (0.5 − 1/2.25)
    assert parts["reports_per_duty_hour"]["points"] == round(15 - 30 * (0.5 - 1 / hours), 2)

    status, refused = await ins.call(
        "GET", f"/api/v1/evaluation/drilldown?{query}&indicator=duty_hours&object_id=inspector01", "lead01")
    assert status == 422 and "没有案件明细" in refused["error"]["message"]

    status, doc = await ins.call("GET", f"/api/v1/evaluation/report?period=day&start={day.isoformat()}", "lead01")
    assert status == 200, doc
    ranking = doc["tables"]["inspector_ranking"]
    columns = {c["key"]: (c["label"], c["kind"]) for c in ranking["columns"]}
    assert columns["daily_duty_hours"] == ("日均在岗时长（小时）", "score")
    line = next(r for r in ranking["rows"] if r["object_id"] == "inspector01")
    assert line["daily_duty_hours"] == pytest.approx(hours) and line["score"] == mine["score"]

