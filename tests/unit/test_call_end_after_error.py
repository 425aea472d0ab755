"""Which end a call gets when its flow raised: Asterisk gone (crashed, restarted, the caller's channel lost)
is a system hang-up, so the lifecycle decides as for any cut call (connected → answered); anything else is
our failure. Real HTTP: a closed port and a small aiohttp server standing in for Asterisk's ARI."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from callcenter.ari.client import AriClient, AriError
from callcenter.call import Call
from callcenter.call_end import after_error
from callcenter.domain import call_lifecycle as lifecycle
from callcenter.domain.call_lifecycle import Answered, Arrived, Enqueued, Failed, HungUp, Outcome, Party

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connected_call() -> Call:
    call = Call("c1", "chan-1", "13800000000", NOW)
    for event in (Arrived(), Enqueued(), Answered()):
        call.lifecycle = lifecycle.apply(call.lifecycle, event)
    return call


@pytest.fixture
async def ari(aiohttp_server: Any) -> AsyncIterator[AriClient]:
    """An ARI that knows channel `alive` only, and refuses to create bridges."""
    async def channel(request: web.Request) -> web.Response:
        if request.match_info["id"] == "alive":
            return web.json_response({"id": "alive", "name": "PJSIP/x", "state": "Up"})
        return web.json_response({"message": "Channel not found"}, status=404)

    async def bridge(request: web.Request) -> web.Response:
        return web.json_response({"message": "Bridge could not be created"}, status=500)

    app = web.Application()
    app.router.add_get("/ari/channels/{id}", channel)
    app.router.add_post("/ari/bridges/{id}", bridge)
    server = await aiohttp_server(app)
    client = AriClient(f"http://127.0.0.1:{server.port}/ari", "u", "p", "hotline")
    client.connected.set()
    yield client
    await client.close()


async def test_asterisk_unreachable_is_a_system_hang_up_and_a_connected_call_stays_answered() -> None:
    client = AriClient(f"http://127.0.0.1:{closed_port()}/ari", "u", "p", "hotline")
    call = connected_call()
    try:
        with pytest.raises(AriError) as raised:
            await client.get_channel(call.channel_id)
        end = await after_error(SimpleNamespace(client=client), call, raised.value)  # type: ignore[arg-type]
    finally:
        await client.close()
    assert raised.value.status == 0
    assert end == HungUp(Party.SYSTEM)
    assert call.end(end).outcome is Outcome.ANSWERED


async def test_with_the_events_connection_down_any_ari_error_is_a_cut(ari: AriClient) -> None:
    ari.connected.clear()
    end = await after_error(SimpleNamespace(client=ari), connected_call(), AriError(500, "x"))  # type: ignore[arg-type]
    assert end == HungUp(Party.SYSTEM)


async def test_the_callers_channel_gone_is_a_cut_but_our_own_error_is_a_failure(ari: AriClient) -> None:
    ctx: Any = SimpleNamespace(client=ari)
    gone = connected_call()
    with pytest.raises(AriError) as raised:
        await ari.create_bridge("call-c1")
    assert await after_error(ctx, gone, AriError(404, "Channel not found")) == HungUp(Party.SYSTEM)
    alive = connected_call()
    alive.channel_id = "alive"
    assert await after_error(ctx, alive, AriError(404, "Bridge not found")) == Failed()
    assert await after_error(ctx, alive, raised.value) == Failed()
    assert await after_error(ctx, alive, RuntimeError("a bug")) == Failed()


async def test_an_agent_offered_a_call_that_ended_before_reading_the_offer_is_ready_again() -> None:
    """The dispatcher makes the agent ringing, then posts `Offered`; the caller hung up in between, so the
    call's flow never reads it: ending the call gives the agent back (bench.crash found one ringing forever)."""
    from callcenter.acd import LogIn, SetReady
    from callcenter.acd.agent import AgentState
    from callcenter.acd_runtime import AcdRuntime
    from callcenter.call_end import cancel_offers

    acd = AcdRuntime(("8001", "8002"), ring_timeout_s=5, wrap_up_s=1, clock=lambda: NOW)
    for ext in ("8001", "8002"):
        acd.command(ext, LogIn())
        acd.command(ext, SetReady())
    acd.enqueue("gone", "13800000001", arrived_at=NOW)
    acd.enqueue("other", "13800000002", arrived_at=NOW)
    first, second = acd.next_offer(), acd.next_offer()
    assert first is not None and second is not None
    ringing_for_gone = first[1][0]
    assert acd.agents[ringing_for_gone].state is AgentState.RINGING
    cancel_offers(SimpleNamespace(acd=acd), "gone")  # type: ignore[arg-type]
    assert acd.agents[ringing_for_gone].state is AgentState.READY
    assert acd.agents[second[1][0]].state is AgentState.RINGING, "another call's ring is left alone"
