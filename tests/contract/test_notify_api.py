"""The loop API through HTTP on SQLite and PostgreSQL: roles, masking, webhooks, callbacks, opt-outs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from config.bootstrap import create_app, engine_for
from config.settings import Settings
from core import accounts
from tests.dates import TOKEN_DAYS, marks
from ticketing.domain.model import Role
from ticketing.notify.fakes import drive, new_case, to_closed
from ticketing.notify.settings import NotifySettings
from web.keys import CASES, NOTIFY_CONFIG, RUNNING

USERS = [("agent01", Role.AGENT, None), ("lead01", Role.LEAD, None), ("admin", Role.ADMIN, None),
         ("dispatcher01", Role.DISPATCHER, None), ("dept-zfj", Role.DEPARTMENT, "zfj"),
         ("dept-hws", Role.DEPARTMENT, "hws")]


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    async def call(self, method: str, path: str, user: str, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        async with self.client.request(method, path, headers=headers, **kw) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def api(db_settings: Settings, clock: Any, aiohttp_client: Any) -> Api:
    engine = engine_for(db_settings)
    tokens = {}
    async with engine.begin() as conn:
        for username, role, dept in USERS:
            await accounts.add_user(conn, username=username, display_name=username, role=role, now=clock(),
                                    department_code=dept)
            tokens[username] = await accounts.create_token(conn, username, clock(), days=TOKEN_DAYS)
    await engine.dispose()
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False)
    return Api(await aiohttp_client(app), tokens)


async def test_outbox_is_for_admin_and_lead_with_numbers_masked_for_admin(api: Api) -> None:
    cases = api.client.app[CASES]
    case_no = await new_case(cases)
    service = api.client.app[RUNNING].notify
    assert service is not None
    await service.settled()
    status, _ = await api.call("GET", "/api/v1/notify/outbox", "agent01")
    assert status == 403
    _, lead = await api.call("GET", "/api/v1/notify/outbox", "lead01")
    _, admin = await api.call("GET", "/api/v1/notify/outbox?state=pending", "admin")
    assert lead["total"] == admin["total"] == 1 and lead["items"][0]["case_no"] == case_no
    assert lead["items"][0]["recipient"] == "13800000000" and admin["items"][0]["recipient"] == "138****0000"


async def test_webhook_configuration_is_validated_and_audited(api: Api) -> None:
    body = {"url": "https://hooks.example.org/hook", "secret": "0123456789abcdef"}
    for refused in ("http://hooks.example.org/hook", "https://127.0.0.1:9/hook", "https://[::1]/hook",
                    "https://169.254.169.254/latest", "https://10.0.0.8/hook", "https://localhost/hook",
                    "https://user:pw@hooks.example.org/hook", "https://[::ffff:192.168.1.1]/hook"):
        status, error = await api.call("PUT", "/api/v1/notify/webhooks/zfj", "admin", json={**body, "url": refused})
        assert status == 422 and error["error"]["code"] == "webhook_url_refused", refused
    status, _ = await api.call("PUT", "/api/v1/notify/webhooks/zfj", "lead01", json=body)
    assert status == 403
    status, error = await api.call("PUT", "/api/v1/notify/webhooks/nowhere", "admin", json=body)
    assert status == 404 and "部门" in error["error"]["message"]
    status, error = await api.call("PUT", "/api/v1/notify/webhooks/zfj", "admin", json={**body, "secret": "short"})
    assert status == 422 and error["error"]["details"][0]["field"] == "secret"
    status, _ = await api.call("PUT", "/api/v1/notify/webhooks/zfj", "admin", json=body)
    assert status == 200
    _, listed = await api.call("GET", "/api/v1/notify/webhooks", "admin")
    assert listed["items"] == [{"department": "zfj", "url": body["url"], "active": True, "secret_hint": "****cdef",
                                "updated_by": "admin", "updated_at": listed["items"][0]["updated_at"]}]
    status, log = await api.call("GET", "/api/v1/notify/webhooks/zfj/deliveries", "admin")
    assert status == 200 and log["items"] == []


async def test_agents_request_and_list_callbacks(api: Api, clock: Any) -> None:
    case_no = await new_case(api.client.app[CASES])
    await drive(api.client.app[CASES], case_no, to_closed())
    status, created = await api.call("POST", f"/api/v1/cases/{case_no}/callbacks", "agent01", json={})
    assert status == 201 and created["number"] == "13800000000" and created["state"] == "pending"
    status, _ = await api.call("POST", f"/api/v1/cases/{case_no}/callbacks", "dispatcher01", json={})
    assert status == 403
    status, _ = await api.call("POST", "/api/v1/cases/209901010001/callbacks", "agent01", json={})
    assert status == 404
    status, _ = await api.call("POST", f"/api/v1/cases/{case_no}/callbacks", "agent01",
                                   json={"due_at": "2026-11-23T10:00:00"})  # no time zone
    assert status == 422
    _, listed = await api.call("GET", f"/api/v1/callbacks?case_no={case_no}", "lead01")
    assert listed["total"] >= 1 and all(i["case_no"] == case_no for i in listed["items"])


async def test_opt_out_list_is_managed_by_admins(api: Api) -> None:
    status, added = await api.call("POST", "/api/v1/notify/optouts", "admin",
                                   json={"phone": "13912345678", "reason": "市民来电要求"})
    assert status == 201 and added["phone"] == "139****5678"
    _, listed = await api.call("GET", "/api/v1/notify/optouts", "admin")
    assert [i["phone"] for i in listed["items"]] == ["139****5678"]
    status, _ = await api.call("GET", "/api/v1/notify/optouts", "agent01")
    assert status == 403
    status, _ = await api.call("DELETE", "/api/v1/notify/optouts/13912345678", "admin")
    assert status == 200
    status, _ = await api.call("DELETE", "/api/v1/notify/optouts/13912345678", "admin")
    assert status == 404


async def test_departments_read_their_own_reminders_and_leads_the_escalations(api: Api, clock: Any) -> None:
    from ticketing.notify.fakes import to_dispatched

    case_no = await new_case(api.client.app[CASES])
    await drive(api.client.app[CASES], case_no, to_dispatched())
    handling = await marks(api.client.app[CASES], clock(), "20505")
    clock.now = handling.due + timedelta(minutes=30)  # past the handling deadline
    service = api.client.app[RUNNING].notify
    assert service is not None
    await service.sweep_deadlines(clock())
    _, mine = await api.call("GET", "/api/v1/notify/inbox", "dept-zfj")
    _, other = await api.call("GET", "/api/v1/notify/inbox", "dept-hws")
    _, lead = await api.call("GET", "/api/v1/notify/inbox", "lead01")
    assert sorted(i["event"] for i in mine["items"]) == ["urge:due", "urge:yellow"] and other["total"] == 0
    assert [i["event"] for i in lead["items"]] == ["urge:escalation"] and case_no in lead["items"][0]["body"]
    status, _ = await api.call("GET", "/api/v1/notify/inbox", "agent01")
    assert status == 403
