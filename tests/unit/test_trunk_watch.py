"""The trunk watch's transitions (a fake ARI client: pure logic; the real one is in test_telephony_lan.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.ari.client import AriError
from callcenter.settings import TelephonySettings
from callcenter.trunk_watch import TrunkWatch, trunk_state
from core.bus import EventBus


class FakeAri:
    def __init__(self, states: list[str | Exception]) -> None:
        self.states = states

    async def endpoint_state(self, tech: str, resource: str) -> str:
        assert (tech, resource) == ("PJSIP", "citizens")
        state = self.states.pop(0)
        if isinstance(state, Exception):
            raise state
        return state


def test_endpoint_states_map_to_trunk_states() -> None:
    assert [trunk_state(s) for s in ("online", "OFFLINE", "unknown", None)] == ["up", "down", "unknown", "unknown"]


async def test_one_alert_per_outage_and_events_on_every_change() -> None:
    bus, alerts = EventBus(), []

    async def alert(message: str, at: datetime) -> None:
        alerts.append(message)

    ari = FakeAri(["online", "offline", AriError(0, "gone"), "offline", "online", "offline"])
    watch = TrunkWatch(ari, TelephonySettings(trunk_qualify_s=5), bus,  # type: ignore[arg-type]
                       lambda: datetime(2030, 1, 1, tzinfo=UTC), alert=alert)
    async with bus.subscribe() as events:
        states = [await watch.check() for _ in range(6)]
        kinds = [events.get_nowait().kind for _ in range(events.qsize())]
    assert states == ["up", "down", "down", "down", "up", "down"], "an unreadable state keeps the last one"
    assert kinds == ["up", "down", "up", "down"] and len(alerts) == 2
    assert watch.status()["monitored"] and watch.status()["label"] == "中断"
    assert not TrunkWatch(ari, TelephonySettings(), bus, datetime.now).monitored  # type: ignore[arg-type]
