"""Block addresses that keep failing SIP authentication, from Asterisk's security events.

Asterisk writes its security events to `security.log` (res_security_log, logger.conf); we follow that file,
count failures per address (callcenter/domain/sip_blocking.py) and block an address by adding a `deny` line
to the named ACL `blocked` (acl.conf) and reloading it (`module reload acl`): res_pjsip's ACL object
`acl-blocked` refers to it and follows the change at once, so every request from that address gets 403.
When the block is over the line goes again. Blocks and unblocks go on the bus.

(ARI's dynamic configuration cannot do this in Asterisk 22.10: `PUT /asterisk/config/dynamic/res_pjsip/acl/…`
answers 403 "Cannot create sorcery objects of type 'acl'" with a memory wizard mapped under
[res_pjsip_acl], and 500 under [res_pjsip]; tried here.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from callcenter.ari.client import AriClient
from callcenter.domain.sip_blocking import Blocker, parse_security_event
from callcenter.rig.build import RigError
from callcenter.rig.confgen import in_root, instance_dirs, write_blocked
from callcenter.rig.process import asterisk_cli
from callcenter.settings import TelephonySettings
from core.bus import BusEvent, EventBus
from core.periodic import Periodic

log = logging.getLogger(__name__)


def security_log(tel: TelephonySettings) -> Path:
    return in_root(tel.root, instance_dirs(tel)["log_dir"]) / "security.log"


class SipGuard:
    def __init__(
        self,
        client: AriClient,
        tel: TelephonySettings,
        bus: EventBus,
        clock: Callable[[], datetime],
        *,
        poll_s: float = 1.0,
    ) -> None:
        self.client, self.tel, self.bus, self.clock, self.poll_s = client, tel, bus, clock, poll_s
        self.blocker = Blocker(
            tel.sip_block_after, timedelta(seconds=tel.sip_block_window_s), timedelta(seconds=tel.sip_block_s)
        )
        self.path = security_log(tel)
        self._offset = self.path.stat().st_size if self.path.exists() else 0
        self._loop = Periodic(poll_s, self.step, "SIP guard step")

    async def _apply(self) -> None:
        write_blocked(self.tel, list(self.blocker.blocked))
        output = await asyncio.to_thread(asterisk_cli, self.tel, "module reload acl")
        if "not found" in output.lower() or "no such" in output.lower():
            raise RigError(f"reloading the ACL failed: {output.strip()}")

    async def block(self, address: str) -> None:
        await self._apply()

    async def unblock(self, address: str) -> None:
        self.blocker.blocked.pop(address, None)
        await self._apply()

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
                except (RigError, OSError) as exc:
                    log.error("could not block %s: %s", parsed[1], exc)
                    continue
                blocked.append(parsed[1])
                log.warning("SIP address %s blocked after repeated failures (%s)", parsed[1], parsed[0])
                self.bus.publish(
                    BusEvent(
                        "sip_security",
                        "blocked",
                        now,
                        {
                            "address": parsed[1],
                            "event": parsed[0],
                            "until": self.blocker.blocked[parsed[1]].isoformat(),
                        },
                    )
                )
        for address in self.blocker.expired(now):
            await self.unblock(address)
            self.bus.publish(BusEvent("sip_security", "unblocked", now, {"address": address}))
        return blocked

    def start(self) -> None:
        if self.tel.sip_block_after > 0:
            self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
