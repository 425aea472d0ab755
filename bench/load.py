"""Load: consoles on websockets + live calls + API traffic for N minutes, then a login flood for 1 minute.

    flock /tmp/hotline-asterisk.lock .venv/bin/python -m bench.load [--minutes 10] [--consoles 100]
        [--calls 50] [--phones 5] [--api-rate 20] [--flood-rate 100] [--flood-seconds 60] [--db pg|sqlite]
        [--flood-kind unknown|valid]

What runs (all on loopback, all started and stopped by this script, by pid):
- the service: `hotline serve` as a child process (its own event loop; RSS read from /proc/<pid>/status), on a
  throw-away PostgreSQL cluster of its own (tests/pg_cluster.py; `--db sqlite` for a temp SQLite file), speech
  recognition off (a 2-core machine cannot transcribe 50 calls live; that is bench.asr's subject);
- a private Asterisk (bench/sip/common.py `bench_settings`, benchmark extensions on) the service drives;
- `--consoles` agents (agent001…) logged in through the login form, each holding a /ws socket with its session
  cookie and sending a ping every 10 s (the round trip is measured);
- `--calls` concurrent SIPp callers to the ACD's direct queue number (bench/sip/long_hold.xml, each stays
  `--hold-seconds`, then the next call starts), answered by `--phones` baresip agent phones (signed in and set
  ready through the console API); the other callers wait in the queue with music on hold;
- `--api-rate` API requests per second, open loop (sent on schedule, not after the previous answer): case list
  50 %, case detail 30 %, case creation 20 %, as an agent with a bearer token;
- then `--flood-rate` login attempts per second for `--flood-seconds` (`unknown`: unknown user names, wrong
  passwords; `valid`: the agents' right passwords), the API, sockets and calls going on. All from 127.0.0.1
  (the rig's only address), so the per-client login throttle meets the `unknown` flood after its 20 failures.

Reported: errors (API answers other than 2xx, client timeouts, sockets dropped, failed SIPp calls, flood
answers other than 303/401/429), the service's RSS at the start of the measured phase (after a warm-up), at its
end and after the flood, API p50/p95 before vs during the flood (the ratio; per 30 s window too: min/median),
the websocket ping round trip likewise. The ratio is against the phase before, in the same run. The RSS is
sampled every RSS_EVERY_S (10 s): the curve (each minute printed, every sample in --json) and the least-squares
slope over the first and the second half of the measured phase tell a step that levels off (second half ~0)
from a leak (the same slope in both halves).

`--tracemalloc` (a diagnosis, not a measurement): the service runs with PYTHONTRACEMALLOC=1 and writes a
snapshot every 60 s (`hotline serve`, TRACEMALLOC_SNAPSHOTS_DIR); the report lists the top growth by file:line
between its second snapshot (minute 2) and its last. Tracing slows the service and each snapshot costs memory
itself, so that run's latencies and RSS are not comparable with a plain run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.sip.common import HERE as SIP_DIR
from bench.sip.common import bench_settings, pct
from callcenter.rig import process
from callcenter.rig.confgen import DIRECT_QUEUE_NUMBER
from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings
from tests import service_proc
from tests.pg_cluster import PgCluster, create_cluster
from tests.sip.peers import BaresipAgent, make_tone

WARMUP_S = 20.0
WINDOW_S = 30.0
PING_EVERY_S = 10.0
RSS_EVERY_S = 10.0
TRACE_EVERY_S = 60.0
TIMEOUT_S = 30.0


@dataclass
class Sample:
    at: float
    phase: str
    ms: float
    ok: bool
    what: str
    status: str = ""


@dataclass
class Stats:
    phase: str = "warmup"
    api: list[Sample] = field(default_factory=list)
    api_status: Counter[str] = field(default_factory=Counter)
    pings: list[Sample] = field(default_factory=list)
    flood_status: Counter[str] = field(default_factory=Counter)
    flood_ms: list[float] = field(default_factory=list)
    ws_messages: int = 0
    ws_dropped: int = 0
    ws_connected: int = 0
    rss: list[tuple[float, str, int]] = field(default_factory=list)
    case_nos: list[str] = field(default_factory=list)
    running: bool = True


# --- set-up -------------------------------------------------------------------------------------------------
def telephony_env(tel: TelephonySettings) -> dict[str, str]:
    """The service's telephony section for the bench Asterisk (same instance, ports and state folder)."""
    values = {
        "enabled": "true",
        "instance": tel.instance,
        "app_name": tel.app_name,
        "state_dir": tel.state_dir,
        "http_port": tel.http_port,
        "sip_port": tel.sip_port,
        "rtp_start": tel.rtp_start,
        "rtp_end": tel.rtp_end,
        "benchmark_extensions": "true",
        "ring_timeout_s": tel.ring_timeout_s,
        "wrapup_s": 0,
    }
    return {f"HOTLINE_TELEPHONY__{k.upper()}": str(v) for k, v in values.items()}


async def add_agents(env: dict[str, str], consoles: int, phones: int, extensions: tuple[str, ...]) -> dict[str, str]:
    """Agent users agent001… (the first `phones` with an extension) and one API token per phone agent plus
    one for the API load ("api"). Returns name -> bearer token."""
    from config.bootstrap import engine_for
    from config.settings import CONFIG_DIR, load_settings
    from core import accounts
    from ticketing.domain.model import Role

    settings = load_settings(files=[CONFIG_DIR / "defaults.yaml", Path(env["HOTLINE_CONFIG"])], environ=env)
    engine = engine_for(settings)
    now = datetime.now(UTC)
    tokens: dict[str, str] = {}
    try:
        async with engine.begin() as conn:
            for i in range(1, consoles + 1):
                name = f"agent{i:03d}"
                ext = extensions[i - 1] if i <= phones else None
                await accounts.add_user(
                    conn,
                    username=name,
                    display_name=f"坐席{i:03d}",
                    role=Role.AGENT,
                    now=now,
                    password=service_proc.PASSWORD,
                    extension=ext,
                )
                if ext:
                    tokens[name] = await accounts.create_token(conn, name, now, days=2)
            await accounts.add_user(
                conn,
                username="apiload",
                display_name="接口压测",
                role=Role.AGENT,
                now=now,
                password=service_proc.PASSWORD,
            )
            tokens["api"] = await accounts.create_token(conn, "apiload", now, days=2)
    finally:
        await engine.dispose()
    return tokens


async def login(session: aiohttp.ClientSession, base: str, username: str, password: str) -> tuple[int, str | None]:
    """The login form as a browser sends it (the login CSRF token is a cookie echoed in the form)."""
    token = secrets.token_urlsafe(24)
    async with session.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token},
        headers={"Cookie": f"hl_login_csrf={token}"},
        allow_redirects=False,
    ) as resp:
        await resp.read()
        cookie = resp.cookies.get("hl_session")
        return resp.status, cookie.value if cookie else None


# --- the load -----------------------------------------------------------------------------------------------
async def console(session: aiohttp.ClientSession, base: str, cookie: str, stats: Stats) -> None:
    """One agent console: the /ws socket, counting messages and timing pings, until the run ends."""
    url = base.replace("http://", "ws://") + "/ws"
    try:
        async with session.ws_connect(
            url, headers={"Cookie": f"hl_session={cookie}", "Origin": base}, heartbeat=None, autoping=True
        ) as ws:
            stats.ws_connected += 1
            pinger = asyncio.create_task(_pings(ws, stats))
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    if data.get("type") == "pong":
                        sent = float(data["t"])
                        stats.pings.append(
                            Sample(time.monotonic(), stats.phase, (time.monotonic() - sent) * 1000, True, "ping")
                        )
                    else:
                        stats.ws_messages += 1
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
    except (aiohttp.ClientError, TimeoutError):
        pass
    if stats.running:
        stats.ws_dropped += 1


async def _pings(ws: aiohttp.ClientWebSocketResponse, stats: Stats) -> None:
    await asyncio.sleep(random.uniform(0, PING_EVERY_S))
    while stats.running:
        await ws.send_str(json.dumps({"type": "ping", "t": time.monotonic()}))
        await asyncio.sleep(PING_EVERY_S)
    await ws.close()


async def api_request(session: aiohttp.ClientSession, base: str, token: str, stats: Stats) -> None:
    roll = random.random()
    headers = {"Authorization": f"Bearer {token}"}
    if roll >= 0.8:
        what, method, path = "create", "POST", "/api/v1/cases"
        body: dict[str, Any] | None = {
            "source": "hotline",
            "description": "压测：海滨东路120号门口路灯不亮",
            "category_code": "10118",
            "caller_phone": "13800000000",
            "address": "海滨东路120号",
            "accept": True,
        }
    elif roll < 0.5 or not stats.case_nos:
        what, method, path, body = "list", "GET", "/api/v1/cases?per_page=20", None
    else:
        what, method, path, body = "detail", "GET", f"/api/v1/cases/{random.choice(stats.case_nos)}", None
    phase, start = stats.phase, time.monotonic()
    try:
        async with session.request(method, base + path, json=body, headers=headers) as resp:
            data = await resp.read()
            status = str(resp.status)
            if what == "create" and resp.status == 201:
                stats.case_nos.append(json.loads(data)["case_no"])
    except (aiohttp.ClientError, TimeoutError) as exc:
        status = type(exc).__name__
    stats.api_status[status] += 1
    stats.api.append(Sample(start, phase, (time.monotonic() - start) * 1000, status.startswith("2"), what, status))


async def flood_request(session: aiohttp.ClientSession, base: str, stats: Stats, kind: str, consoles: int) -> None:
    """One login attempt of the flood: `unknown` user names with wrong passwords (an attacker), or `valid`
    agents with their right passwords (everybody logging in at once, e.g. a shift change)."""
    if kind == "valid":
        username, password = f"agent{random.randint(1, consoles):03d}", service_proc.PASSWORD
    else:
        username, password = f"nobody{secrets.token_hex(4)}", "wrong-password-123"
    start = time.monotonic()
    try:
        status, _ = await login(session, base, username, password)
        stats.flood_status[str(status)] += 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        stats.flood_status[type(exc).__name__] += 1
    stats.flood_ms.append((time.monotonic() - start) * 1000)


async def open_loop(rate: float, seconds: float, make: Any) -> None:
    """Start `make()` `rate` times a second for `seconds`, on schedule, never waiting for an answer."""
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    n = 0
    while (due := start + n / rate) < start + seconds:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        task = asyncio.create_task(make())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(tasks, timeout=TIMEOUT_S + 5)


async def sample_rss(service: service_proc.Service, stats: Stats) -> None:
    while stats.running:
        stats.rss.append((time.monotonic(), stats.phase, service.rss_kib()))
        await asyncio.sleep(RSS_EVERY_S)


def _slope_mib_per_min(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS (KiB) over time (s), in MiB per minute."""
    if len(points) < 3:
        return float("nan")
    xs = [t for t, _ in points]
    ys = [kib / 1024 for _, kib in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else float("nan")


def rss_curve(stats: Stats, t0: float, t_flood: float) -> dict[str, Any]:
    """The RSS samples of the measured phase as (seconds since its start, KiB) and the slope over its first and
    its second half: a structure that levels off shows a second-half slope near 0, a leak about the same slope
    in both halves."""
    points = [(at - t0, kib) for at, phase, kib in stats.rss if phase == "before"]
    half = (t_flood - t0) / 2
    return {
        "every_s": RSS_EVERY_S,
        "points": [(round(t), kib) for t, kib in points],
        "all": [(round(at - t0), phase, kib) for at, phase, kib in stats.rss],
        "slope_first_half_mib_min": _slope_mib_per_min([p for p in points if p[0] < half]),
        "slope_second_half_mib_min": _slope_mib_per_min([p for p in points if p[0] >= half]),
    }


def tracemalloc_diff(folder: Path, top: int = 25) -> dict[str, Any]:
    """Top allocation growth by file:line between the service's second snapshot (its minute 2) and its last."""
    import tracemalloc

    snaps = sorted(folder.glob("snap-*.pickle"))
    if len(snaps) < 3:
        return {"error": f"{len(snaps)} snapshots"}
    first, last = snaps[1], snaps[-1]
    old, new = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
    keep = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    old, new = old.filter_traces(keep), new.filter_traces(keep)
    stats = new.compare_to(old, "lineno")
    total_old = sum(s.size for s in old.statistics("filename"))
    total_new = sum(s.size for s in new.statistics("filename"))
    return {
        "between": [first.name, last.name],
        "traced_mib": [round(total_old / 2**20, 1), round(total_new / 2**20, 1)],
        "top": [
            {
                "where": f"{st.traceback[0].filename}:{st.traceback[0].lineno}",
                "size_diff_kib": round(st.size_diff / 1024, 1),
                "count_diff": st.count_diff,
                "size_kib": round(st.size / 1024, 1),
            }
            for st in stats[:top]
        ],
    }


# --- calls --------------------------------------------------------------------------------------------------
@dataclass
class Calls:
    proc: asyncio.subprocess.Process | None
    work: Path

    def stat(self) -> dict[str, int]:
        rows = [line.split(";") for line in (self.work / "stat.csv").read_text().splitlines() if line]
        if len(rows) < 2:
            return {}
        head = rows[0]
        last = dict(zip(head, rows[-1], strict=False))
        current = [int(dict(zip(head, r, strict=False)).get("CurrentCall", 0) or 0) for r in rows[1:]]
        return {
            "ok": int(last.get("SuccessfulCall(C)", 0)),
            "failed": int(last.get("FailedCall(C)", 0)),
            "max_concurrent": max(current, default=0),
            "started": int(last.get("TotalCallCreated", 0)),
        }


async def start_calls(tel: TelephonySettings, calls: int, hold_s: int, total_s: float, work: Path) -> Calls:
    if calls <= 0:
        return Calls(None, work)
    (work / "silence.al").write_bytes(b"\xd5" * 8000 * 5)  # 5 s of A-law silence, looped
    args = [
        "sipp",
        f"127.0.0.1:{tel.sip_port}",
        "-sf",
        str(SIP_DIR / "long_hold.xml"),
        "-s",
        DIRECT_QUEUE_NUMBER,
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mp",
        str(free_port()),
        "-l",
        str(calls),
        "-r",
        "5",
        "-m",
        "1000000",
        "-d",
        str(hold_s * 1000),
        "-nostdin",
        "-timeout",
        f"{int(total_s + hold_s + 60)}s",
        "-trace_stat",
        "-stf",
        "stat.csv",
        "-fd",
        "5",
    ]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=work, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return Calls(proc, work)


async def stop_calls(calls: Calls, hold_s: int, *, gently: bool = True) -> None:
    """Stop placing calls and let the ones up finish (SIPp's SIGUSR1), then end SIPp by its pid if need be."""
    proc = calls.proc
    if proc is None or proc.returncode is not None:
        return
    proc.send_signal(signal.SIGUSR1 if gently else signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), hold_s + 20 if gently else 5)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def start_phones(
    tel: TelephonySettings, base: str, tokens: dict[str, str], phones: int, folder: Path
) -> list[BaresipAgent]:
    started: list[BaresipAgent] = []
    if phones <= 0:
        return started
    folder.mkdir(parents=True, exist_ok=True)
    tone = make_tone(folder, seconds=600)
    for i in range(phones):
        ext = tel.agent_extensions[i]
        phone = BaresipAgent(tel, ext, folder / ext, tone)
        await phone.start()
        started.append(phone)
    deadline = time.monotonic() + 20
    while not all(p.registered() for p in started) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    async with aiohttp.ClientSession() as session:
        for i, phone in enumerate(started):
            headers = {"Authorization": f"Bearer {tokens[f'agent{i + 1:03d}']}"}
            for action in ("login", "ready"):
                async with session.post(
                    f"{base}/api/v1/console/agent", json={"action": action, "extension": phone.ext}, headers=headers
                ) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"agent {phone.ext} {action}: {resp.status} {await resp.text()}")
    return started


# --- run ----------------------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    stats = Stats()
    with tempfile.TemporaryDirectory(prefix="hotline-load-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "state").mkdir()
        tel = bench_settings(str(tmp / "state"))
        cluster: PgCluster | None = None
        service = None
        phones: list[BaresipAgent] = []
        calls = [Calls(None, tmp)]  # filled by _drive, so that a failed run still ends SIPp
        asterisk_up = False
        try:
            if args.db == "pg":
                cluster = await asyncio.to_thread(create_cluster)
                await asyncio.to_thread(cluster.psql, "CREATE DATABASE hotline")
                url = cluster.url("hotline")
            else:
                url = f"sqlite+aiosqlite:///{tmp}/load.db"
            extra = {"HOTLINE_SPEECH__ENGINE": "none", **(telephony_env(tel) if args.calls or args.phones else {})}
            trace_dir = tmp / "tracemalloc"
            if args.tracemalloc:
                trace_dir.mkdir()
                extra |= {
                    "PYTHONTRACEMALLOC": "1",
                    "TRACEMALLOC_SNAPSHOTS_DIR": str(trace_dir),
                    "TRACEMALLOC_SNAPSHOTS_EVERY_S": str(TRACE_EVERY_S),
                }
            env = await asyncio.to_thread(service_proc.prepare, tmp, url, [], **extra)
            tokens = await add_agents(env, args.consoles, args.phones, tel.agent_extensions)
            if args.calls or args.phones:
                await asyncio.to_thread(process.start, tel)
                asterisk_up = True
            service = await asyncio.to_thread(service_proc.start, tmp, env, [])
            print(
                f"service pid {service.pid} at {service.url}; db {args.db}; asterisk {'on' if asterisk_up else 'off'}",
                flush=True,
            )
            phones = await start_phones(tel, service.url, tokens, args.phones, tmp / "phones")
            result = await _drive(args, stats, service, tel, tokens, tmp, calls)
            if args.tracemalloc:
                result["tracemalloc"] = await asyncio.to_thread(tracemalloc_diff, trace_dir)
        finally:
            stats.running = False
            await stop_calls(calls[0], 0, gently=False)
            if service is not None:
                await asyncio.to_thread(service_proc.stop, service)
            for phone in phones:
                await phone.stop()
            if asterisk_up:
                await asyncio.to_thread(process.stop, tel)
                process.remove_instance(tel)
            if cluster is not None:
                await asyncio.to_thread(cluster.destroy)
    return result


async def _drive(
    args: argparse.Namespace,
    stats: Stats,
    service: service_proc.Service,
    tel: TelephonySettings,
    tokens: dict[str, str],
    tmp: Path,
    calls_holder: list[Calls],
) -> dict[str, Any]:
    base = service.url
    measured_s = args.minutes * 60
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        cookies = []
        for i in range(1, args.consoles + 1):
            status, cookie = await login(session, base, f"agent{i:03d}", service_proc.PASSWORD)
            if cookie is None:
                raise RuntimeError(f"agent{i:03d} could not log in: {status}")
            cookies.append(cookie)
        consoles = [asyncio.create_task(console(session, base, c, stats)) for c in cookies]
        rss_task = asyncio.create_task(sample_rss(service, stats))
        calls = await start_calls(tel, args.calls, args.hold_seconds, WARMUP_S + measured_s + args.flood_seconds, tmp)
        calls_holder[0] = calls

        def api() -> Any:
            return api_request(session, base, tokens["api"], stats)

        stats.phase = "warmup"
        await open_loop(args.api_rate, WARMUP_S, api)
        stats.phase = "before"
        rss_start = service.rss_kib()
        t0 = time.monotonic()
        await open_loop(args.api_rate, measured_s, api)
        rss_before_flood = service.rss_kib()
        stats.phase = "flood"
        t_flood = time.monotonic()
        await asyncio.gather(
            open_loop(args.api_rate, args.flood_seconds, api),
            open_loop(
                args.flood_rate,
                args.flood_seconds,
                lambda: flood_request(session, base, stats, args.flood_kind, args.consoles),
            ),
        )
        t_end = time.monotonic()
        rss_end = service.rss_kib()
        stats.phase = "done"
        call_stat_live = calls.stat() if calls.proc else {}
        stats.running = False
        rss_task.cancel()
        await stop_calls(calls, args.hold_seconds)
        await asyncio.wait(consoles, timeout=15)
        call_stat = calls.stat() if calls.proc else {}
    result = report(args, stats, rss_start, rss_before_flood, rss_end, call_stat_live, call_stat, (t0, t_flood, t_end))
    result["rss_curve"] = rss_curve(stats, t0, t_flood)
    return result


def _windows(samples: list[Sample], start: float, end: float) -> list[float]:
    """p95 of each whole WINDOW_S window in [start, end)."""
    out = []
    at = start
    while at + WINDOW_S <= end + 1:
        window = [s.ms for s in samples if at <= s.at < at + WINDOW_S and s.ok]
        if len(window) >= 5:
            out.append(pct(window, 95))
        at += WINDOW_S
    return out


def report(
    args: argparse.Namespace,
    stats: Stats,
    rss_start: int,
    rss_before_flood: int,
    rss_end: int,
    call_live: dict[str, int],
    call_end: dict[str, int],
    marks: tuple[float, float, float],
) -> dict[str, Any]:
    t0, t_flood, t_end = marks
    before = [s.ms for s in stats.api if s.phase == "before" and s.ok]
    flood = [s.ms for s in stats.api if s.phase == "flood" and s.ok]
    ping_before = [s.ms for s in stats.pings if s.phase == "before"]
    ping_flood = [s.ms for s in stats.pings if s.phase == "flood"]
    win_before = _windows([s for s in stats.api if s.phase == "before"], t0, t_flood)
    win_flood = _windows([s for s in stats.api if s.phase == "flood"], t_flood, t_end)
    api_errors = sum(n for k, n in stats.api_status.items() if not k.startswith("2"))
    flood_errors = sum(n for k, n in stats.flood_status.items() if k not in ("303", "401", "429"))
    measured = [s for s in stats.api if s.phase in ("before", "flood")]
    result = {
        "config": vars(args),
        "api": {
            "requests": len(measured),
            "errors": api_errors,
            "status": dict(stats.api_status),
            "errors_by_phase": {
                phase: dict(Counter(s.what + ":" + s.status for s in stats.api if s.phase == phase and not s.ok))
                for phase in ("warmup", "before", "flood")
            },
            "window_p95_before": [round(w, 1) for w in win_before],
            "rate_before": len([s for s in stats.api if s.phase == "before"]) / max(t_flood - t0, 1),
            "p50_before": pct(before, 50),
            "p95_before": pct(before, 95),
            "p50_flood": pct(flood, 50),
            "p95_flood": pct(flood, 95),
            "p95_ratio": pct(flood, 95) / pct(before, 95) if before and flood else float("nan"),
            "window_p95_before_min_median": (min(win_before), statistics.median(win_before)) if win_before else None,
            "window_p95_flood_min_median": (min(win_flood), statistics.median(win_flood)) if win_flood else None,
        },
        "ws": {
            "connected": stats.ws_connected,
            "dropped": stats.ws_dropped,
            "messages": stats.ws_messages,
            "ping_p95_before": pct(ping_before, 95),
            "ping_p95_flood": pct(ping_flood, 95),
            "ping_ratio": pct(ping_flood, 95) / pct(ping_before, 95) if ping_before and ping_flood else float("nan"),
        },
        "calls": {"live_at_flood_end": call_live, "end": call_end},
        "flood": {
            "attempts": sum(stats.flood_status.values()),
            "status": dict(stats.flood_status),
            "errors": flood_errors,
            "p50_ms": pct(stats.flood_ms, 50),
            "p95_ms": pct(stats.flood_ms, 95),
            "sent_rate": sum(stats.flood_status.values()) / args.flood_seconds,
        },
        "rss_kib": {
            "start": rss_start,
            "before_flood": rss_before_flood,
            "end": rss_end,
            "growth_measured_pct": 100 * (rss_before_flood - rss_start) / rss_start,
            "growth_with_flood_pct": 100 * (rss_end - rss_start) / rss_start,
        },
    }
    return result


def print_report(r: dict[str, Any]) -> None:
    c, a, w, f, m = r["config"], r["api"], r["ws"], r["flood"], r["rss_kib"]
    print(
        f"bench.load: {c['consoles']} consoles on /ws, {c['calls']} concurrent calls ({c['phones']} agent phones, "
        f"{c['hold_seconds']} s each), {c['api_rate']} API req/s for {c['minutes']} min, then "
        f"{c['flood_rate']} logins/s ({c['flood_kind']}) for {c['flood_seconds']} s; db {c['db']}"
    )
    print(f"  API: {a['requests']} requests ({a['rate_before']:.1f}/s achieved), errors {a['errors']} {a['status']}")
    print(
        f"  API latency before: p50 {a['p50_before']:.1f} ms p95 {a['p95_before']:.1f} ms | during flood: "
        f"p50 {a['p50_flood']:.1f} ms p95 {a['p95_flood']:.1f} ms | p95 ratio flood/before {a['p95_ratio']:.2f}"
    )
    if a["window_p95_before_min_median"] and a["window_p95_flood_min_median"]:
        (b_min, b_med), (f_min, f_med) = a["window_p95_before_min_median"], a["window_p95_flood_min_median"]
        print(
            f"  per {WINDOW_S:.0f} s window p95 min/median: before {b_min:.1f}/{b_med:.1f} ms, flood "
            f"{f_min:.1f}/{f_med:.1f} ms, median ratio {f_med / b_med:.2f}"
        )
    print(f"  API errors by phase: {a['errors_by_phase']}; p95 per window before the flood: {a['window_p95_before']}")
    print(
        f"  websockets: {w['connected']} connected, {w['dropped']} dropped, {w['messages']} events received; "
        f"ping p95 before {w['ping_p95_before']:.1f} ms, flood {w['ping_p95_flood']:.1f} ms, ratio "
        f"{w['ping_ratio']:.2f}"
    )
    print(f"  calls (SIPp): at the end of the flood {r['calls']['live_at_flood_end']}; after {r['calls']['end']}")
    print(
        f"  login flood: {f['attempts']} attempts ({f['sent_rate']:.1f}/s sent), {f['status']}, errors "
        f"{f['errors']}, p50 {f['p50_ms']:.0f} ms p95 {f['p95_ms']:.0f} ms"
    )
    print(
        f"  service RSS: {m['start'] / 1024:.1f} MiB at start, {m['before_flood'] / 1024:.1f} MiB before the "
        f"flood ({m['growth_measured_pct']:+.1f} %), {m['end'] / 1024:.1f} MiB after it "
        f"({m['growth_with_flood_pct']:+.1f} %)"
    )
    curve = r.get("rss_curve")
    if curve:
        per_min = [f"{t // 60:.0f}m {kib / 1024:.0f}" for t, kib in curve["points"] if t % 60 < curve["every_s"]]
        print(f"  RSS every minute of the measured phase (MiB): {', '.join(per_min)}")
        print(
            f"  RSS slope: first half {curve['slope_first_half_mib_min']:+.2f} MiB/min, second half "
            f"{curve['slope_second_half_mib_min']:+.2f} MiB/min"
        )
    trace = r.get("tracemalloc")
    if trace:
        if "error" in trace:
            print(f"  tracemalloc: {trace['error']}")
        else:
            between, traced = " -> ".join(trace["between"]), trace["traced_mib"]
            print(f"  tracemalloc growth {between} (traced {traced} MiB):")
            for row in trace["top"]:
                print(f"    {row['size_diff_kib']:+10.1f} KiB {row['count_diff']:+8d} blocks  {row['where']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured phase before the flood")
    parser.add_argument("--consoles", type=int, default=100)
    parser.add_argument("--calls", type=int, default=50, help="concurrent SIPp calls (0: no call side)")
    parser.add_argument("--phones", type=int, default=5, help="baresip agent phones answering calls")
    parser.add_argument("--hold-seconds", type=int, default=60, help="how long each call stays up")
    parser.add_argument("--api-rate", type=float, default=20.0)
    parser.add_argument("--flood-rate", type=float, default=100.0)
    parser.add_argument("--flood-seconds", type=float, default=60.0)
    parser.add_argument("--db", choices=("pg", "sqlite"), default="pg")
    parser.add_argument(
        "--flood-kind",
        choices=("unknown", "valid"),
        default="unknown",
        help="unknown users with wrong passwords, or the agents' right passwords",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace the service's allocations (slower) and print the top growth by file:line between its minute 2 "
        "and the end of the measured phase",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if args.phones > 10:
        parser.error("at most 10 phones (the rig's agent extensions 8001-8010)")
    result = asyncio.run(run(args))
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
