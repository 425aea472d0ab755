"""Block addresses that keep failing SIP authentication, from Asterisk's security events.

Asterisk writes its security events to `security.log` (res_security_log, logger.conf); we follow that file,
count failures per address (callcenter/domain/sip_blocking.py) and block an address by adding a `deny` ACL
object to res_pjsip through ARI's dynamic configuration (`PUT /asterisk/config/dynamic/res_pjsip/acl/…`,
kept in sorcery's memory wizard, see sorcery.conf): from then on every request from it gets 403, without a
reload. When the block is over the ACL object is deleted again. Blocks and unblocks go on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from callcenter.ari.client import AriClient, AriError
from callcenter.domain.sip_blocking import Blocker, parse_security_event
from callcenter.rig.confgen import in_root, instance_dirs
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus

log = logging.getLogger(__name__)


def security_log(tel: TelephonySettings) -> Path:
    return in_root(tel.root, instance_dirs(tel)["log_dir"]) / "security.log"


def acl_id(address: str) -> str:
    return "blocked-" + address.replace(".", "-").replace(":", "-")


class SipGuard:
    def __init__(self, client: AriClient, tel: TelephonySettings, bus: EventBus, clock: Callable[[], datetime],
                 *, poll_s: float = 1.0) -> None:
        self.client, self.tel, self.bus, self.clock, self.poll_s = client, tel, bus, clock, poll_s
        self.blocker = Blocker(tel.sip_block_after, timedelta(seconds=tel.sip_block_window_s),
                               timedelta(seconds=tel.sip_block_s))
        self.path = security_log(tel)
        self._offset = self.path.stat().st_size if self.path.exists() else 0
        self._task: asyncio.Task[None] | None = None

    async def block(self, address: str) -> None:
        prefix = "128" if ":" in address else "32"
        await self.client.request("PUT", f"/asterisk/config/dynamic/res_pjsip/acl/{acl_id(address)}",
                                  body={"fields": [{"attribute": "deny", "value": f"{address}/{prefix}"}]})

    async def unblock(self, address: str) -> None:
        with contextlib.suppress(AriError):
            await self.client.request("DELETE", f"/asterisk/config/dynamic/res_pjsip/acl/{acl_id(address)}")

    def _new_lines(self) -> list[str]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # rotated or truncated: start over
            self._offset = 0
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        complete = data.rfind(b"\n") + 1
        self._offset += complete
        return data[:complete].decode(errors="replace").splitlines()

    async def step(self) -> list[str]:
        """Read new security events, block and unblock; return the addresses blocked now."""
        now = self.clock()
        blocked = []
        for line in self._new_lines():
            parsed = parse_security_event(line)
            if parsed and self.blocker.failed(parsed[1], now):
                try:
                    await self.block(parsed[1])
                except AriError as exc:
                    log.error("could not block %s: %s", parsed[1], exc)
                    continue
                blocked.append(parsed[1])
                log.warning("SIP address %s blocked after repeated failures (%s)", parsed[1], parsed[0])
                self.bus.publish(BusEvent("sip_security", "blocked", now, {
                    "address": parsed[1], "event": parsed[0],
                    "until": self.blocker.blocked[parsed[1]].isoformat()}))
        for address in self.blocker.expired(now):
            await self.unblock(address)
            self.bus.publish(BusEvent("sip_security", "unblocked", now, {"address": address}))
        return blocked

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:  # one bad step must not end the guard
                log.exception("SIP guard step failed")
            await asyncio.sleep(self.poll_s)

    def start(self) -> None:
        if self.tel.sip_block_after > 0 and self._task is None:
            self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
