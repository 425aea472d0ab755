"""ACD benchmark: call → agent-ring latency of our ACD vs app_queue, same Asterisk, same agents
(baresip phones that auto-answer). Latency is measured on Asterisk's own event clock: creation of the
caller's channel → creation of the agent's channel.

    .venv/bin/python -m bench.acd [--calls 20] [--agents 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.sip.common import Observer, bench_settings, parse_time, ratio, sipp, summary
from callcenter.acd import LogIn, SetReady
from callcenter.app import build_runtime
from callcenter.ari.ari_events import Event
from callcenter.rig import process
from callcenter.rig.confgen import DIRECT_QUEUE_NUMBER, PLAIN_QUEUE_NUMBER
from tests.sip.peers import BaresipAgent, make_tone


def ring_latency_ms(events: list[Event], ours: dict[str, str]) -> list[float]:
    """`ours` maps our call ids to caller channel ids (from the runtime's event bus)."""
    callers: dict[str, float] = {}  # caller channel id -> created
    latencies: list[float] = []
    for event in events:
        raw = event.raw
        channel = raw.get("channel") or {}
        name = channel.get("name", "")
        if raw.get("type") == "ChannelCreated" and name.startswith("PJSIP/citizens"):
            callers[channel["id"]] = parse_time(channel["creationtime"])
        elif raw.get("type") == "ChannelCreated" and name.startswith("PJSIP/80"):
            caller_id = ours.get(channel["id"].split("-", 1)[0], "")  # our agent legs: "<call id>-<ext>-<n>"
            if caller_id in callers:
                latencies.append((parse_time(channel["creationtime"]) - callers.pop(caller_id)) * 1000)
        elif raw.get("type") == "Dial" and not raw.get("dialstatus") and raw.get("caller"):
            caller_id = raw["caller"]["id"]  # app_queue: Dial from the caller's channel to an agent
            if caller_id in callers:
                latencies.append((parse_time(raw["peer"]["creationtime"]) - callers.pop(caller_id)) * 1000)
    return latencies


async def run(calls: int, agents: int) -> dict[str, tuple[int, list[float]]]:
    results: dict[str, tuple[int, list[float]]] = {}
    with tempfile.TemporaryDirectory() as state:
        tel = bench_settings(state)
        await asyncio.to_thread(process.start, tel)
        exts = tel.agent_extensions[:agents]
        phones = [BaresipAgent(tel, e, Path(state) / e, make_tone(Path(state))) for e in exts]
        runtime = build_runtime(tel, None)
        try:
            for phone in phones:
                await phone.start()
            await runtime.start()
            await runtime.wait_connected()
            await asyncio.sleep(2)  # registrations
            for ext in exts:
                runtime.acd.command(ext, LogIn())
                runtime.acd.command(ext, SetReady())
            for label, number in (("our ACD", DIRECT_QUEUE_NUMBER), ("app_queue", PLAIN_QUEUE_NUMBER)):
                async with Observer(tel) as observer, runtime.bus.subscribe() as bus:
                    # At most as many calls at once as agents: the latency is routing, not waiting.
                    outcome = await sipp(tel, number, calls, rate=agents, limit=agents)
                    await asyncio.sleep(1)
                    ours: dict[str, str] = {}
                    while not bus.empty():
                        event = bus.get_nowait()
                        if "channel_id" in event.data:
                            ours[event.data["call_id"]] = event.data["channel_id"]
                results[label] = (outcome.ok, ring_latency_ms(observer.events, ours))
                await asyncio.sleep(2)
        finally:
            await runtime.stop()
            for phone in phones:
                await phone.stop()
            await asyncio.to_thread(process.stop, tel)
            process.remove_instance(tel)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--agents", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run(args.calls, args.agents))
    print(f"ACD benchmark: {args.calls} calls, {args.agents} auto-answering agents")
    for label, (ok, latencies) in results.items():
        print(f"{label:10} success {ok}/{args.calls}  call→agent ring {summary(latencies)}")
    ours, plain = results["our ACD"][1], results["app_queue"][1]
    print(f"ratio ours/app_queue: p50 {ratio(ours, plain, 50)}  p95 {ratio(ours, plain, 95)}")


if __name__ == "__main__":
    main()
