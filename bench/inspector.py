"""Benchmark: 城管通 (/inspector) on a phone network and a burst of queued reports after reconnect.

    python -m bench.inspector [--inspectors 50] [--reports 20] [--photo-kb 1024] [--rounds 2] [--no-browser]

1. First load of /inspector in Debian's Chromium under DevTools' "Fast 3G" emulation (562.5 ms latency,
   1.44 Mbit/s down, 675 kbit/s up), browser cache disabled, no service worker yet: bytes transferred
   (encoded, as on the wire) and the time until the app says it is interactive (body[data-ready='1']: home,
   categories and the duty-grid map drawn). Targets (issue 13): <= 400 KB, <= 3 s. Baseline: the same load
   unthrottled, interleaved, repeated (min / median).
2. Sync after reconnect: `--inspectors` phones each send their `--reports` queued reports (one photo of
   `--photo-kb` KB each) in order, all phones at once, through the same multipart API and Idempotency-Key as
   the page; every report is also resent once with its key (a lost answer), and the run checks each report
   made exactly one case. Baseline in the same run: the same number of uploads sent online one at a time.
   Prints p50/p95 per report and the ratio burst / one-at-a-time.

The service runs as `hotline serve` on a temporary SQLite database with the demo data (as the e2e tests).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from config.bootstrap import engine_for
from config.settings import load_settings
from core import accounts
from ticketing.domain.model import Role
from ticketing.geo.demo import demo_gazetteer

FAST_3G = {"offline": False, "latency": 562.5, "downloadThroughput": 1_440_000 / 8, "uploadThroughput": 675_000 / 8}


def _centre() -> tuple[float, float]:
    g = demo_gazetteer()
    cells = [c for c in g.cells.values() if c.duty_grid == "330424001-ZR01"]
    lon, lat = g.centroid(cells[len(cells) // 2].geometry)
    return lat, lon


def photo(kb: int) -> bytes:
    """A JPEG of about `kb` KB (noise does not compress, so size follows the pixel count)."""
    side = 300
    while True:
        data = io.BytesIO()
        Image.frombytes("RGB", (side, side * 3 // 4), os.urandom(side * (side * 3 // 4) * 3)).save(
            data, "JPEG", quality=90
        )
        if data.tell() >= kb * 1024:
            return data.getvalue()
        side = int(side * 1.15)


# --- 1. first load under Fast 3G -------------------------------------------------------------------------


def first_load(url: str, password: str, rounds: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    results: dict[str, list[tuple[int, float]]] = {"fast3g": [], "unthrottled": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _ in range(rounds):
            for mode in ("fast3g", "unthrottled"):  # interleaved
                results[mode].append(_load_once(browser, url, password, throttle=mode == "fast3g"))
        browser.close()
    out: dict[str, Any] = {}
    for mode, runs in results.items():
        out[mode] = {
            "kb_min": min(r[0] for r in runs) / 1024,
            "kb_median": statistics.median(r[0] for r in runs) / 1024,
            "tti_s_min": min(r[1] for r in runs),
            "tti_s_median": statistics.median(r[1] for r in runs),
        }
    out["ratio_tti_median"] = out["fast3g"]["tti_s_median"] / out["unthrottled"]["tti_s_median"]
    return out


def _load_once(browser: Any, url: str, password: str, throttle: bool) -> tuple[int, float]:
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        service_workers="block",
        geolocation={"latitude": _centre()[0], "longitude": _centre()[1]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "inspector01")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")  # logged in (and warmed the server), now measure
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.clearBrowserCache")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if throttle:
        cdp.send("Network.emulateNetworkConditions", FAST_3G)
    sizes: dict[str, float] = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto("about:blank")
    sizes.clear()
    start = time.perf_counter()
    page.goto(f"{url}/inspector")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    tti = time.perf_counter() - start
    page.wait_for_load_state("networkidle")
    total = int(sum(sizes.values()))
    context.close()
    return total, tti


# --- 2. the burst after reconnect --------------------------------------------------------------------------


async def _send(
    session: aiohttp.ClientSession, url: str, token: str, key: str, data: dict[str, Any], blob: bytes
) -> tuple[int, dict[str, Any], float]:
    form = aiohttp.FormData()
    form.add_field("data", json.dumps(data), content_type="application/json")
    form.add_field("photos", blob, filename="photo1.jpg", content_type="image/jpeg")
    start = time.perf_counter()
    async with session.post(
        f"{url}/api/v1/inspector/reports",
        data=form,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    ) as resp:
        body = await resp.json()
        return resp.status, body, time.perf_counter() - start


def _report(tag: str, i: int) -> dict[str, Any]:
    lat, lon = _centre()
    return {
        "category_code": "10102",
        "description": f"（压测）{tag} 第{i}条 井盖破损",
        "lat": lat,
        "lon": lon,
        "accuracy": 10.0,
    }


async def burst(url: str, tokens: list[str], reports: int, blob: bytes, tag: str) -> dict[str, Any]:
    """All phones at once, each sending its queue in order, then each report once more with its key."""
    latencies: list[float] = []
    cases: dict[str, str] = {}

    async def phone(n: int, token: str, session: aiohttp.ClientSession) -> None:
        for i in range(reports):
            key = f"{tag}-{n}-{i}-{uuid.uuid4().hex[:8]}"
            status, body, took = await _send(session, url, token, key, _report(f"{tag}-{n}", i), blob)
            assert status == 201 and not body["replayed"], body
            latencies.append(took)
            again, body2, _ = await _send(session, url, token, key, _report(f"{tag}-{n}", i), blob)
            assert again == 201 and body2["replayed"] and body2["case_no"] == body["case_no"], body2
            cases[key] = body["case_no"]

    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(phone(n, t, session) for n, t in enumerate(tokens)))
    wall = time.perf_counter() - start
    assert len(set(cases.values())) == len(tokens) * reports  # one case per report, none twice
    return _stats(latencies, wall)


async def one_at_a_time(url: str, tokens: list[str], count: int, blob: bytes, tag: str) -> dict[str, Any]:
    latencies = []
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for i in range(count):
            status, body, took = await _send(
                session, url, tokens[i % len(tokens)], f"{tag}-{i}-{uuid.uuid4().hex}", _report(tag, i), blob
            )
            assert status == 201, body
            latencies.append(took)
    return _stats(latencies, time.perf_counter() - start)


def _stats(latencies: list[float], wall: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "wall_s": wall,
        "per_s": len(ordered) / wall,
    }


async def add_inspectors(env: dict[str, str], count: int) -> list[str]:
    settings = load_settings(environ=env)
    engine = engine_for(settings)
    tokens = []
    async with engine.begin() as conn:
        for n in range(count):
            name = f"bench-inspector{n:03d}"
            await accounts.add_user(conn, username=name, display_name=name, role=Role.INSPECTOR, now=datetime.now(UTC))
            tokens.append(await accounts.create_token(conn, name, datetime.now(UTC), days=1))
    await engine.dispose()
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inspectors", type=int, default=50)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--photo-kb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-browser", action="store_true", help="skip the first-load measurement")
    parser.add_argument("--no-burst", action="store_true", help="skip the sync measurement")
    args = parser.parse_args()
    from tests.e2e.conftest import PASSWORD, start_site, stop_site

    with tempfile.TemporaryDirectory(prefix="bench-inspector-") as tmp:
        site = start_site(Path(tmp))
        try:
            if not args.no_browser:
                load = first_load(site.url, PASSWORD, args.rounds)
                for mode in ("fast3g", "unthrottled"):
                    r = load[mode]
                    print(
                        f"first load /inspector {mode:11s}: {r['kb_min']:.0f} KB (median {r['kb_median']:.0f}),"
                        f" interactive in {r['tti_s_min']:.2f} s (median {r['tti_s_median']:.2f})"
                    )
                print(
                    f"first load: Fast 3G / unthrottled time-to-interactive (median) = {load['ratio_tti_median']:.1f}x;"
                    f" targets <= 400 KB, <= 3 s"
                )
            if args.no_burst:
                return
            tokens = asyncio.run(add_inspectors(site.env, args.inspectors))
            blob = photo(args.photo_kb)
            total = args.inspectors * args.reports
            print(
                f"photo {len(blob) / 1024:.0f} KB; {args.inspectors} phones x {args.reports} queued reports = {total}"
            )
            runs: dict[str, list[dict[str, Any]]] = {"burst": [], "single": []}
            for r in range(args.rounds):  # interleaved
                runs["single"].append(asyncio.run(one_at_a_time(site.url, tokens, total, blob, f"s{r}")))
                runs["burst"].append(asyncio.run(burst(site.url, tokens, args.reports, blob, f"b{r}")))
            for name, label in (("single", "online, one at a time"), ("burst", "after reconnect, all at once")):
                rs = runs[name]
                p50 = [x["p50_ms"] for x in rs]
                p95s = [x["p95_ms"] for x in rs]
                print(
                    f"{label:30s}: p50 {min(p50):.0f}/{statistics.median(p50):.0f} ms,"
                    f" p95 {min(p95s):.0f}/{statistics.median(p95s):.0f} ms"
                    f" (min/median), {statistics.median(x['per_s'] for x in rs):.1f} reports/s,"
                    f" {statistics.median(x['wall_s'] for x in rs):.1f} s for {total}"
                )
            p95 = statistics.median(x["p95_ms"] for x in runs["burst"]) / statistics.median(
                x["p95_ms"] for x in runs["single"]
            )
            rate = statistics.median(x["per_s"] for x in runs["burst"]) / statistics.median(
                x["per_s"] for x in runs["single"]
            )
            print(
                f"ratio burst / one-at-a-time: p95 per report {p95:.1f}x, throughput {rate:.2f}x;"
                f" every report exactly one case (resent once each with its key)"
            )
        finally:
            stop_site(site)


if __name__ == "__main__":
    sys.exit(main())
