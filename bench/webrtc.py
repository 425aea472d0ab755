"""bench.webrtc: what TLS + SRTP and WebRTC (DTLS-SRTP) cost the agents' leg, against plain UDP agents in the
same run.

Lab (tests/netns.py): Asterisk in namespace `srv`, the agents' baresip phones in `lan` (10.217.1.10), SIPp
callers on srv's loopback. Three Asterisk instances run side by side: "plain" (agents on UDP, RTP), "secure"
(agents on TLS, SDES-SRTP required) and "webrtc" (agents are browser phones: JsSIP over WSS, DTLS-SRTP, ICE
with the LAN host candidate 10.217.1.1 only). The browser agents are JsSIP user agents in pages of one
headless Chromium (fake microphone) inside `srv`, served by a small page server on srv's loopback; each
answers at once with the first LAN candidate and a microphone stream opened at start, as the console's phone
does. Dialling 9 + extension rings that agent's desk phone straight, 8 + extension its browser phone
(benchmark dialplan), so only the agent leg's transport and media differ.

Measured, in interleaved rounds (the order rotates every round), repeated:
- call set-up: SIPp INVITE -> 200 OK (the agent's phone answered through Asterisk), sequential calls;
- Asterisk CPU per call (utime + stime of the Asterisk process over the round ÷ calls; each call holds 4 s
  with RTP both ways, so media encryption is in it; the browser's own CPU is not counted);
- 30 concurrent calls on each instance (SRTP, DTLS-SRTP, and 30 plain ones as the baseline).
Printed as secure ÷ plain and webrtc ÷ plain ratios, min and median over rounds.

Run as root: `python -m bench.webrtc [--rounds 3] [--calls 10] [--no-webrtc]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bench.screenpop import CHROMIUM, CHROMIUM_ARGS, ROOT
from bench.sip.common import HERE, SippRun, pct
from callcenter.rig import process
from callcenter.rig.certs import issue, local_ca
from callcenter.rig.confgen import agent_passwords, in_root, instance_dirs
from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings, webrtc_endpoint
from tests.netns import Lab, entered
from tests.sip.lan import LanPhone
from tests.sip.peers import make_tone

SERVER, AGENT = "10.217.1.1", "10.217.1.10"
CONCURRENT = 30
WSS_PORT = 8089
BUNDLE = ROOT / "web" / "static" / "vendor" / "jssip" / "jssip.min.js"
# Browser agents: one JsSIP UA per extension in one page; auto-answer as the console's phone answers
# (web/static/phone.js): LAN candidates only, ready() on the first one, a microphone stream opened once.
AGENTS_JS = r"""
window.agents = {};
window.startAgents = async (accounts) => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const lan = (line) => line.replace(/^a=/, "").split(" ")[4] === accounts[0].lan;
  for (const a of accounts) {
    const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(a.ws_url)], uri: a.uri,
      authorization_user: a.user, password: a.password, register: true, session_timers: false });
    const agent = { ua, registered: false, answered: 0 };
    ua.on("registered", () => { agent.registered = true; });
    ua.on("newRTCSession", ({ session, originator }) => {
      if (originator !== "remote") return;
      session.on("sdp", (e) => { if (e.originator === "local")
        e.sdp = e.sdp.split("\r\n").filter((l) => !l.startsWith("a=candidate:") || lan(l)).join("\r\n"); });
      session.on("icecandidate", (e) => { const c = e.candidate.candidate;
        if (/ udp /i.test(c) && / typ host/.test(c) && lan(c)) e.ready(); });
      session.on("confirmed", () => { agent.answered += 1; });
      session.answer({ mediaStream: mic, pcConfig: { iceServers: [] } });
    });
    window.agents[a.user] = agent;
    ua.start();
  }
};
"""
PAGE = '<!doctype html><meta charset="utf-8"><title>bench</title><script src="/jssip.min.js"></script>' \
       '<script src="/agents.js"></script>'


def settings(kind: str, state: Path, cert: tuple[str, str] | None, agents: int) -> TelephonySettings:
    if kind == "webrtc":
        assert cert is not None
        return TelephonySettings(
            enabled=True, instance=f"bw{kind}{os.getpid()}", app_name=f"bw{kind}{os.getpid()}",
            state_dir=str(state / kind), http_port=free_port(), sip_port=free_port(),
            rtp_start=35000, rtp_end=39999, benchmark_extensions=True,
            agent_extensions=tuple(str(8001 + i) for i in range(agents)), sip_block_after=0,
            webrtc={"bind": SERVER, "port": WSS_PORT, "cert_file": cert[0], "key_file": cert[1],
                    "ice_networks": [f"{SERVER}/32"]},
        )
    if cert:
        transport = {
            "name": "lan-tls",
            "protocol": "tls",
            "bind": SERVER,
            "port": 5061,
            "cert_file": cert[0],
            "key_file": cert[1],
        }
    else:
        transport = {"name": "lan-udp", "protocol": "udp", "bind": SERVER, "port": 5062}
    return TelephonySettings(
        enabled=True,
        instance=f"bw{kind}{os.getpid()}",
        app_name=f"bw{kind}{os.getpid()}",
        state_dir=str(state / kind),
        http_port=free_port(),
        sip_port=free_port(),
        rtp_start=40000 if cert else 45000,
        rtp_end=44999 if cert else 49999,
        benchmark_extensions=True,
        agent_extensions=tuple(str(8001 + i) for i in range(agents)),
        transports=[transport],
        agent_transport=transport["name"],
        agent_acl=["10.217.1.0/24"],
        sip_block_after=0,
    )


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def asterisk_pid(tel: TelephonySettings) -> int:
    return int(process.pid_file(tel).read_text().strip())


async def calls(tel: TelephonySettings, work: Path, count: int, limit: int) -> SippRun:
    """`count` calls to agents 8001.. in turn (their browser phones on the webrtc instance), at most `limit`
    at once; INVITE -> 200 OK per call."""
    import csv

    folder = Path(tempfile.mkdtemp(dir=work))
    (folder / "silence.al").write_bytes(b"\xd5" * 8000 * 5)
    (folder / "agents.csv").write_text("SEQUENTIAL\n" + "".join(f"{e};\n" for e in tel.agent_extensions))
    prefix = "8" if tel.webrtc is not None else "9"
    (folder / "call.xml").write_text((HERE / "hold.xml").read_text().replace("[service]", f"{prefix}[field0]"))
    args = [
        "sipp",
        f"127.0.0.1:{tel.sip_port}",
        "-sf",
        str(folder / "call.xml"),
        "-inf",
        str(folder / "agents.csv"),
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mp",
        str(free_port()),
        "-m",
        str(count),
        "-l",
        str(limit),
        "-r",
        str(max(limit, 5)),
        "-nostdin",
        "-timeout",
        "90s",
        "-trace_rtt",
        "-rtt_freq",
        "1",
        "-trace_stat",
        "-stf",
        "stat.csv",
    ]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=folder, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await proc.wait()
    # Each call's own RTT row counts; SIPp's -trace_rtt file holds one row per answered call.
    rtts = [
        float(r["response_time_ms"]) for f in folder.glob("*_rtt.csv") for r in csv.DictReader(f.open(), delimiter=";")
    ]
    rows = list(csv.DictReader((folder / "stat.csv").open(), delimiter=";"))
    last = rows[-1] if rows else {}
    return SippRun(int(last.get("SuccessfulCall(C)", 0)), int(last.get("FailedCall(C)", 0)), rtts)


async def measure(tel: TelephonySettings, work: Path, count: int, limit: int) -> tuple[SippRun, float]:
    pid = asterisk_pid(tel)
    before = cpu_s(pid)
    run = await calls(tel, work, count, limit)
    return run, (cpu_s(pid) - before) / max(run.ok, 1) * 1000


async def phones(lab: Lab, tel: TelephonySettings, work: Path, ca: Path | None, base_port: int) -> list[LanPhone]:
    secure = ca is not None
    out = []
    for i, ext in enumerate(tel.agent_extensions):
        phone = LanPhone(
            ext,
            work / f"{tel.instance}-{ext}",
            make_tone(work),
            password=agent_passwords(tel)[ext],
            server=f"{SERVER}:{5061 if secure else 5062}",
            address=AGENT,
            netns=lab.exec("lan"),
            transport="tls" if secure else "udp",
            mediaenc="srtp-mand" if secure else None,
            cafile=ca,
            port=base_port + 4 * i,
        )
        await phone.start()
        out.append(phone)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(p.registered() for p in out):
        await asyncio.sleep(0.2)
    missing = [p.ext for p in out if not p.registered()]
    if missing:
        raise SystemExit(f"{tel.instance}: phones not registered: {missing}")
    return out


@asynccontextmanager
async def browser_agents(tel: TelephonySettings) -> AsyncIterator[Any]:
    """The webrtc instance's agents as JsSIP UAs in one Chromium page (inside the current namespace)."""
    from aiohttp import web
    from playwright.async_api import async_playwright

    app = web.Application()
    app.router.add_get("/", lambda r: web.Response(text=PAGE, content_type="text/html"))
    app.router.add_get("/agents.js", lambda r: web.Response(text=AGENTS_JS, content_type="text/javascript"))
    app.router.add_get("/jssip.min.js", lambda r: web.FileResponse(BUNDLE))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    assert tel.webrtc is not None
    accounts = [{"ws_url": tel.webrtc.ws_url, "uri": f"sip:{webrtc_endpoint(e)}@{SERVER}", "user": e,
                 "password": agent_passwords(tel)[e], "lan": SERVER} for e in tel.agent_extensions]
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
            try:
                page = await (await browser.new_context(ignore_https_errors=True)).new_page()
                await page.goto(f"http://127.0.0.1:{port}/")
                await page.evaluate("(accounts) => window.startAgents(accounts)", accounts)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if await page.evaluate("Object.values(window.agents).every((a) => a.registered)"):
                        break
                    await asyncio.sleep(0.2)
                else:
                    raise SystemExit("webrtc: browser agents not registered")
                yield page
            finally:
                await browser.close()
    finally:
        await runner.cleanup()


def line(name: str, plain: list[float], other: list[float], unit: str, label: str = "secure") -> str:
    ratios = [s / p for p, s in zip(plain, other, strict=True) if p > 0]
    return (
        f"{name:34} plain {statistics.median(plain):8.2f} {unit}  {label} {statistics.median(other):8.2f} {unit}"
        f"  {label}÷plain min {min(ratios):.2f} median {statistics.median(ratios):.2f}"
    )


async def main(rounds: int, count: int, with_webrtc: bool = True) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-webrtc-"))
    ca = local_ca(work / "ca")
    cert = issue(ca, work / "ca", "asterisk", [SERVER])
    agents = max(count, CONCURRENT)
    kinds = {"plain": settings("plain", work, None, agents),
             "secure": settings("secure", work, (str(cert.cert), str(cert.key)), agents)}
    if with_webrtc:
        kinds["webrtc"] = settings("webrtc", work, (str(cert.cert), str(cert.key)), agents)
    started: list[TelephonySettings] = []
    peers: list[LanPhone] = []
    with Lab.build(f"h17b{os.getpid()}") as lab:
        lab.add("srv")
        lab.add("lan")
        lab.link("srv", "lan", [f"{SERVER}/24"], [f"{AGENT}/24"], "l")
        with entered(lab.ns("srv")):
            try:
                for tel in kinds.values():
                    process.start(tel)
                    started.append(tel)
                peers += await phones(lab, kinds["plain"], work, None, 20000)
                peers += await phones(lab, kinds["secure"], work, ca.cert, 22000)
                async with contextlib.AsyncExitStack() as stack:
                    page = await stack.enter_async_context(browser_agents(kinds["webrtc"])) if with_webrtc else None
                    await rounds_of(kinds, work, rounds, count, page)
            finally:
                for phone in peers:
                    await phone.stop()
                for tel in started:
                    process.stop(tel)
                    for inner in instance_dirs(tel).values():
                        shutil.rmtree(in_root(tel.root, inner), ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


async def rounds_of(kinds: dict[str, TelephonySettings], work: Path, rounds: int, count: int, page: Any) -> None:
    names = list(kinds)
    setup: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    burst_cpu: dict[str, list[float]] = {n: [] for n in names}
    burst_ok: dict[str, list[int]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate: each kind goes first once
        for name in order:
            tel = kinds[name]
            run, per_call = await measure(tel, work, count, 1)
            setup[name].append(pct(run.invite_to_200_ms, 50))
            cpu[name].append(per_call)
            burst, burst_per_call = await measure(tel, work, CONCURRENT, CONCURRENT)
            burst_ok[name].append(burst.ok)
            burst_cpu[name].append(burst_per_call)
            print(
                f"round {r + 1} {name:6}: sequential {run.ok}/{count} ok, INVITE->200 p50 "
                f"{pct(run.invite_to_200_ms, 50):.0f} ms, CPU {per_call:.1f} ms/call; "
                f"{CONCURRENT} at once {burst.ok}/{CONCURRENT} ok, p95 "
                f"{pct(burst.invite_to_200_ms, 95) if burst.invite_to_200_ms else float('nan'):.0f} ms, "
                f"CPU {burst_per_call:.1f} ms/call",
                flush=True,
            )
    for name in names[1:]:
        print(line("set-up INVITE->200 (p50 per round)", setup["plain"], setup[name], "ms", name))
        print(line("Asterisk CPU per call (sequential)", cpu["plain"], cpu[name], "ms", name))
        print(line(f"Asterisk CPU per call ({CONCURRENT} at once)", burst_cpu["plain"], burst_cpu[name], "ms", name))
    print(f"{CONCURRENT} concurrent calls answered: " + ", ".join(f"{n} {burst_ok[n]}" for n in names))
    if page is not None:
        answered = await page.evaluate("Object.values(window.agents).reduce((s, a) => s + a.answered, 0)")
        print(f"browser agents answered {answered} calls in all")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--no-webrtc", action="store_true", help="leave the browser agents out")
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.calls, not options.no_webrtc))
