"""The evaluation API through HTTP on SQLite and PostgreSQL: figures, drill-down, scores, roles, bad input."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.bootstrap import build_case_service, engine_for
from config.settings import Settings
from core import accounts
from tests.api_plugin import Api
from tests.dates import working_morning
from ticketing.domain.model import Role
from ticketing.evaluation.domain.periods import local_day, period

BASE = "/api/v1/evaluation"


@pytest.fixture
async def month(api: Api, db_settings: Settings, clock):  # type: ignore[no-untyped-def]
    """A leader account, a case closed on time by szs and one left overdue at hws; the month of the clock."""
    engine = engine_for(db_settings)
    # A working morning with three more working days after it and the month still running five days later.
    await working_morning(build_case_service(engine, db_settings, clock), clock, days_left=6, following_workdays=3)
    async with engine.begin() as conn:
        await accounts.add_user(conn, username="leader01", display_name="县领导", role=Role.LEADER, now=clock())
        api.tokens["leader01"] = await accounts.create_token(conn, "leader01", clock(), days=1)
    await engine.dispose()
    numbers = {}
    for name, department in (("done", "szs"), ("late", "hws")):
        case = await api.create(accept=True)
        numbers[name] = case["case_no"]
        for command, user, body in (("register", "lead01", {}), ("dispatch", "dispatcher01",
                                                                 {"department": department})):
            clock.advance(minutes=10)
            status, case = await api.act(case, command, user, **body)
            assert status == 200, case
        if name == "done":
            photo = await api.photo("inspector01")  # photo ids in commands are checked
            for command, user, body in (("submit_result", "dept-szs", {"notes": "已修复"}),
                                        ("request_check", "agent01", {}),
                                        ("check_pass", "inspector01", {"photos": [photo]}),
                                        ("close", "lead01", {})):
                clock.advance(minutes=10)
                status, case = await api.act(case, command, user, **body)
                assert status == 200, case
    first = period("month", local_day(clock(), ZoneInfo(db_settings.working_time.timezone))).first
    clock.advance(days=5)  # past the 3 working days of 路灯: hws's case is overdue, still in the month
    assert local_day(clock(), ZoneInfo(db_settings.working_time.timezone)) < period("month", first).end
    engine = engine_for(db_settings)
    async with engine.begin() as conn:  # the day-long tokens expired meanwhile
        for username in api.tokens:
            api.tokens[username] = await accounts.create_token(conn, username, clock(), days=1)
    await engine.dispose()
    return first, numbers


def q(first: date, **extra: str) -> str:
    return "&".join(f"{k}={v}" for k, v in {"period": "month", "start": first.isoformat(), **extra}.items())


async def test_leader_reads_department_figures_and_the_cases_behind_them(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    first, numbers = month
    status, doc = await api.call("GET", f"{BASE}/indicators?{q(first, object='department')}", "leader01")
    assert status == 200, doc
    assert doc["period"]["first_day"] == first.isoformat() and doc["period"]["label"].endswith("月")
    rows = {r["object_id"]: r for r in doc["rows"]}
    assert rows["szs"]["values"]["closing_on_time_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert rows["hws"]["values"]["overdue_pending_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert rows["hws"]["name"] == "海盐县环境卫生管理所"
    indicator = next(i for i in doc["indicators"] if i["id"] == "closing_rate")
    assert indicator["name"] == "结案率" and indicator["denominator"]["name"] == "应结案数"
    status, drill = await api.call(
        "GET", f"{BASE}/drilldown?{q(first, object='department', object_id='hws', indicator='overdue_pending_rate')}",
        "leader01")
    assert status == 200 and drill["numerator"]["case_nos"] == [numbers["late"]]
    assert drill["denominator"]["count"] == 1


async def test_scores_rank_departments_with_formula_and_profile_version(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    first, _ = month
    status, doc = await api.call("GET", f"{BASE}/scores?{q(first, profile='jinniu')}", "lead01")
    assert status == 200, doc
    assert doc["profile"]["id"] == "jinniu" and doc["profile"]["version"] == 1
    assert [(r["rank"], r["object_id"]) for r in doc["rows"]] == [(1, "szs"), (2, "hws")]
    szs = doc["rows"][0]
    assert szs["score"] == 100.0 and szs["grade"] == "优" and szs["formula"].endswith("= 100.00")
    assert sum(p["points"] for p in szs["parts"]) == pytest.approx(szs["score"])
    # hws: nothing handled, one overdue: 0×30 + 0×20 + (1−0)×20 + (1−1)×20 + (1−0)×10
    assert doc["rows"][1]["score"] == 30.0 and doc["rows"][1]["grade"] == "差"


async def test_a_department_sees_only_itself(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    first, _ = month
    status, doc = await api.call("GET", f"{BASE}/indicators?{q(first)}", "dept-hws")
    assert status == 200 and [r["object_id"] for r in doc["rows"]] == ["hws"]
    status, doc = await api.call("GET", f"{BASE}/scores?{q(first, profile='jinniu')}", "dept-hws")
    assert status == 200 and [(r["rank"], r["object_id"]) for r in doc["rows"]] == [(2, "hws")]
    status, error = await api.call("GET", f"{BASE}/indicators?{q(first, object='street')}", "dept-hws")
    assert status == 403 and "本部门" in error["error"]["message"]
    status, _ = await api.call(
        "GET", f"{BASE}/drilldown?{q(first, object='department', object_id='szs', indicator='closing_rate')}",
        "dept-hws")
    assert status == 403


@pytest.mark.parametrize("user,status", [("agent01", 403), ("dispatcher01", 403), ("admin", 200), (None, 401)])
async def test_roles(api: Api, month, user, status) -> None:  # type: ignore[no-untyped-def]
    first, _ = month
    got, _ = await api.call("GET", f"{BASE}/indicators?{q(first)}", user)
    assert got == status


async def test_bad_input_is_refused_with_chinese_messages(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    first, _ = month
    cases = [
        (f"object=city&{q(first)}", 422, "object 应为"),
        (f"period=fortnight&start={first}", 422, "period 应为"),
        ("period=month&start=2026-13-01", 422, "start 应为日期"),
        (f"period=range&start={first}", 422, "须给出结束日期"),
        (f"period=range&start={first}&end={first - timedelta(days=1)}", 422, "不能早于"),
        (f"period=month&start={first}&end={first}", 422, "只有自定义区间"),
        (f"{q(first, indicator='nosuch')}", 422, "不存在或不适用"),
        (f"{q(first, object='street', indicator='handling_rate')}", 422, "不适用于街道"),
        (f"{q(first, color='red')}", 422, "color"),
    ]
    for query, status, text in cases:
        got, error = await api.call("GET", f"{BASE}/indicators?{query}", "leader01")
        assert got == status and text in error["error"]["message"], (query, error)
    got, error = await api.call("GET", f"{BASE}/scores?{q(first, profile='nosuch')}", "leader01")
    assert got == 404 and "jinniu" in error["error"]["message"]
    got, error = await api.call("GET", f"{BASE}/scores?{q(first, profile='jinniu', object='street')}", "leader01")
    assert got == 422 and "不适用于街道" in error["error"]["message"]
    got, error = await api.call(
        "GET", f"{BASE}/drilldown?{q(first, object='department', object_id='szs', indicator='nosuch')}", "leader01")
    assert got == 404


async def test_range_periods_and_the_openapi_document(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    first, _ = month
    last = period("month", first).last
    status, doc = await api.call("GET", f"{BASE}/indicators?period=range&start={first}&end={last}", "leader01")
    assert status == 200 and doc["period"]["last_day"] == last.isoformat()
    status, ranged = await api.call("GET", f"{BASE}/indicators?{q(first)}", "leader01")
    assert [r["counts"] for r in doc["rows"]] == [r["counts"] for r in ranged["rows"]]
    status, spec = await api.call("GET", "/api/v1/openapi.json", None)
    assert status == 200
    operation = spec["paths"][f"{BASE}/indicators"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"object", "period", "start", "end", "indicator"}
    assert "leader" in operation["description"]
    assert {f"{BASE}/scores", f"{BASE}/drilldown"} <= set(spec["paths"])


async def test_the_leader_reads_cases_masked_and_changes_nothing(api: Api, month) -> None:  # type: ignore[no-untyped-def]
    _, numbers = month
    status, listed = await api.call("GET", "/api/v1/cases", "leader01")
    assert status == 200 and listed["total"] == 2 and all("****" in c["caller_phone"] for c in listed["items"])
    status, case = await api.call("GET", f"/api/v1/cases/{numbers['late']}", "leader01")
    assert status == 200 and case["allowed_actions"] == [] and "****" in case["caller_phone"]
    status, error = await api.act(case, "request_extension", "leader01", reason="x", value=1, unit="working_days")
    assert status == 403 and "领导" in error["error"]["message"]
    status, _ = await api.call("POST", "/api/v1/cases", "leader01", json={
        "source": "hotline", "description": "x", "category_code": "10118"})
    assert status == 403
