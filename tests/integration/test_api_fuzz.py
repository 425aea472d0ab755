"""Random bodies, queries and paths never get a 5xx or a stack trace: only the documented 4xx shapes.

Hypothesis drives a real server (its own event loop in a thread) over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.bootstrap import create_app
from config.settings import Settings
from tests.api_plugin import _tokens

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12)
FIELDS = ["source", "description", "category_code", "caller_phone", "address", "lat", "lon", "component_id",
          "accept", "version", "department", "notes", "photos", "value", "unit", "confirmed", "satisfaction",
          "merged_into", "reason"]
bodies = st.one_of(json_values, st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
COMMANDS = ["accept", "register", "dispatch", "submit_result", "request_extension", "close", "rate", "x"]


class Server:
    def __init__(self, settings: Settings, clock) -> None:  # type: ignore[no-untyped-def]
        self.tokens = asyncio.run(_tokens(settings, clock))
        # Everything of the app lives on one loop in one thread (SQLAlchemy's async pool is thread-bound).
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runner = web.AppRunner(create_app(settings, clock=clock))
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    async def _start(self) -> int:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method=method,
                                         headers={"Authorization": f"Bearer {self.tokens['agent01']}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server(db_settings: Settings, clock) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    running = Server(db_settings, clock)
    yield running
    running.close()


def _assert_clean(status: int, body: Any) -> None:
    assert status < 500, body
    if status >= 400:
        assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"]


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_random_requests_get_only_clean_4xx(server: Server) -> None:
    status, case = server.call("POST", "/api/v1/cases", json.dumps(
        {"source": "web", "description": "路灯不亮", "category_code": "10118"}).encode())
    assert status == 201

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, command=st.sampled_from(COMMANDS), path=texts, query=st.dictionaries(
        st.sampled_from(["state", "light", "page", "per_page", "from", "to", "q", "phone", "category", "zz"]),
        texts, max_size=4))
    def probe(body: Any, command: str, query: dict[str, str], path: str) -> None:
        raw = json.dumps(body).encode()
        _assert_clean(*server.call("POST", "/api/v1/cases", raw))
        _assert_clean(*server.call("POST", f"/api/v1/cases/{case['case_no']}/actions/{command}", raw))
        _assert_clean(*server.call("GET", "/api/v1/cases?" + urllib.parse.urlencode(query)))
        _assert_clean(*server.call("GET", "/api/v1/cases/" + urllib.parse.quote(path, safe="")))

    probe()


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_random_requests_to_the_exchange_and_citizen_endpoints_get_only_clean_4xx(server: Server) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, path=texts, query=st.dictionaries(
        st.sampled_from(["ext_order_no", "case_no", "state", "page", "per_page", "zz"]), texts, max_size=3))
    def probe(body: Any, path: str, query: dict[str, str]) -> None:
        raw = json.dumps(body).encode()
        for target in ("/api/v1/exchange/12345/inbound", "/api/v1/exchange/" + urllib.parse.quote(path, safe="")
                       + "/inbound", "/api/v1/sms/inbound"):
            _assert_clean(*server.call("POST", target, raw))
        _assert_clean(*server.call("GET", "/api/v1/exchange/orders?" + urllib.parse.urlencode(query)))
        _assert_clean(*server.call("GET", "/api/v1/exchange/outbound?" + urllib.parse.urlencode(query)))
        _assert_clean(*server.call("POST", "/api/v1/exchange/cases/" + urllib.parse.quote(path, safe="")
                                   + "/progress", raw))
        _assert_clean(*server.call("POST", "/api/v1/exchange/outbound/" + urllib.parse.quote(path, safe="")
                                   + "/resend", raw))

    probe()
