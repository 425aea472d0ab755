"""IVR benchmark: 100 concurrent calls through our ARI IVR vs a plain dialplan IVR (Answer + Playback),
on the same private Asterisk, side by side. Prints success rate, INVITE→200 OK, and channel creation →
first prompt start (as Asterisk reports it: PlaybackStarted for ours, ChannelDialplan→Playback for plain).

    .venv/bin/python -m bench.ivr [--calls 100]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile

from bench.sip.common import Observer, bench_settings, parse_time, ratio, sipp, summary
from callcenter.app import build_runtime
from callcenter.ari.ari_events import Event, PlaybackStarted, StasisStart
from callcenter.rig import process
from callcenter.rig.confgen import PLAIN_IVR_NUMBER


def first_prompt_ms(events: list[Event], ours: bool) -> list[float]:
    created: dict[str, float] = {}
    first: dict[str, float] = {}
    for event in events:
        raw = event.raw
        channel = raw.get("channel") or {}
        if raw.get("type") in ("ChannelCreated",) and channel.get("name", "").startswith("PJSIP/citizens"):
            created[channel["id"]] = parse_time(channel["creationtime"])
        if ours and isinstance(event, PlaybackStarted):
            target = event.playback.target_uri.partition(":")[2]
            first.setdefault(target, parse_time(event.timestamp))
        if not ours and raw.get("type") == "ChannelDialplan" and raw.get("dialplan_app") == "Playback":
            first.setdefault(channel["id"], parse_time(event.timestamp))
    return [(first[c] - created[c]) * 1000 for c in created if c in first]


async def run(calls: int) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as state:
        tel = bench_settings(state)
        await asyncio.to_thread(process.start, tel)
        runtime = build_runtime(tel, None)
        results: dict[str, dict[str, object]] = {}
        try:
            await runtime.start()
            await runtime.wait_connected()
            for label, number, ours in (("ARI IVR (ours)", tel.hotline_number, True),
                                        ("dialplan IVR", PLAIN_IVR_NUMBER, False)):
                async with Observer(tel) as observer:
                    outcome = await sipp(tel, number, calls)
                    await asyncio.sleep(0.5)
                results[label] = {"run": outcome, "prompt": first_prompt_ms(observer.events, ours),
                                  "stasis": sum(isinstance(e, StasisStart) for e in observer.events)}
                await asyncio.sleep(1)
        finally:
            await runtime.stop()
            await asyncio.to_thread(process.stop, tel)
            process.remove_instance(tel)
    return results


def report(results: dict[str, dict[str, object]], calls: int) -> None:
    print(f"IVR benchmark, {calls} concurrent calls each")
    for label, data in results.items():
        run = data["run"]
        print(f"{label:16} success {run.ok}/{calls}  INVITE→200 {summary(run.invite_to_200_ms)}")  # type: ignore[attr-defined]
        print(f"{'':16} created→first prompt {summary(data['prompt'])}")  # type: ignore[arg-type]
    ours, plain = results["ARI IVR (ours)"], results["dialplan IVR"]
    for name, a, b in (("INVITE→200", ours["run"].invite_to_200_ms, plain["run"].invite_to_200_ms),  # type: ignore[attr-defined]
                       ("first prompt", ours["prompt"], plain["prompt"])):
        print(f"ratio ours/plain {name}: p50 {ratio(a, b, 50)}  p95 {ratio(a, b, 95)}")  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    report(asyncio.run(run(args.calls)), args.calls)


if __name__ == "__main__":
    main()
