"""Watch the carrier trunk: up or down, from Asterisk's own qualify (OPTIONS) of the trunk's contact.

With `trunk_qualify_s` set, Asterisk asks the carrier's proxy with OPTIONS every N seconds; the `citizens`
endpoint is then "online" while the carrier answers and "offline" when it stops. We read that state over ARI
(`GET /endpoints/PJSIP/citizens`) on the same period. A change is published on the bus (topic "trunk":
the wallboard refreshes, leads' live sockets see it) and, when the trunk goes down, `alert` is awaited once
per outage (the web layer puts a message into the shift lead's inbox).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from callcenter.ari.client import AriClient, AriError
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.periodic import Periodic

log = logging.getLogger(__name__)
TRUNK_ENDPOINT = "citizens"
Alert = Callable[[str, datetime], Awaitable[None]]


def trunk_state(endpoint_state: str | None) -> str:
    """ "up" / "down" / "unknown" from ARI's endpoint state (pure)."""
    if endpoint_state is None:
        return "unknown"
    return {"online": "up", "offline": "down"}.get(endpoint_state.lower(), "unknown")


class TrunkWatch:
    def __init__(
        self,
        client: AriClient,
        tel: TelephonySettings,
        bus: EventBus,
        clock: Callable[[], datetime],
        alert: Alert | None = None,
    ) -> None:
        self.client, self.tel, self.bus, self.clock, self.alert = client, tel, bus, clock, alert
        self.state = "unknown"
        self.since: datetime | None = None
        self._loop = Periodic(max(1, tel.trunk_qualify_s), self.check, "trunk check")

    @property
    def monitored(self) -> bool:
        return self.tel.trunk_qualify_s > 0

    def status(self) -> dict[str, Any]:
        """For the wallboard: whether the trunk is watched, its state and since when."""
        labels = {"up": "正常", "down": "中断", "unknown": "未知"}
        return {
            "monitored": self.monitored,
            "state": self.state,
            "label": labels[self.state],
            "since": self.since.isoformat() if self.since else None,
            "registration": self.tel.trunk_registration is not None,
        }

    async def check(self) -> str:
        """Read the trunk's state once; publish and alert on a change. Returns the state."""
        try:
            raw: str | None = await self.client.endpoint_state("PJSIP", TRUNK_ENDPOINT)
        except (TimeoutError, AriError, OSError) as exc:
            log.info("trunk state not readable: %s", exc)
            raw = None
        state = trunk_state(raw)
        if state != self.state and state != "unknown":
            now = self.clock()
            before, self.state, self.since = self.state, state, now
            message = "运营商中继已中断：市民来电和回访外呼无法接通" if state == "down" else "运营商中继已恢复"
            self.bus.publish(BusEvent("trunk", state, now, {"state": state, "previous": before, "message": message}))
            if state == "down":
                log.warning("carrier trunk down (was %s)", before)
                if self.alert is not None:
                    try:
                        await self.alert(message, now)
                    except Exception:
                        log.exception("trunk-down alert failed")
        return self.state

    def start(self) -> None:
        if self.monitored:
            self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
