"""The ARI client against the real Asterisk: events socket, subscriptions, reconnect after a restart."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.ari.ari_events import Event
from callcenter.ari.client import AriClient
from callcenter.rig import process
from callcenter.rig.confgen import ari_password
from callcenter.settings import TelephonySettings

pytestmark = pytest.mark.asterisk


def client_for(tel: TelephonySettings) -> AriClient:
    return AriClient(tel.ari_url, tel.ari_user, ari_password(tel), tel.app_name)


async def test_wrong_password_is_refused(asterisk: TelephonySettings) -> None:
    client = AriClient(asterisk.ari_url, asterisk.ari_user, "not-the-password", asterisk.app_name)
    with pytest.raises(Exception) as info:
        await client.info()
    assert getattr(info.value, "status", None) == 401
    await client.close()


async def test_subscriptions_are_removed_on_close(asterisk: TelephonySettings) -> None:
    client = client_for(asterisk)
    connects: list[int] = []

    async def on_connect() -> None:
        connects.append(1)

    reader = asyncio.create_task(client.run_events(lambda e: None, on_connect))
    await asyncio.wait_for(client.connected.wait(), 5)
    await client.subscribe("endpoint:PJSIP/8001")
    assert "PJSIP/8001" in (await client.application())["endpoint_ids"]
    await client.unsubscribe_all()
    reader.cancel()
    await client.close()
    # The next instance of the same application must not inherit the subscription.
    other = client_for(asterisk)
    reader = asyncio.create_task(other.run_events(lambda e: None, on_connect))
    try:
        await asyncio.wait_for(other.connected.wait(), 5)
        assert (await other.application())["endpoint_ids"] == []
        assert connects == [1, 1]
    finally:
        reader.cancel()
        await other.close()


async def test_events_reconnect_after_asterisk_restarts(asterisk: TelephonySettings) -> None:
    client = client_for(asterisk)
    events: list[Event] = []
    connects: list[float] = []

    async def on_connect() -> None:
        connects.append(asyncio.get_running_loop().time())

    reader = asyncio.create_task(client.run_events(events.append, on_connect, max_backoff_s=0.5))
    try:
        await asyncio.wait_for(client.connected.wait(), 5)
        await asyncio.to_thread(process.stop, asterisk)
        await asyncio.to_thread(process.start, asterisk)
        for _ in range(100):
            if len(connects) >= 2 and client.connected.is_set():
                break
            await asyncio.sleep(0.1)
        assert len(connects) == 2
        assert (await client.info())["system"]["version"].startswith("22")
    finally:
        reader.cancel()
        await client.close()
