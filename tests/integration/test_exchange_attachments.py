"""Attachments of 12345 work orders fetched from the simulator process, and our 办结 photos fetched back by it.

The simulator (tests/sim12345.py) serves the files on 127.0.0.1; the link allows that host, http and loopback
explicitly (the default refuses all three). Each attachment is a durable job: the order is taken whatever its
attachments do, and each one's state is on the case. SQLite and PostgreSQL (the db_settings fixture).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from callcenter.rig.local_ports import free_port
from config.settings import Settings
from tests.integration.exchange_rig import Hub, order, sim_process, start_hub
from tests.integration.test_exchange_12345 import case_of, to_closed
from tests.sim12345_rig import SimProcess
from ticketing.exchange.attachments import fetch_attachments
from ticketing.exchange.tables import exchange_attachments, exchange_outbound
from web.keys import ENGINE
from web.tables import photos

FILES_OK = {"attachment_hosts": ("127.0.0.1",), "attachment_allow_http": True, "attachment_allow_private": True}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimProcess]:
    process = sim_process(tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def hub(db_settings: Settings, sim: SimProcess, clock) -> AsyncIterator[Hub]:  # type: ignore[no-untyped-def]
    async with start_hub(db_settings, sim, clock, attachment_max_bytes=256 * 1024, attachment_max_attempts=3,
                         **FILES_OK) as value:
        yield value


def files(hub: Hub, *names: str) -> list[dict[str, str]]:
    return [{"name": name, "url": f"{hub.sim.url}/files/{name}"} for name in names]


async def settle(hub: Hub, rounds: int = 20) -> None:
    """Run the fetch sweep until no attachment is waiting, moving the app clock past each backoff."""
    for _ in range(rounds):
        await fetch_attachments(hub.service, hub.clock())
        async with hub.api.client.app[ENGINE].connect() as conn:
            waiting = (await conn.execute(select(func.count()).select_from(exchange_attachments).where(
                exchange_attachments.c.state.in_(("pending", "fetching"))))).scalar_one()
        if not waiting:
            return
        hub.clock.advance(seconds=10)
    raise AssertionError("attachments still waiting")


async def attachments_of(hub: Hub, order_no: str) -> dict[str, dict[str, Any]]:
    case = await case_of(hub, order_no)
    return {a["name"]: a for a in case["attachments"]}


async def test_attachments_are_fetched_retried_and_refused_by_rule_and_the_order_is_taken_anyway(hub: Hub) -> None:
    dead = f"http://127.0.0.1:{free_port()}/files/gone.jpg"  # nothing listens there: unreachable
    served = files(hub, "ok-1.jpg", "png-2.png", "flaky-3.jpg", "big-4.jpg", "bigchunked-5.jpg", "text-6.jpg",
                   "pdf-7.pdf", "redirect-8.jpg")
    items = [*served, {"name": "gone.jpg", "url": dead}, {"name": "ftp.jpg", "url": "ftp://127.0.0.1/a.jpg"},
             {"name": "other.jpg", "url": "http://10.9.8.7/a.jpg"}]
    await hub.sim.configure(big_bytes=300 * 1024)
    (reply,) = await hub.push(order("ATT-1", attachments=items))
    assert reply["body"].get("result") == "created", reply  # taken before any attachment is looked at
    before = await attachments_of(hub, "ATT-1")
    assert {n: a["state"] for n, a in before.items() if a["state"] == "refused"} == {
        "ftp.jpg": "refused", "other.jpg": "refused"}  # refused by their form, without a connection
    await settle(hub)
    found = await attachments_of(hub, "ATT-1")
    state = {name: a["state"] for name, a in found.items()}
    assert state == {
        "ok-1.jpg": "stored", "png-2.png": "stored", "flaky-3.jpg": "stored", "big-4.jpg": "refused",
        "bigchunked-5.jpg": "refused", "text-6.jpg": "refused", "pdf-7.pdf": "refused", "redirect-8.jpg": "refused",
        "gone.jpg": "failed", "ftp.jpg": "refused", "other.jpg": "refused",
    }
    assert found["flaky-3.jpg"]["attempts"] == 2  # 500 first, then the image
    assert found["gone.jpg"]["attempts"] == 3 and "连接失败" in found["gone.jpg"]["error"]
    assert "大小上限" in found["big-4.jpg"]["error"] and "大小上限" in found["bigchunked-5.jpg"]["error"]
    assert "不是图片" in found["text-6.jpg"]["error"] and "不是图片" in found["pdf-7.pdf"]["error"]
    assert "重定向" in found["redirect-8.jpg"]["error"] and "https" in found["ftp.jpg"]["error"]
    assert "允许列表" in found["other.jpg"]["error"]
    gets = (await hub.sim.state_now())["file_gets"]
    assert "ok-redirected.jpg" not in gets  # the redirect was not followed
    assert found["ok-1.jpg"]["content_type"] == "image/jpeg" and found["png-2.png"]["content_type"] == "image/png"
    # The stored ones are photos like uploaded ones: the case's staff can open them.
    for name in ("ok-1.jpg", "png-2.png", "flaky-3.jpg"):
        resp = await hub.api.client.get(f"/photos/{found[name]['photo_id']}",
                                        headers={"Authorization": f"Bearer {hub.api.tokens['agent01']}"})
        assert resp.status == 200 and resp.headers["Content-Type"] == found[name]["content_type"]
    async with hub.api.client.app[ENGINE].connect() as conn:
        kept = (await conn.execute(select(func.count()).select_from(photos))).scalar_one()
    assert kept == 3


async def test_a_second_sweep_and_a_replayed_order_fetch_nothing_twice(hub: Hub) -> None:
    message = order("ATT-2", attachments=files(hub, "ok-a.jpg"))
    await hub.push(message, twice=True)
    await settle(hub)
    await fetch_attachments(hub.service, hub.clock())
    assert (await hub.sim.state_now())["file_gets"] == {"ok-a.jpg": 1}
    (stored,) = (await attachments_of(hub, "ATT-2")).values()
    assert stored["state"] == "stored"

    case = await case_of(hub, "ATT-2")

    async def dept_sees() -> int:  # read through the case, as the case page links it
        resp = await hub.api.client.get(f"/photos/{stored['photo_id']}?case={case['case_no']}",
                                        headers={"Authorization": f"Bearer {hub.api.tokens['dept-szs']}"})
        return resp.status

    assert await dept_sees() == 403  # not its case (yet)
    for command, user, body in [("accept", "agent01", {}), ("register", "lead01", {}),
                                ("dispatch", "dispatcher01", {"department": "szs"})]:
        status, case = await hub.api.act(case, command, user, **body)
        assert status == 200, case
    assert await dept_sees() == 200  # the department handling the order's case sees its attachments


async def test_an_attachment_whose_fetcher_died_is_taken_over_after_its_lease(hub: Hub) -> None:
    from core.db.engine import write_transaction
    from ticketing.exchange.attachments import LEASE, QUEUE
    from ticketing.exchange.domain.attachments import AttEvent, AttState

    await hub.push(order("ATT-8", attachments=files(hub, "ok-a.jpg")))
    async with write_transaction(hub.api.client.app[ENGINE]) as conn:  # a fetcher claims it, then dies
        claimed = await QUEUE.claim(conn, hub.clock(), 10, state=AttState.PENDING, event=AttEvent.CLAIM)
    assert len(claimed.ids) == 1
    assert (await fetch_attachments(hub.service, hub.clock())).stored == 0  # still under the dead one's lease
    hub.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert (await fetch_attachments(hub.service, hub.clock())).stored == 1
    (only,) = (await attachments_of(hub, "ATT-8")).values()
    assert only["state"] == "stored" and (await hub.sim.state_now())["file_gets"] == {"ok-a.jpg": 1}


async def test_the_case_page_shows_each_attachments_state(db_settings: Settings, sim: SimProcess, clock) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from core.tables import users
    from tests.integration.test_web_support import Browser, _password_hash, plain_cookies

    async with start_hub(plain_cookies(db_settings), sim, clock, **FILES_OK) as hub:
        async with hub.api.client.app[ENGINE].begin() as conn:
            await conn.execute(update(users).where(users.c.username == "agent01").values(
                password_hash=_password_hash()))
        (reply,) = await hub.push(order("ATT-7", attachments=files(hub, "ok-a.jpg", "redirect-b.jpg")))
        await settle(hub)
        browser = Browser(hub.api.client)
        assert (await browser.login("agent01"))[0] == 303
        status, page = await browser.get(f"/case/{reply['body']['case_no']}")
        assert status == 200 and "12345 工单附件" in page
        assert "ok-a.jpg：已保存为照片" in page and "redirect-b.jpg：未保存（附件地址返回重定向" in page
        (stored,) = [a for a in (await attachments_of(hub, "ATT-7")).values() if a["photo_id"]]
        assert f'/photos/{stored["photo_id"]}/thumb?case={reply["body"]["case_no"]}' in page


async def test_the_total_per_order_is_capped(db_settings: Settings, sim: SimProcess, clock) -> None:  # type: ignore[no-untyped-def]
    size = len(await fetch_one_file(sim, "ok-x.jpg"))
    async with start_hub(db_settings, sim, clock, attachment_total_bytes=max(1024, size * 2 + 10),
                         **FILES_OK) as hub:
        await hub.push(order("ATT-3", attachments=files(hub, "ok-a.jpg", "ok-b.jpg", "ok-c.jpg")))
        await settle(hub)
        state = {n: a["state"] for n, a in (await attachments_of(hub, "ATT-3")).items()}
        assert sorted(state.values()) == ["refused", "stored", "stored"]
        (over,) = [a for a in (await attachments_of(hub, "ATT-3")).values() if a["state"] == "refused"]
        assert "总大小" in over["error"]


async def fetch_one_file(sim: SimProcess, name: str) -> bytes:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{sim.url}/files/{name}") as resp:
        return await resp.read()


async def test_by_default_loopback_http_and_hosts_off_the_list_are_refused(db_settings: Settings, sim: SimProcess,
                                                                           clock) -> None:  # type: ignore[no-untyped-def]
    # The platform's own host (base_url) is allowed by default, but it is loopback, and over http.
    async with start_hub(db_settings, sim, clock, attachment_allow_http=True) as hub:
        await hub.push(order("ATT-4", attachments=files(hub, "ok-a.jpg")))
        await settle(hub)
        (only,) = (await attachments_of(hub, "ATT-4")).values()
        assert only["state"] == "refused" and "内网" in only["error"]
    assert (await sim.state_now())["file_gets"] == {}  # never connected


async def test_by_default_http_is_refused(db_settings: Settings, sim: SimProcess, clock) -> None:  # type: ignore[no-untyped-def]
    async with start_hub(db_settings, sim, clock) as hub:
        await hub.push(order("ATT-5", attachments=files(hub, "ok-a.jpg")))
        (only,) = (await attachments_of(hub, "ATT-5")).values()
        assert only["state"] == "refused" and "https" in only["error"]
    assert (await sim.state_now())["file_gets"] == {}  # never connected


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_a_full_photo_disk_keeps_the_order_and_says_so_then_the_fetch_succeeds_later(
        db_settings: Settings, sim: SimProcess, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_fault_disk import fill, small_filesystem

    folder = db_settings.data_path("photos")
    async with start_hub(db_settings, sim, clock, **FILES_OK) as hub:
        with small_filesystem(folder):
            filler = fill(folder)
            (reply,) = await hub.push(order("ATT-6", attachments=files(hub, "ok-a.jpg")))
            assert reply["body"]["result"] == "created"
            await fetch_attachments(hub.service, hub.clock())
            (only,) = (await attachments_of(hub, "ATT-6")).values()
            assert only["state"] == "pending" and "存储空间已满" in only["error"] and only["attempts"] == 1
            filler.unlink()
            hub.clock.advance(seconds=30)
            await settle(hub)
            (only,) = (await attachments_of(hub, "ATT-6")).values()
            assert only["state"] == "stored"


async def test_finish_photos_go_out_as_signed_links_the_platform_can_fetch(hub: Hub) -> None:
    await hub.push(order("FIN-1", attachments=[]))
    photo = await hub.api.photo("dept-szs")
    await to_closed(hub, await case_of(hub, "FIN-1"), photos=[photo])
    await hub.drain()
    finish = next(m for m in (await hub.received()).values() if m["step"] == "finish")["body"]
    assert finish["handleResult"] == "已更换灯泡，恢复照明"
    (url,) = finish["attachments"]
    assert url.startswith(hub.service.links["12345"].cfg.public_base_url)
    # The test app listens elsewhere than public_base_url: point the same path and query at it.
    local = str(hub.api.client.make_url(url[url.index("/photos/shared/"):]))
    fetched = await hub.sim.call("POST", "/control/fetch", {"url": local})
    resp = await hub.api.client.get(f"/photos/{photo}",
                                    headers={"Authorization": f"Bearer {hub.api.tokens['dept-szs']}"})
    original = await resp.read()
    assert fetched == {"status": 200, "content_type": "image/jpeg", "bytes": len(original),
                       "sha256": hashlib.sha256(original).hexdigest()}
    tampered = local.replace("sig=", "sig=0")
    assert (await hub.sim.call("POST", "/control/fetch", {"url": tampered}))["status"] == 403
    other = local.replace(photo, "0" * 32)
    assert (await hub.sim.call("POST", "/control/fetch", {"url": other}))["status"] == 403
    ttl = hub.service.links["12345"].cfg.photo_link_ttl_h * 3600
    hub.service.wall = lambda: time.time() + ttl + 60  # the link has expired
    assert (await hub.sim.call("POST", "/control/fetch", {"url": local}))["status"] == 403
    async with hub.api.client.app[ENGINE].connect() as conn:
        (values,) = (await conn.execute(select(exchange_outbound.c["values"]).where(
            exchange_outbound.c.step == "finish"))).scalars().all()
    assert values["photo_ids"] == [photo]  # ids are stored; the links are signed when sent
