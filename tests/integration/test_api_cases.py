"""The case API end to end through HTTP, on SQLite and PostgreSQL: the full workflow and bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.api_plugin import Api
from tests.dates import case_no_prefix, local_day, marks
from ticketing.domain.caseno import format_case_no
from ticketing.domain.model import Stage
from web.keys import CASES

pytestmark = pytest.mark.dates


async def zone(api: Api) -> ZoneInfo:
    return (await api.client.app[CASES].calendar()).tz


async def test_case_goes_from_report_to_close_through_the_api(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    case = await api.create(accept=True)
    assert case["state"] == "accepted" and len(case["case_no"]) == 12
    assert case["case_no"].startswith(case_no_prefix(clock(), await zone(api)))
    assert {a["command"] for a in case["allowed_actions"]} >= {"request_verification", "merge"}
    assert [d["stage"] for d in case["deadlines"]] == ["acceptance", "registration"]
    status, full = await api.call("GET", f"/api/v1/cases/{case['case_no']}")
    assert status == 200 and [h["command"] for h in full["history"]] == ["create", "accept"]
    assert full["caller_phone"] == "13800000000" and full["description"].startswith("海滨东路")
    photo = await api.photo("inspector01")  # 核查 carries a photo the inspector took (ids are checked)
    steps = [("register", "lead01", {}), ("dispatch", "dispatcher01", {"department": "szs"}),
             ("acknowledge", "dept-szs", {}), ("submit_result", "dept-szs", {"notes": "已更换灯泡"}),
             ("request_check", "agent01", {}), ("check_pass", "inspector01", {"photos": [photo]}),
             ("close", "lead01", {})]
    for command, user, body in steps:
        clock.advance(minutes=10)
        status, case = await api.act(case, command, user, **body)
        assert status == 200, (command, case)
    assert case["state"] == "closed" and case["version"] == 9
    assert [d["stage"] for d in case["deadlines"]] == [
        "acceptance", "registration", "dispatching", "handling", "checking", "closing"]
    assert all(d["finished_at"] for d in case["deadlines"])
    assert case["history"][-1]["label"] == "结案"
    status, listed = await api.call("GET", "/api/v1/cases?state=closed")
    assert status == 200 and [c["case_no"] for c in listed["items"]] == [case["case_no"]]


async def test_case_numbers_are_unique_and_sequential(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    cases = await asyncio.gather(*(api.create() for _ in range(8)))
    numbers = sorted(c["case_no"] for c in cases)
    today = local_day(clock(), await zone(api))
    assert numbers == [format_case_no(today, n) for n in range(1, 9)]


async def test_the_daily_sequence_starts_again_after_local_midnight(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    tz = await zone(api)
    first = await api.create()
    today = local_day(clock(), tz)
    clock.now = clock().astimezone(tz).replace(hour=23, minute=59, second=59, microsecond=0).astimezone(UTC)
    late = await api.create()
    clock.advance(seconds=1)  # 00:00 local: the next day's numbers
    tomorrow = await api.create()
    assert [first["case_no"], late["case_no"]] == [format_case_no(today, 1), format_case_no(today, 2)]
    assert tomorrow["case_no"] == format_case_no(today + timedelta(days=1), 1)


async def test_stale_version_is_refused_and_changes_nothing(api: Api) -> None:
    case = await api.create()
    status, accepted = await api.act(case, "accept", "agent01")
    assert status == 200
    status, error = await api.act(case, "accept", "agent01")  # same old version again
    assert status == 409 and error["error"]["code"] == "stale_version"
    status, now = await api.call("GET", f"/api/v1/cases/{case['case_no']}")
    assert now["version"] == accepted["version"] and len(now["history"]) == 2


async def test_concurrent_commands_on_one_version_only_one_wins(api: Api) -> None:
    case = await api.create()
    results = await asyncio.gather(*(api.act(case, "accept", "agent01") for _ in range(4)))
    assert sorted(s for s, _ in results) == [200, 409, 409, 409]


async def test_wrong_role_gets_403_and_department_binding_holds(api: Api) -> None:
    case = await api.create(accept=True)
    status, error = await api.act(case, "register", "agent01")
    assert status == 403 and error["error"]["code"] == "forbidden" and "无权" in error["error"]["message"]
    _, case = await api.act(case, "register", "lead01")
    _, case = await api.act(case, "dispatch", "dispatcher01", department="szs")
    status, _ = await api.act(case, "submit_result", "dept-hws", notes="x")
    assert status == 403
    status, _ = await api.call("GET", f"/api/v1/cases/{case['case_no']}", "dept-hws")
    assert status == 404  # other departments do not even see it
    status, listed = await api.call("GET", "/api/v1/cases", "dept-hws")
    assert listed["total"] == 0
    status, listed = await api.call("GET", "/api/v1/cases", "dept-szs")
    assert listed["total"] == 1 and "****" in listed["items"][0]["caller_phone"]


async def test_illegal_transition_is_409_with_a_chinese_message(api: Api) -> None:
    case = await api.create()
    status, error = await api.act(case, "close", "lead01")
    assert status == 409 and error["error"]["code"] == "illegal_transition"
    assert "已上报" in error["error"]["message"]


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "malformed_json"),
    (b'{"source": "hotline", "description": 5, "category_code": "10118"}', 422, "validation_failed"),
    (b'{"source": "fax", "description": "x", "category_code": "10118"}', 422, "validation_failed"),
    (b'{"source": "web", "description": "x", "category_code": "19999"}', 422, "invalid_parameters"),
    (b'{"source": "web", "description": "x", "category_code": "10118", "lat": 95, "lon": 120}', 422,
     "validation_failed"),
    (b'{"source": "web", "description": "x", "category_code": "10118", "lat": 30.5}', 422, "invalid_parameters"),
    (b'{"source": "web", "description": "x", "category_code": "10118", "evil": 1}', 422, "validation_failed"),
    (b'[]', 422, "validation_failed"),
    (b'', 422, "validation_failed"),
])
async def test_bad_input_is_a_clear_4xx(api: Api, body: bytes, status: int, code: str) -> None:
    got, error = await api.call("POST", "/api/v1/cases", data=body)
    assert (got, error["error"]["code"]) == (status, code)
    assert error["error"]["message"]
    _, listed = await api.call("GET", "/api/v1/cases")
    assert listed["total"] == 0  # nothing half-created


async def test_action_body_validation_and_unknown_things(api: Api) -> None:
    case = await api.create()
    status, error = await api.call("POST", f"/api/v1/cases/{case['case_no']}/actions/accept", json={})
    assert status == 422 and error["error"]["details"][0]["field"] == "version"
    status, error = await api.call("POST", f"/api/v1/cases/{case['case_no']}/actions/accept",
                                   json={"version": "1"})
    assert status == 422
    status, error = await api.act(case, "fly", "agent01")
    assert status == 404 and error["error"]["code"] == "unknown_command"
    status, error = await api.call("GET", "/api/v1/cases/209912310001")
    assert status == 404 and error["error"]["code"] == "not_found"
    status, error = await api.call("GET", "/api/v1/cases/../../etc")
    assert status == 404
    status, error = await api.call("GET", "/api/v1/cases?light=purple&page=0")
    assert status == 422 and {d["field"] for d in error["error"]["details"]} == {"light", "page"}
    status, error = await api.call("GET", "/api/v1/nowhere")
    assert status == 404 and error["error"]["code"] == "http_404"


async def test_authentication_is_required(api: Api) -> None:
    status, error = await api.call("GET", "/api/v1/cases", None)
    assert status == 401 and error["error"]["code"] == "unauthenticated"
    async with api.client.get("/api/v1/cases", headers={"Authorization": "Bearer hl_forged"}) as resp:
        assert resp.status == 401
    status, _ = await api.call("GET", "/api/v1/health", None)
    assert status == 200


async def test_list_filters_and_pagination(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    await api.create(description="枣园东路井盖丢失", category_code="10103", caller_phone="13911112222")
    await api.create(description="勤俭路废弃车辆", category_code="20107")
    await api.create(description="朝阳东路暴露垃圾", category_code="20102", accept=True)
    checks = {"category=10103": 1, "category=2": 2, "state=accepted": 1, "state=reported,accepted": 3,
              "q=勤俭路": 1, "phone=13911112222": 1, "phone=139-1111-2222": 1, "phone=2222": 0,
              "light=green": 3, "light=red": 0}
    today = local_day(clock(), await zone(api))
    checks |= {f"from={today}&to={today}": 3, f"to={today - timedelta(days=1)}": 0,
               f"from={today + timedelta(days=1)}": 0}
    for query, expected in checks.items():
        status, listed = await api.call("GET", f"/api/v1/cases?{query}")
        assert (status, listed["total"]) == (200, expected), query
    acceptance = await marks(api.client.app[CASES], clock(), "10103", Stage.ACCEPTANCE)
    clock.now = acceptance.due + timedelta(minutes=1)  # 受理 time is up for the two unaccepted cases
    _, listed = await api.call("GET", "/api/v1/cases?light=red")
    assert listed["total"] == 2
    _, page = await api.call("GET", "/api/v1/cases?per_page=2&page=2")
    assert page["total"] == 3 and len(page["items"]) == 1


async def test_deadline_lights_and_suggested_department(api: Api, clock) -> None:  # type: ignore[no-untyped-def]
    case = await api.create(category_code="20505", accept=True)  # 占道经营: 4 working hours, 执法局
    assert case["suggested_department"]["code"] == "zfj"
    assert case["suggested_department"]["reason"].startswith("职责")
    _, case = await api.act(case, "register", "lead01")
    _, case = await api.act(case, "dispatch", "dispatcher01", department="zfj")
    handling = case["deadlines"][-1]
    assert handling["stage"] == "handling" and handling["limit"] == "4工作时" and handling["light"] == "green"
    expected = await marks(api.client.app[CASES], clock(), "20505")  # dispatched now: handling starts now
    assert handling["due_at"] == expected.due.astimezone(await zone(api)).isoformat(timespec="seconds")
    for at, light in ((expected.yellow - timedelta(minutes=1), "green"), (expected.yellow, "yellow"),
                      (expected.due, "yellow"), (expected.due + timedelta(minutes=1), "red")):
        clock.now = at
        _, case = await api.call("GET", f"/api/v1/cases/{case['case_no']}")
        assert case["deadlines"][-1]["light"] == light, at


async def test_reference_endpoints_and_openapi(api: Api) -> None:
    status, cats = await api.call("GET", "/api/v1/categories")
    assert status == 200 and len(cats["items"]) == 111
    lamp = next(c for c in cats["items"] if c["code"] == "10118")
    assert lamp["name"] == "路灯" and lamp["limit"]["text"] == "3工作日" and lamp["register_condition"]
    status, deps = await api.call("GET", "/api/v1/departments")
    assert {"wyjd", "gdgs", "zfj"} <= {d["code"] for d in deps["items"]}
    status, doc = await api.call("GET", "/api/v1/openapi.json", None)
    assert status == 200 and doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/v1/cases/{case_no}/actions/{command}"]
    assert "CreateCaseBody" in doc["components"]["schemas"]


async def test_administrators_enter_holidays_for_years_the_package_lacks(api: Api) -> None:
    holiday = {"day": "2027-01-01", "kind": "holiday"}
    status, _ = await api.call("POST", "/api/v1/calendar/days", "agent01", json=holiday)
    assert status == 403
    status, _ = await api.call("POST", "/api/v1/calendar/days", "admin",
                               json={"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert status == 200
    status, days = await api.call("GET", "/api/v1/calendar/days")
    assert days["items"] == [{"day": "2027-01-01", "kind": "holiday", "name": "元旦", "entered_by": "admin"}]
    status, error = await api.call("POST", "/api/v1/calendar/days", "admin", json={**holiday, "day": "2027-02-30"})
    assert status == 422 and error["error"]["details"][0]["field"] == "day"


async def test_a_duplicate_is_merged_into_a_live_case_and_linked(api: Api) -> None:
    original = await api.create()
    duplicate = await api.create()
    status, error = await api.act(duplicate, "merge", "agent01", merged_into="209901010001", reason="重复")
    assert status == 422 and "不存在" in error["error"]["message"]
    status, merged = await api.act(duplicate, "merge", "agent01", merged_into=original["case_no"], reason="同一路灯")
    assert status == 200 and merged["state"] == "invalid" and merged["merged_into"] == original["case_no"]
    _, view = await api.call("GET", f"/api/v1/cases/{original['case_no']}")
    assert view["duplicates"] == [duplicate["case_no"]]
    third = await api.create()
    status, _ = await api.act(third, "merge", "agent01", merged_into=duplicate["case_no"], reason="重复")
    assert status == 422  # not into a case that is itself void
