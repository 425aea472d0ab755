"""Department webhooks on SQLite and PostgreSQL: signed, retried after a 500, one delivery per event; never to
loopback or private addresses by default, no redirects followed, errors without network details."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from config.bootstrap import create_app
from config.settings import Settings
from ticketing.notify.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from ticketing.notify.fakes import DISPATCHER, LEAD, department, drive, new_case, to_dispatched
from ticketing.notify.service import NotifyService
from ticketing.notify.settings import NotifySettings
from ticketing.notify.tables import webhook_deliveries
from ticketing.notify.webhooks import CONNECT_ERROR, REFUSED_ERROR, save_webhook
from web.keys import CASES, ENGINE, NOTIFY_CONFIG, RUNNING


def svc(client: TestClient) -> NotifyService:
    service = client.app[RUNNING].notify
    assert service is not None
    return service


async def test_webhook_is_signed_and_retried_after_a_500(db_settings: Settings, clock: Any,
                                                         aiohttp_client: Any) -> None:
    received: list[tuple[bool, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        valid = verify_webhook("dept-secret", request.headers[TIMESTAMP_HEADER], body,
                               request.headers[SIGNATURE_HEADER], time.time(), tolerance_s=10 ** 9)
        received.append((valid, await request.json()))
        return web.Response(status=500 if len(received) == 1 else 204)

    receiver = web.Application()
    receiver.router.add_post("/hook", receive)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, retry_base_s=5, webhook_allow_http=True,
                                        webhook_allow_private=True)  # a receiver on loopback
    client = await aiohttp_client(app)
    try:
        await save_webhook(app[ENGINE], "zfj", str(server.make_url("/hook")), "dept-secret", True, "admin", clock())
        case_no = await new_case(app[CASES])
        await drive(app[CASES], case_no, [*to_dispatched(), ("request_return", department("zfj"),
                                                              {"reason": "不属于本部门职责"}),
                                          ("approve_return", DISPATCHER, {})])
        await svc(client).settled()
        await svc(client).catch_up(clock())  # no duplicates from the replay
        report = await svc(client).deliver_webhooks(clock())
        assert (report.delivered, report.retried) == (1, 1)
        clock.advance(seconds=6)
        assert (await svc(client).deliver_webhooks(clock())).delivered == 1
        assert (await svc(client).deliver_webhooks(clock())).delivered == 0
    finally:
        await server.close()
    assert all(valid for valid, _ in received) and len(received) == 3
    assert sorted(p["event"] for _, p in received) == ["CaseDispatched", "CaseDispatched", "CaseReturned"]
    assert {p["department"] for _, p in received} == {"zfj"}
    async with app[ENGINE].connect() as conn:
        log = (await conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id))).mappings().all()
    assert [(r["event"], r["state"]) for r in log] == [("CaseDispatched", "delivered"), ("CaseReturned", "delivered")]
    assert log[0]["attempts"] == 2 and log[0]["last_status"] == 204


async def test_departments_without_a_webhook_get_no_deliveries(db_settings: Settings, clock: Any,
                                                                aiohttp_client: Any) -> None:
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = NotifySettings(scheduler_enabled=False, webhook_allow_http=True, webhook_allow_private=True)
    client = await aiohttp_client(app)
    case_no = await new_case(app[CASES])
    await drive(app[CASES], case_no, [*to_dispatched(), ("request_extension", department("zfj"),
                                                          {"reason": "需采购", "value": 1, "unit": "working_days"}),
                                      ("approve_extension", LEAD, {})])
    await svc(client).settled()
    async with app[ENGINE].connect() as conn:
        assert (await conn.execute(select(webhook_deliveries))).first() is None


async def _deliver_to(db_settings: Settings, clock: Any, aiohttp_client: Any, url: str,
                      cfg: NotifySettings) -> dict[str, Any]:
    """A new case dispatched to zfj with a webhook at `url`; one delivery sweep; its delivery row."""
    app = create_app(db_settings, clock=clock)
    app[NOTIFY_CONFIG] = cfg
    client = await aiohttp_client(app)
    await save_webhook(app[ENGINE], "zfj", url, "dept-secret", True, "admin", clock())
    case_no = await new_case(app[CASES])
    await drive(app[CASES], case_no, to_dispatched())
    await svc(client).settled()
    await svc(client).deliver_webhooks(clock())
    async with app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()))).mappings()
        return dict(rows.first() or {})


async def _receiver(hits: list[str]) -> TestServer:
    async def hook(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path == "/moved":
            raise web.HTTPTemporaryRedirect("/inside")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{name}", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_by_default_webhooks_never_reach_loopback_names_or_addresses(db_settings: Settings, clock: Any,
                                                                         aiohttp_client: Any) -> None:
    hits: list[str] = []
    server = await _receiver(hits)
    cfg = NotifySettings(scheduler_enabled=False, webhook_allow_http=True)  # http allowed, private not
    try:
        for host in ("127.0.0.1", "vm", "localhost"):  # "vm" is a name that resolves to 127.0.0.1 here
            row = await _deliver_to(db_settings, clock, aiohttp_client, f"http://{host}:{server.port}/hook", cfg)
            assert row["state"] == "pending" and row["attempts"] == 1, host
            assert row["last_error"] in (REFUSED_ERROR, CONNECT_ERROR) and str(server.port) not in row["last_error"]
    finally:
        await server.close()
    assert hits == []


async def test_webhooks_need_https_by_default(db_settings: Settings, clock: Any, aiohttp_client: Any) -> None:
    row = await _deliver_to(db_settings, clock, aiohttp_client, "http://hooks.example.org/hook",
                            NotifySettings(scheduler_enabled=False))
    assert row["last_error"] == REFUSED_ERROR and row["last_status"] is None


async def test_redirects_are_not_followed_and_errors_name_no_details(db_settings: Settings, clock: Any,
                                                                    aiohttp_client: Any) -> None:
    hits: list[str] = []
    server = await _receiver(hits)
    cfg = NotifySettings(scheduler_enabled=False, webhook_allow_http=True, webhook_allow_private=True)
    port = server.port
    try:
        row = await _deliver_to(db_settings, clock, aiohttp_client, f"http://127.0.0.1:{port}/moved", cfg)
    finally:
        await server.close()
    assert hits == ["/moved"] and row["last_status"] == 307 and row["state"] == "pending"
    closed = await _deliver_to(db_settings, clock, aiohttp_client, f"http://127.0.0.1:{port}/hook", cfg)
    assert closed["last_error"] == CONNECT_ERROR and closed["last_status"] is None  # the port is shut now
