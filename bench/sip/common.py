"""Shared benchmark plumbing: a private Asterisk instance, an observer of all channels, SIPp runs."""

from __future__ import annotations

import asyncio
import csv
import os
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from callcenter.ari.ari_events import Event
from callcenter.ari.client import AriClient
from callcenter.rig.confgen import ari_password
from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings

HERE = Path(__file__).resolve().parent


def bench_settings(state_dir: str) -> TelephonySettings:
    return TelephonySettings(
        enabled=True, instance=f"bench{os.getpid()}", app_name=f"hotline-bench{os.getpid()}",
        state_dir=state_dir, http_port=free_port(), sip_port=free_port(),
        rtp_start=40000, rtp_end=44999, benchmark_extensions=True, ring_timeout_s=10, wrapup_s=0)


def parse_time(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass
class Observer:
    """Sees every channel's events (subscribeAll) without controlling any channel."""

    tel: TelephonySettings
    events: list[Event] = field(default_factory=list)

    async def __aenter__(self) -> Observer:
        self.client = AriClient(self.tel.ari_url, self.tel.ari_user, ari_password(self.tel),
                                f"observer{os.getpid()}")

        async def nothing() -> None:
            return None

        self.task = asyncio.create_task(self.client.run_events(self.events.append, nothing, subscribe_all=True))
        await asyncio.wait_for(self.client.connected.wait(), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


@dataclass
class SippRun:
    ok: int
    failed: int
    invite_to_200_ms: list[float]


async def sipp(tel: TelephonySettings, service: str, calls: int, *, rate: int = 200,
               limit: int | None = None) -> SippRun:
    with tempfile.TemporaryDirectory() as work:
        silence = Path(work) / "silence.al"
        silence.write_bytes(b"\xd5" * 8000 * 5)  # 5 s of A-law silence
        args = ["sipp", f"127.0.0.1:{tel.sip_port}", "-sf", str(HERE / "hold.xml"), "-s", service,
                "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
                "-m", str(calls), "-l", str(limit or calls), "-r", str(rate), "-nostdin", "-timeout", "60s",
                "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-stf", "stat.csv"]
        proc = await asyncio.create_subprocess_exec(*args, cwd=work, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        await proc.wait()
        rtts = [float(r["response_time_ms"])  # SIPp's -trace_rtt: one line per call, whole ms
                for f in Path(work).glob("*_rtt.csv") for r in csv.DictReader(f.open(), delimiter=";")]
        rows = list(csv.DictReader((Path(work) / "stat.csv").open(), delimiter=";"))
        last = rows[-1] if rows else {}
        return SippRun(int(last.get("SuccessfulCall(C)", 0)), int(last.get("FailedCall(C)", 0)), rtts)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def ratio(a: list[float], b: list[float], q: float) -> str:
    """a/b at percentile q; timings are whole milliseconds, so below 1 ms counts as 1 ms."""
    return f"{max(pct(a, q), 1.0) / max(pct(b, q), 1.0):.2f}"


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 50):7.1f} ms  p95 {pct(values, 95):7.1f} ms  (n={len(values)})"
