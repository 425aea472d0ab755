"""A baresip agent phone on the "LAN": in its own network namespace, over TLS to Asterisk, SRTP media.

Used by tests/integration/test_telephony_lan.py (see tests/netns.py for the namespaces). The phone's SIP and
RTP use only the namespace's private address; what it hears is dumped to WAV like BaresipAgent's.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.sip.peers import BARESIP_MODULES, BaresipAgent, _started


class LanPhone(BaresipAgent):
    """baresip registering `ext` at `server` (host:port) over `transport` from `address`, inside the
    namespace `netns` (its `ip netns exec` prefix)."""

    def __init__(self, ext: str, folder: Path, source: Path, *, password: str, server: str, address: str,
                 netns: list[str], transport: str = "tls", mediaenc: str | None = "srtp-mand",
                 cafile: Path | None = None, auto_answer: bool = True, dial: str | None = None,
                 port: int = 15060) -> None:
        self.ext, self.folder, self.source, self.auto_answer = ext, folder, source, auto_answer
        self.password, self.server, self.address, self.netns = password, server, address, netns
        self.transport, self.mediaenc, self.cafile, self.dial, self.port = transport, mediaenc, cafile, dial, port
        self.process: asyncio.subprocess.Process | None = None

    def _write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        mode = "auto" if self.auto_answer else "manual"
        params = f";mediaenc={self.mediaenc}" if self.mediaenc else ""
        (self.folder / "accounts").write_text(
            f"<sip:{self.ext}@{self.server};transport={self.transport}>;auth_pass={self.password};"
            f"answermode={mode};regint=600;audio_codecs=PCMA,PCMU{params}\n", encoding="utf-8")
        modules = ["g711", "aufile", "aubridge", "sndfile", "srtp", "cons"]
        lines = [
            "poll_method epoll", f"sip_listen {self.address}:{self.port}", f"net_interface {self.address}",
            "rtp_ports 40000-40999", f"module_path {BARESIP_MODULES}", f"audio_source aufile,{self.source}",
            "audio_player aubridge,nil", "audio_alert aubridge,nil", f"snd_path {self.folder}",
            f"sip_trans_def {self.transport}", f"cons_listen 127.0.0.1:{self.port + 3}",
            *([f"sip_cafile {self.cafile}"] if self.cafile else []),
            *[f"module {m}.so" for m in modules], "module_app account.so", "module_app menu.so",
        ]
        (self.folder / "config").write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def start(self) -> None:
        self._write_config()
        log = open(self.folder / "baresip.log", "wb")  # noqa: SIM115 (child keeps it)
        extra = ["-e", f"/dial {self.dial}"] if self.dial else []
        self.process = _started(await asyncio.create_subprocess_exec(
            *self.netns, "baresip", "-f", str(self.folder), *extra, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT), f"baresip {self.ext} (lan)")
        log.close()
