"""The leader's reports through HTTP on SQLite and PostgreSQL: hotline levels, the report, hotspots, XLSX/CSV
exports, publishing and downloading the 通报, roles, bad input, the OpenAPI document and the /reports page."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.api_plugin import Api
from tests.integration.test_api_evaluation import (
    month,  # noqa: F401  (the fixture: a leader, two cases)
    q,
)
from ticketing.evaluation.domain.periods import period

BASE = "/api/v1/evaluation"


async def raw(api: Api, method: str, path: str, user: str | None, **kw: Any) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": f"Bearer {api.tokens[user]}"} if user else {}
    async with api.client.request(method, path, headers=headers, **kw) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def test_the_leader_reads_the_report_and_the_hotline_levels(api: Api, month) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, numbers = month
    status, doc = await api.call("GET", f"{BASE}/report?{q(first)}", "leader01")
    assert status == 200, doc
    assert doc["profiles"]["department"] == {**doc["profiles"]["department"], "id": "jinniu", "version": 1}
    ranking = doc["tables"]["department_ranking"]["rows"]
    assert [(r["object_id"], r["score"], r["grade"]) for r in ranking] == [("szs", 100.0, "优"), ("hws", 30.0, "差")]
    assert [r["case_no"] for r in doc["tables"]["overdue"]["rows"]] == [numbers["late"]]
    assert len(doc["trend"]) == 6 and doc["trend"][-1]["first_day"] == first.isoformat()
    assert "13800000000" not in str(doc)  # the cases' caller phone is never in a report
    status, hot = await api.call("GET", f"{BASE}/hotline?{q(first, by='day')}", "leader01")
    assert status == 200 and len(hot["rows"]) == (period("month", first).end - first).days
    assert hot["labels"]["service_level"] == "15秒接通率" and hot["rows"][0]["service_level"] is None
    status, hot = await api.call("GET", f"{BASE}/hotline?{q(first, by='hour')}", "lead01")
    assert status == 200 and [r["key"] for r in hot["rows"]] == [f"{h:02d}" for h in range(24)]
    status, spots = await api.call("GET", f"{BASE}/hotspots?{q(first)}", "leader01")
    assert status == 200 and isinstance(spots["cells"], list) and spots["classes"]


async def test_exports_as_xlsx_and_csv(api: Api, month) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, numbers = month
    status, headers, body = await raw(api, "GET", f"{BASE}/export?{q(first, table='overdue')}", "leader01")
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(body)).active
    assert ws.cell(1, 1).value == "责任部门" and ws.cell(2, 2).value == numbers["late"]
    status, headers, body = await raw(
        api, "GET", f"{BASE}/export?{q(first, table='department_ranking', format='csv')}", "leader01"
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("排名,编码,部门,得分,等级") and lines[1].startswith("1,szs,")
    status, _error = await api.call("GET", f"{BASE}/export?{q(first, table='phones')}", "leader01")
    assert status == 422


async def test_publishing_and_downloading_the_bulletin(api: Api, month, clock) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, _ = month
    status, error = await api.call("POST", f"{BASE}/bulletins", "lead01", json={"start": first.isoformat()})
    assert status == 409 and "尚未结束" in error["error"]["message"]  # the month is still running
    status, error = await api.call("POST", f"{BASE}/bulletins", "leader01", json={"start": first.isoformat()})
    assert status == 403  # a leader reads, never publishes
    last = (first - timedelta(days=1)).isoformat()
    status, doc = await api.call("POST", f"{BASE}/bulletins", "lead01", json={"start": last})
    assert status == 201 and doc["department_profile_version"] == 1 and doc["generated_by"] == "lead01"
    status, again = await api.call("POST", f"{BASE}/bulletins", "admin", json={"start": last})
    assert status == 200 and again["id"] == doc["id"]
    status, listed = await api.call("GET", f"{BASE}/bulletins", "leader01")
    assert status == 200 and [b["id"] for b in listed["bulletins"]] == [doc["id"]]
    status, headers, body = await raw(api, "GET", f"{BASE}/bulletins/{doc['id']}", "leader01")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF-")
    assert headers["X-Content-SHA256"] == doc["sha256"]
    for missing in ("999999", "abc"):
        status, _ = await api.call("GET", f"{BASE}/bulletins/{missing}", "leader01")
        assert status == 404
    status, _ = await api.call("POST", f"{BASE}/bulletins", "lead01", json={"start": last, "department_version": 9})
    assert status == 404


@pytest.mark.parametrize("user,status", [("agent01", 403), ("dept-hws", 403), ("dispatcher01", 403), (None, 401)])
async def test_reports_are_for_leaders_leads_and_admins(api: Api, month, user, status) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, _ = month
    for path in (
        f"report?{q(first)}",
        f"hotline?{q(first)}",
        f"hotspots?{q(first)}",
        "bulletins",
        f"export?{q(first, table='overdue')}",
    ):
        got, _ = await api.call("GET", f"{BASE}/{path}", user)
        assert got == status, path


async def test_bad_input_and_the_openapi_document(api: Api, month) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, _ = month
    for path, text in (
        (f"hotline?{q(first, by='week')}", "by"),
        (f"hotspots?{q(first, major='x')}", "major"),
        (f"report?{q(first, department_version='0')}", "department_version"),
        ("report?period=month", "start"),
    ):
        status, error = await api.call("GET", f"{BASE}/{path}", "leader01")
        assert status == 422 and text in str(error["error"]), (path, error)
    status, spec = await api.call("GET", "/api/v1/openapi.json", None)
    assert {
        f"{BASE}/{p}" for p in ("hotline", "report", "hotspots", "export", "bulletins", "bulletins/{bulletin_id}")
    } <= set(spec["paths"])
    assert {p["name"] for p in spec["paths"][f"{BASE}/hotline"]["get"]["parameters"]} >= {"period", "start", "by"}


async def test_the_reports_page_is_the_leaders_landing_page(api: Api, month, db_settings) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    status, _headers, body = await raw(api, "GET", "/reports", "leader01", allow_redirects=False)
    assert (
        status == 200 and "综合评价与报表" in body.decode() and "/static/vendor/echarts/echarts.min.js" in body.decode()
    )
    status, _, body = await raw(api, "GET", "/reports", "dept-hws", allow_redirects=False)
    assert status == 403
    from core.identity import Role
    from web.auth import home_for

    class Leader:
        role = Role.LEADER

    assert home_for(Leader()) == "/reports"  # type: ignore[arg-type]
    assert ZoneInfo(db_settings.working_time.timezone)


NASTY = ["", "0001-01-01", "9999-12-31", "2026-02-30", "x", "-1", "0", "١٢", "9" * 30, "a,b", "%00", "range"]


async def test_odd_parameters_get_clean_4xx_never_5xx(api: Api, month) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    first, _ = month
    routes = {"hotline": ("period", "start", "end", "by"), "report": ("period", "start", "department_version"),
              "hotspots": ("start", "major"), "export": ("table", "format", "start")}
    for route, names in routes.items():
        for name in names:
            for value in NASTY:
                params = {"start": first.isoformat(), "table": "overdue", name: value}
                query = "&".join(f"{k}={v}" for k, v in params.items())
                status, _headers, raw_body = await raw(api, "GET", f"{BASE}/{route}?{query}", "lead01")
                assert status < 500, (route, name, value, raw_body[:300])
                if status >= 400:
                    body = json.loads(raw_body)
                    assert set(body) == {"error"} and body["error"]["message"], body
    for body in ({"start": v} for v in NASTY):
        status, doc = await api.call("POST", f"{BASE}/bulletins", "lead01", json=body)
        assert status < 500 and (status < 400 or set(doc) == {"error"}), (body, doc)
    for body in ([], None, {"start": first.isoformat(), "x": 1}, {"start": "0001-01-01", "region_version": 0}):
        status, doc = await api.call("POST", f"{BASE}/bulletins", "lead01", json=body)
        assert 400 <= status < 500 and set(doc) == {"error"}, (body, doc)
