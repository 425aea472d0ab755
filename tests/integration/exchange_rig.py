"""The hotline with a 12345 link to the simulator process, for the exchange tests (and the benchmark)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from callcenter.rig.local_ports import free_port
from config.bootstrap import create_app
from config.settings import Settings
from tests.api_plugin import Api, _tokens
from tests.sim12345_rig import SimProcess
from ticketing.exchange.service import ExchangeService, deliver_and_settle
from ticketing.exchange.settings import ExchangeSettings, LinkSettings
from ticketing.exchange.tables import exchange_outbound
from web.keys import ENGINE, EXCHANGE

SECRET = "test-secret-12345-link"


def order(no: str, **over: Any) -> dict[str, Any]:
    """A 派单 message in the generic profile's names."""
    return {
        "msgType": "DISPATCH",
        "msgId": f"M-{no}",
        "workOrderNo": no,
        "title": "路灯不亮",
        "content": "海滨东路120号门口路灯不亮，晚上很黑",
        "appealType": "20",
        "appealCategory": "城市管理-市政设施-路灯",
        "address": "海滨东路120号",
        "callerNumber": "13900001111",
        "appealPerson": "李四",
        "secrecyFlag": "0",
        "dispatchTime": "2026-11-20 09:00:00",
        "attachments": [{"name": "现场.jpg", "url": "http://12345.example/files/a.jpg"}],
        **over,
    }


def settings_with_link(base: Settings, sim: SimProcess, **link: Any) -> Settings:
    cfg = LinkSettings(
        enabled=True,
        inbound="both",
        base_url=sim.url,
        secret=SECRET,
        retry_base_s=1,
        retry_max_s=4,
        timeout_s=1.5,
        wait_s=0.5,
        **link,
    )
    return base.model_copy(update={"exchange": ExchangeSettings(loop_enabled=False, links={"12345": cfg})})


@dataclass
class Hub:
    api: Api
    sim: SimProcess
    clock: Any

    @property
    def service(self) -> ExchangeService:
        return self.api.client.app[EXCHANGE]

    @property
    def push_url(self) -> str:
        return str(self.api.client.make_url("/api/v1/exchange/12345/inbound"))

    async def push(self, *messages: Any, **spec: Any) -> list[dict[str, Any]]:
        answer = await self.sim.call(
            "POST", "/control/push", {"target": self.push_url, "messages": list(messages), **spec}
        )
        return answer["replies"]

    async def unsettled(self) -> int:
        async with self.api.client.app[ENGINE].connect() as conn:
            return (
                await conn.execute(
                    select(func.count())
                    .select_from(exchange_outbound)
                    .where(exchange_outbound.c.state.in_(("pending", "sending")))
                )
            ).scalar_one()

    async def drain(self, rounds: int = 60) -> int:
        """Deliver until nothing is pending, moving the app clock past each backoff; returns the rounds used."""
        for used in range(1, rounds + 1):
            await deliver_and_settle(self.service, self.clock())
            if not await self.unsettled():
                return used
            self.clock.advance(seconds=5)
        raise AssertionError("outbound messages still pending")

    async def received(self) -> dict[str, Any]:
        return (await self.sim.state_now())["received"]


@asynccontextmanager
async def start_hub(settings: Settings, sim: SimProcess, clock: Any, **link: Any) -> AsyncIterator[Hub]:
    tokens = await _tokens(settings, clock)
    app = create_app(settings_with_link(settings, sim, **link), clock=clock)
    client = TestClient(TestServer(app, host="127.0.0.1", port=free_port()))
    await client.start_server()
    try:
        yield Hub(Api(client, tokens), sim, clock)
    finally:
        await client.close()


def sim_process(tmp: Path) -> SimProcess:
    return SimProcess(SECRET, tmp / "sim12345.json")
