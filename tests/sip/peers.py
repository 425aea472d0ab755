"""Real SIP peers for tests and benchmarks: SIPp callers and baresip agent phones, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.rig.confgen import agent_passwords
from callcenter.rig.local_ports import free_port
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.leftovers import alive

SCENARIOS = Path(__file__).resolve().parent
BARESIP_MODULES = Path("/usr/lib/baresip/modules")


# Every SIPp and baresip a test starts, until it has exited: `stop_leftovers()` (a fixture finaliser in
# tests/asterisk_plugin.py) ends whatever a test left running, also when the test failed half-way.
_RUNNING: dict[int, str] = {}


def _started(process: asyncio.subprocess.Process, name: str) -> asyncio.subprocess.Process:
    _RUNNING[process.pid] = name
    return process


def stop_leftovers(grace_s: float = 5) -> list[str]:
    """End the peers still running (SIGTERM, then SIGKILL after `grace_s`); return their names."""
    left = {pid: name for pid, name in _RUNNING.items() if alive(pid)}
    _RUNNING.clear()
    for pid in left:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    return sorted(left.values())


def to_alaw(wav: Path, folder: Path, name: str = "caller.al") -> Path:
    """SIPp's rtp_stream plays raw A-law (and does not expand keywords in file names): convert a WAV
    fixture to `name` in SIPp's working folder."""
    target = folder / name
    if not target.exists():
        subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "al", str(target)], check=True)
    return target


@dataclass
class SippResult:
    returncode: int
    stdout: str
    stderr: str


async def run_sipp(tel: TelephonySettings, scenario: str | Path, *, service: str, workdir: Path,
                   keys: dict[str, str] | None = None, calls: int = 1, rate: int = 10,
                   limit: int | None = None, timeout_s: int = 90, extra: list[str] | None = None) -> SippResult:
    """Run a SIPp scenario against the instance; fresh local ports each time (see docs/telephony.md)."""
    args = ["sipp", f"127.0.0.1:{tel.sip_port}", "-sf", str(SCENARIOS / scenario), "-s", service,
            "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-m", str(calls), "-r", str(rate), "-l", str(limit or calls), "-nostdin",
            "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err", "-trace_stat", "-stf",
            str(workdir / "stat.csv")]
    for name, value in (keys or {}).items():
        args += ["-key", name, value]
    process = _started(await asyncio.create_subprocess_exec(
        *args, *(extra or []), cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE), "sipp")
    try:
        out, err = await process.communicate()
    finally:  # cancelled (the test failed or timed out): SIPp must not outlive it
        if process.returncode is None:
            process.kill()
            await process.wait()
    return SippResult(process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


class BaresipAgent:
    """An agent softphone: registers extension `ext`, auto-answers (unless told not to), sends `source`
    audio, and dumps what it hears to WAV files (sndfile module) under its folder."""

    def __init__(self, tel: TelephonySettings, ext: str, folder: Path, source: Path, *,
                 auto_answer: bool = True) -> None:
        self.tel, self.ext, self.folder, self.source = tel, ext, folder, source
        self.auto_answer = auto_answer
        self.process: asyncio.subprocess.Process | None = None

    def _write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        password = agent_passwords(self.tel)[self.ext]
        mode = "auto" if self.auto_answer else "manual"
        (self.folder / "accounts").write_text(
            f"<sip:{self.ext}@127.0.0.1:{self.tel.sip_port}>;auth_pass={password};answermode={mode};"
            f"regint=600;audio_codecs=PCMA,PCMU\n", encoding="utf-8")
        # Ports from the test allocator (callcenter/rig/local_ports.py): baresip binds its SIP port on UDP and
        # TCP, and a port from the kernel's ephemeral range can be taken by an outgoing connection meanwhile.
        # Its RTP ports it picks itself from a range no allocator hands out, retrying on a taken one.
        modules = ["g711", "aufile", "aubridge", "sndfile", "account", "menu", "cons"]
        lines = [
            "poll_method epoll", f"sip_listen 127.0.0.1:{free_port()}", "net_interface 127.0.0.1",
            "rtp_ports 40000-49999",
            f"module_path {BARESIP_MODULES}", f"audio_source aufile,{self.source}",
            "audio_player aubridge,nil", "audio_alert aubridge,nil", f"snd_path {self.folder}",
            "sip_trans_def udp",
            f"cons_listen 127.0.0.1:{free_port()}",
            *[f"module {m}.so" for m in modules if m not in ("account", "menu")],
            "module_app account.so", "module_app menu.so",
        ]
        (self.folder / "config").write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def start(self) -> None:
        self._write_config()
        log = open(self.folder / "baresip.log", "wb")  # noqa: SIM115 (child keeps it)
        self.process = _started(await asyncio.create_subprocess_exec(
            "baresip", "-f", str(self.folder), stdin=asyncio.subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT), f"baresip {self.ext}")
        log.close()

    def log_text(self) -> str:
        try:
            return (self.folder / "baresip.log").read_text(errors="replace")
        except OSError:
            return ""

    def registered(self) -> bool:
        """baresip's own word that the registrar took its one binding (`… 200 OK … [1 binding]`)."""
        return any("200 OK" in line and "[1 binding]" in line for line in self.log_text().splitlines())

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def heard(self) -> list[Path]:
        """WAV dumps of what the phone received (decoded audio)."""
        return sorted(self.folder.glob("dump-*-dec.wav"))


def make_tone(folder: Path, seconds: int = 120) -> Path:
    """A long 1 kHz tone: the agent's "voice" (baresip's aufile source hangs up at end of file)."""
    tone = folder / "agent-tone.wav"
    if not tone.exists():
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tone), "synth", str(seconds),
                        "sine", "1000", "vol", "0.3"], check=True)
    return tone


async def agent_online(rt: CallRuntime, agent: BaresipAgent, ext: str, timeout_s: float = 20) -> None:
    """Start the phone and wait until it is registered: baresip saw its binding accepted *and* Asterisk says
    the endpoint is online. The phone's own word matters: a contact left by a killed phone keeps the endpoint
    "online" before the new phone has registered. A phone that exits is reported with its log at once."""
    await agent.start()
    assert agent.process is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if agent.process.returncode is not None:
            raise AssertionError(f"baresip for {ext} exited ({agent.process.returncode}): {agent.log_text()[-1500:]}")
        if agent.registered() and await rt.client.endpoint_state("PJSIP", ext) == "online":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"agent {ext} did not register within {timeout_s} s: {agent.log_text()[-1500:]}")


async def wait_outcome(rt: CallRuntime, timeout: float = 15, caller: str | None = None) -> dict[str, Any]:
    """The newest finished call record (of `caller`), with its events."""
    assert rt.records
    for _ in range(int(timeout * 10)):
        rows = [r for r in await rt.records.recent(20) if caller in (None, r["caller"])]
        if rows and rows[0]["outcome"]:
            return await rt.records.get(rows[0]["id"]) or {}
        await asyncio.sleep(0.1)
    raise AssertionError("no finished call record")


async def start_uas(scenario: Path, port: int, workdir: Path, timeout_s: int = 60) -> asyncio.subprocess.Process:
    """SIPp as the called party on 127.0.0.1:`port` (one call or message), messages traced to
    `workdir/*_messages.log`. Await `.communicate()` for its end; return code 0 = scenario completed."""
    args = ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(free_port()), "-m", "1", "-nostdin", "-timeout", f"{timeout_s}s",
            "-timeout_error", "-trace_err", "-trace_msg"]
    process = _started(await asyncio.create_subprocess_exec(*args, cwd=workdir, stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.PIPE), "sipp uas")
    await asyncio.sleep(0.3)  # listening
    return process


async def wait_for(check: Any, timeout: float = 15, step: float = 0.1) -> Any:
    """Poll `check()` (sync or async) until it returns something truthy; fail after `timeout` s."""
    for _ in range(int(timeout / step)):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")
