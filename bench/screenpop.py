"""Screen-pop latency: from a call event on the app's bus to the pop shown in the agent console in Chromium.

    python -m bench.screenpop [--calls 200]

The service runs in this process (aiohttp on a free loopback port, temp SQLite with the demo data); Debian's
Chromium, driven by Playwright, logs in as agent01 and signs in extension 8001. Each round publishes the
`call ringing` event the telephony runtime publishes when it offers a call to an agent (with telephony off,
nobody else publishes it) and the page stamps the moment the pop is visible and laid out. Both stamps are
wall-clock milliseconds of the same machine. Baseline in the same run: a websocket echo round trip
(browser → /ws → browser) over the same socket. Playwright's own observation of the visible element (which
adds its protocol round trip) is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings
from config.bootstrap import create_app
from config.settings import CONFIG_DIR, load_settings
from core.bus import BusEvent
from web.keys import BUS, RUNNING

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PASSWORD = "bench-demo-password-1"
EXTENSION = "8001"


def seeded_env(tmp: Path) -> dict[str, str]:
    """A migrated SQLite database with the demo data, made by the CLI as an operator would."""
    site = tmp / "site.yaml"
    site.write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update({"HOTLINE_CONFIG": str(site), "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
                "HOTLINE_DATA_DIR": str(tmp), "HOTLINE_SECURITY__DEMO_MODE": "true"})  # demo data: demo mode
    exe = str(Path(sys.executable).with_name("hotline"))
    for args in (["db", "upgrade"], ["demo", "seed", "--password", PASSWORD]):
        done = subprocess.run([exe, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr)
    return env


@dataclass
class Console:
    app: web.Application
    url: str
    page: Any


@asynccontextmanager
async def running_console(tmp: Path, telephony: TelephonySettings | None = None,
                          before_login: Callable[[web.Application], Awaitable[None]] | None = None, *,
                          browser_args: tuple[str, ...] = (), init_script: str | None = None,
                          ) -> AsyncIterator[Console]:
    """The service in this process and an agent console in Chromium, signed in on extension 8001.
    With `telephony` (a running Asterisk's settings) the call runtime runs too; `before_login` runs once the
    app is up (e.g. to register the agent's softphone). `browser_args` are added to Chromium's (fake media
    for the browser phone), `init_script` runs in every page before its own scripts; with the browser phone
    configured, the context accepts the test CA's certificate of Asterisk's WSS."""
    from playwright.async_api import async_playwright

    env = seeded_env(tmp)
    settings = load_settings(files=[CONFIG_DIR / "defaults.yaml", tmp / "site.yaml"], environ=env)
    if telephony is not None:
        settings = settings.model_copy(update={"telephony": telephony})
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    if telephony is not None:
        await app[RUNNING].calls.wait_connected()
    if before_login is not None:
        await before_login(app)
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}"
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=[*CHROMIUM_ARGS, *browser_args])
            try:
                context = await browser.new_context(
                    viewport={"width": 1600, "height": 900}, locale="zh-CN",
                    ignore_https_errors=telephony is not None and telephony.webrtc is not None)
                if init_script:
                    await context.add_init_script(init_script)
                page = await context.new_page()
                await page.goto(f"{url}/login")
                await page.fill("input[name=username]", "agent01")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{url}/console")
                await page.wait_for_selector(".live-dot[data-up='1']")
                await page.select_option("#ext", EXTENSION)
                await page.click("#btn-login")
                await page.wait_for_selector("#btn-logout:not([hidden])")
                await page.evaluate("""() => { window.__pops = {};
                    window.__onScreenPop = (d) => { window.__pops[d.call_id] = Date.now(); }; }""")
                yield Console(app, url, page)
            finally:
                await browser.close()
    finally:
        await runner.cleanup()


def ringing(call_id: str, caller: str) -> BusEvent:
    return BusEvent("call", "ringing", datetime.now(UTC), {"call_id": call_id, "caller": caller,
                                                          "channel_id": f"ch-{call_id}", "agent_id": EXTENSION})


async def pop_once(console: Console, i: int) -> tuple[float, float]:
    """(event → pop painted in the page, event → Playwright sees it visible), both in ms."""
    call_id = f"bench{i:05d}"
    started = time.time() * 1000
    console.app[BUS].publish(ringing(call_id, f"1390000{i % 10000:04d}"))
    await console.page.wait_for_selector(f"#screen-pop[data-call-id='{call_id}']", state="visible")
    seen = time.time() * 1000
    painted = await console.page.evaluate(f"window.__pops['{call_id}']")
    return painted - started, seen - started


async def echo_once(console: Console) -> float:
    """One websocket echo round trip measured in the page (browser → /ws → browser), ms."""
    return float(await console.page.evaluate("""() => new Promise((resolve) => {
        const live = window.consoleLive; const t0 = performance.now();
        live.opts.onPong = () => { live.opts.onPong = null; resolve(performance.now() - t0); };
        live.send({type: "ping", t: t0}); })"""))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


async def measure(calls: int, tmp: Path) -> dict[str, Any]:
    async with running_console(tmp) as console:
        for i in range(5):  # warm-up: first fetches, JIT, caches
            await pop_once(console, 90000 + i)
            await echo_once(console)
        pops, seen, echoes = [], [], []
        for i in range(calls):
            painted, observed = await pop_once(console, i)
            pops.append(painted)
            seen.append(observed)
            echoes.append(await echo_once(console))
            await asyncio.sleep(0.05)
    return {"calls": calls, "pop": pops, "seen": seen, "echo": echoes}


async def measure_asterisk(calls: int, tmp: Path) -> dict[str, Any]:
    """Real calls: a SIPp caller on 12322 (Stasis, straight to our queue), the runtime offers it to a baresip
    phone on 8001 whose agent is ready in the console. Measured to the pop stamped in the page from (a) the
    moment our runtime received StasisStart (its `call arrived` event, stamped on receipt) and (b) the
    caller channel's creation on Asterisk's own event clock (seen by an observer ARI app; StasisStart itself
    goes only to the app that owns the channel), which also counts Asterisk's dialplan step into Stasis."""
    from bench.sip.common import Observer, bench_settings, parse_time
    from callcenter.rig import process
    from tests.sip import scenario
    from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp

    tel = bench_settings(str(tmp / "asterisk-state")).model_copy(update={"wrapup_s": 0})
    process.start(tel)
    phone = BaresipAgent(tel, EXTENSION, tmp / "a8001", make_tone(tmp))

    async def online(app: web.Application) -> None:
        await agent_online(app[RUNNING].calls, phone, EXTENSION)

    pops: list[float] = []
    created: list[float] = []
    echoes: list[float] = []
    try:
        async with Observer(tel) as observer, running_console(tmp, telephony=tel, before_login=online) as console:
            await console.page.click("#btn-ready")
            await console.page.wait_for_selector("#state-pill[data-state='ready']")
            caller = scenario.write(tmp, "caller.xml", [("pause", 800), ("bye",)])
            async with console.app[BUS].subscribe() as events:
                for i in range(calls + 3):
                    number = f"1380000{i:04d}"
                    run = await run_sipp(tel, caller, service="12322", workdir=tmp, keys={"caller": number},
                                         timeout_s=30)
                    if run.returncode != 0:
                        raise RuntimeError(run.stderr[-1000:])
                    await console.page.wait_for_selector("#state-pill[data-state='ready']", timeout=10_000)
                    arrived = {}
                    while not events.empty():
                        event = events.get_nowait()
                        if event.topic == "call" and event.kind == "arrived":
                            arrived[event.data["call_id"]] = event
                    call_id = await console.page.evaluate("document.querySelector('#screen-pop').dataset.callId")
                    painted = await console.page.evaluate(f"window.__pops['{call_id}']")
                    births = [e for e in observer.events if e.type == "ChannelCreated"
                              and getattr(e, "raw", {}).get("channel", {}).get("caller", {}).get("number") == number]
                    if i < 3 or call_id not in arrived or not painted or not births:
                        continue  # the first calls warm up
                    pops.append(painted - arrived[call_id].at.timestamp() * 1000)
                    created.append(painted - parse_time(births[0].timestamp) * 1000)
                    echoes.append(await echo_once(console))
    finally:
        await phone.stop()
        process.stop(tel)
    return {"calls": len(pops), "pop": pops, "seen": created, "echo": echoes, "source": "StasisStart received"}


def report(result: dict[str, Any]) -> str:
    rows = []
    source = result.get("source", "bus event")
    second = ("bus event → visible to Playwright" if source == "bus event"
              else "caller channel created (Asterisk clock) → pop painted")
    measures = [(f"{source} → pop painted (page clock)", "pop"), (second, "seen"),
                ("baseline: websocket echo round trip", "echo")]
    for name, key in measures:
        values = result[key]
        rows.append(f"| {name} | {statistics.median(values):.1f} ms | {p95(values):.1f} ms | {max(values):.1f} ms |")
    ratio = p95(result["pop"]) / max(p95(result["echo"]), 0.001)
    verdict = "PASS" if p95(result["pop"]) < 300 else "FAIL"
    return "\n".join([f"{result['calls']} screen pops, Chromium {CHROMIUM}",
                      "| Measure | p50 | p95 | max |", "|---|---|---|---|", *rows,
                      f"p95 pop ÷ p95 echo = {ratio:.1f}×; target p95 < 300 ms: {verdict}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--asterisk", action="store_true",
                        help="real SIP calls through our own Asterisk (root; measured from StasisStart)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-screenpop-") as tmp:
        run = measure_asterisk if args.asterisk else measure
        result = asyncio.run(run(args.calls, Path(tmp)))
    print(report(result))


if __name__ == "__main__":
    main()
