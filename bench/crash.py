"""Calls through a crash of the service: `hotline serve` on a private Asterisk with live calls in every state
(IVR, queued, ringing an agent, connected, on hold, a call we placed), restarted after `kill -9` (the
measured run) or after SIGTERM (the baseline: a clean stop, the same re-adoption), interleaved and
repeated. Prints per run: how long the service was away (stop → API answering), until every conversation
was taken up again, and what came through: conversations resumed, waiting callers in their old order, agent
legs for one call at once (a double offer would be 2), the callers the agents freed by the restart were
offered (in the order offered) against the original order of the waiting callers (every caller that was in
the IVR, queued or ringing, by arrival), call rows without an outcome after the calls ended, duplicated rows;
then min/median of both and their ratio.

    PYTHONPATH=$PWD .venv/bin/python -m bench.crash                # 50 calls: 8 per state, 9 IVR and 9 queued
    PYTHONPATH=$PWD .venv/bin/python -m bench.crash --per-state 1 --rounds 1

Needs root (the Asterisk rig), SIPp and baresip, like the telephony tests; run it under
`flock /tmp/hotline-asterisk.lock`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.sip.common import bench_settings
from callcenter.ari.client import AriClient
from callcenter.rig import process
from callcenter.rig.local_ports import free_port, rtp_block
from callcenter.settings import TelephonySettings
from tests.integration.crash_rig import PASSWORD, Api, Served, as_runtime, hotline, observer
from tests.sip import scenario
from tests.sip.peers import BaresipAgent, agent_online, make_tone, run_sipp, stop_leftovers, wait_for

GROUPS = ("connected", "held", "placed", "ringing")  # one agent phone per call in these states


@dataclass
class Run:
    kind: str  # "kill -9" | "SIGTERM"
    away_s: float = 0.0
    resumed_s: float = 0.0
    conversations: int = 0
    resumed: int = 0
    queue_kept: bool = False  # the callers still waiting are in their original order
    served_in_order: bool = False  # the freed agents were offered callers in their original order
    offered: int = 0  # callers the freed agents were offered after the restart
    skipped: int = 0  # callers still waiting who had waited longer than one the freed agents were offered
    queue_seen: str = ""  # when not kept: the original positions of the callers served and still waiting
    max_legs: int = 0
    unfinished: int = 0
    duplicates: int = 0
    calls: int = 0


@dataclass
class Rig:
    tel: TelephonySettings
    served: Served
    api: Api
    ari: AriClient
    tmp: Path
    per_state: int
    agents: dict[str, list[str]] = field(default_factory=dict)
    callers_api: dict[str, Api] = field(default_factory=dict)  # placed-call extension -> its own agent's API
    uas_port: int = 0
    serial: int = 0


def extensions(per_state: int) -> tuple[str, ...]:
    return tuple(str(8001 + n) for n in range(len(GROUPS) * per_state + 1))


async def on_call(api: Api, exts: list[str], state: str) -> list[str]:
    snapshot = {a["agent_id"]: a for a in (await api.call("GET", "/api/v1/queue"))["agents"]}
    found = [snapshot[e]["call_id"] for e in exts if snapshot[e]["state"] == state]
    return found if len(found) == len(exts) else []


async def callers(rig: Rig, count: int, keys: str) -> list[asyncio.Task[Any]]:
    steps: list[tuple[str, ...]] = [("pause", 1500)] + ([("dtmf", keys)] if keys else []) + [("await_bye",)]
    tasks = []
    for _ in range(count):
        rig.serial += 1
        number = f"1380000{rig.serial:04d}"
        path = scenario.write(rig.tmp, f"c{number}.xml", steps)
        tasks.append(
            asyncio.create_task(
                run_sipp(
                    rig.tel,
                    path,
                    service=rig.tel.hotline_number,
                    workdir=rig.tmp,
                    keys={"caller": number},
                    timeout_s=600,
                )
            )
        )
        await asyncio.sleep(0.2)
    return tasks


async def citizens(rig: Rig, calls: int) -> asyncio.subprocess.Process:
    """The called citizens behind the trunk: one SIPp server answering `calls` calls, each until BYE."""
    path = scenario.write_uas(rig.tmp, "citizen.xml", [])
    args = [
        "sipp",
        "-sf",
        str(path),
        "-i",
        "127.0.0.1",
        "-p",
        str(rig.uas_port),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_port()),
        "-m",
        str(calls),
        "-nostdin",
        "-timeout",
        "600s",
    ]
    peer = await asyncio.create_subprocess_exec(
        *args, cwd=rig.tmp, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(0.3)
    return peer


async def place_calls(rig: Rig) -> tuple[list[asyncio.Task[Any]], dict[str, list[str]]]:
    """Calls in every state; returns the SIPp tasks and the call ids by state (waiting: in queue order)."""
    api, n, tasks, ids = rig.api, rig.per_state, [], {}
    for ext in rig.agents["connected"] + rig.agents["held"]:
        await api.call("POST", f"/api/v1/agents/{ext}/state", {"state": "ready"})
    tasks += await callers(rig, 2 * n, "0")
    both = rig.agents["connected"] + rig.agents["held"]
    calls = await wait_for(lambda: on_call(api, both, "on_call"), timeout=60)
    ids["connected"], ids["held"] = calls[:n], calls[n:]
    for call_id in ids["held"]:
        await api.call("POST", f"/api/v1/calls/{call_id}/hold", {"on": True})
    ids["placed"] = []
    for ext in rig.agents["placed"]:
        rig.serial += 1
        body = {"extension": ext, "number": f"1390000{rig.serial:04d}"}
        answer = await rig.callers_api[ext].call("POST", "/api/v1/calls/originate", body, expect=202)
        ids["placed"].append(answer["call_id"])
    await wait_for(lambda: on_call(api, rig.agents["placed"], "on_call"), timeout=60)
    for ext in rig.agents["ringing"]:
        await api.call("POST", f"/api/v1/agents/{ext}/state", {"state": "ready"})
    tasks += await callers(rig, n, "0")
    ids["ringing"] = await wait_for(lambda: on_call(api, rig.agents["ringing"], "ringing"), timeout=60)
    tasks += await callers(rig, n + 1, "0")
    await wait_for(lambda: _waiting(api, n + 1), timeout=60)
    tasks += await callers(rig, n + 1, "")
    await asyncio.sleep(2)  # the IVR callers hear the greeting
    ids["waiting"] = [w["call_id"] for w in (await api.call("GET", "/api/v1/queue"))["waiting"]]
    return tasks, ids


async def _waiting(api: Api, count: int) -> bool:
    return len((await api.call("GET", "/api/v1/queue"))["waiting"]) >= count


async def legs(ari: AriClient, call_ids: list[str]) -> int:
    channels = [c.id for c in await ari.list_channels()]
    return max((sum(c.startswith(f"{i}-") for c in channels) for i in call_ids), default=0)


async def one_run(rig: Rig, kind: str) -> Run:
    api, run = rig.api, Run(kind)
    uas = await citizens(rig, len(rig.agents["placed"]))
    earlier = {r["id"] for r in rows(rig.served.db)}
    tasks, ids = await place_calls(rig)
    before = {r["id"] for r in rows(rig.served.db)} - earlier  # this run's calls
    conversations = ids["connected"] + ids["held"] + ids["placed"]
    run.conversations, run.calls = len(conversations), len(before)
    stopped = time.monotonic()
    if kind == "kill -9":
        rig.served.kill9()
    else:
        rig.served.stop()
    rig.served.start()
    run.away_s = await api.ready() - stopped
    groups = [(rig.agents[g], ids[g]) for g in ("connected", "held", "placed")]

    async def all_resumed() -> bool:
        for exts, call_ids in groups:
            if sorted(await on_call(api, exts, "on_call")) != sorted(call_ids):
                return False
        return True

    try:
        await wait_for(all_resumed, timeout=30)
        run.resumed_s = time.monotonic() - stopped
        run.resumed = run.conversations
    except AssertionError:
        run.resumed_s = float("nan")
    for _ in range(20):
        run.max_legs = max(run.max_legs, await legs(rig.ari, ids["ringing"]))
        await asyncio.sleep(0.1)
    line = [i for i in by_arrival(rig.served.db) if i in before and i not in conversations]  # original order
    waiting = [w["call_id"] for w in (await api.call("GET", "/api/v1/queue"))["waiting"]]
    offered = await offered_after_restart(rig)
    run.queue_kept = [i for i in line if i in waiting] == [i for i in waiting if i in line]
    run.offered = len(offered)
    run.served_in_order = offered == [i for i in line if i in offered]
    last = max((line.index(i) for i in offered if i in line), default=-1)
    run.skipped = sum(1 for i in line[:last] if i in waiting)
    if not (run.queue_kept and run.served_in_order and run.skipped == 0):
        pos = {call_id: n for n, call_id in enumerate(line)}
        run.queue_seen = (f"{len(line)} waiting before; offered {[pos.get(i, 'new') for i in offered]}, "
                          f"still waiting {[pos.get(i, 'new') for i in waiting]}")
    await hang_up_all(rig)
    _done, left = await asyncio.wait(tasks, timeout=60)
    for task in left:  # a caller our hang-ups missed: counted, then ended
        run.unfinished += 1
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if uas.returncode is None:
        uas.kill()
    await uas.wait()
    await asyncio.sleep(3)
    after = rows(rig.served.db)
    run.unfinished = sum(1 for r in after if r["id"] in before and not r["outcome"])
    run.duplicates = len(after) - len({r["id"] for r in after})
    await reset_agents(rig)
    return run


async def offered_after_restart(rig: Rig) -> list[str]:
    """The calls the agents freed by the restart (the ringing group) are ringing for, in the order they
    were offered (each agent's `since` in agent_sessions, written when the offer made it ringing)."""
    agents = {a["agent_id"]: a for a in (await rig.api.call("GET", "/api/v1/queue"))["agents"]}
    with sqlite3.connect(rig.served.db) as conn:
        since = dict(conn.execute("SELECT extension, since FROM agent_sessions").fetchall())
    ringing = [e for e in rig.agents["ringing"] if agents[e]["state"] == "ringing" and agents[e]["call_id"]]
    return [agents[e]["call_id"] for e in sorted(ringing, key=lambda e: (since.get(e) or "", e))]


def by_arrival(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM calls ORDER BY arrived_at, id")]


async def hang_up_all(rig: Rig) -> None:
    """Hang up every call whose row has no outcome yet (IVR callers were adopted under rows of their own)."""
    for _ in range(20):
        open_rows = [r["id"] for r in rows(rig.served.db) if not r["outcome"]]
        if not open_rows:
            return
        for call_id in open_rows:
            await rig.api.call("POST", f"/api/v1/calls/{call_id}/hangup", expect=None)
        await asyncio.sleep(1)


async def reset_agents(rig: Rig) -> None:
    """Between runs: every agent not ready (the ringing agents' phones stop ringing)."""

    async def settled() -> bool:
        agents = (await rig.api.call("GET", "/api/v1/queue"))["agents"]
        return all(a["state"] in ("ready", "not_ready", "logged_out") for a in agents)

    try:
        await wait_for(settled, timeout=60)
    except AssertionError:
        agents = (await rig.api.call("GET", "/api/v1/queue"))["agents"]
        stuck = {a["agent_id"]: (a["state"], a.get("call_id")) for a in agents
                 if a["state"] not in ("ready", "not_ready", "logged_out")}
        raise AssertionError(f"agents not settled 60 s after the calls ended: {stuck}") from None
    for group in GROUPS:
        for ext in rig.agents[group]:
            await rig.api.call("POST", f"/api/v1/agents/{ext}/state", {"state": "not_ready"}, expect=None)


def rows(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT id, outcome FROM calls")]


async def bench(per_state: int, rounds: int) -> list[Run]:
    with tempfile.TemporaryDirectory() as state, tempfile.TemporaryDirectory() as work:
        rtp_start, rtp_end = rtp_block(400)  # below baresip's own RTP range (40000-49999)
        tel = bench_settings(state).model_copy(
            update={
                "agent_extensions": extensions(per_state),
                "wrapup_s": 1,
                "rtp_start": rtp_start,
                "rtp_end": rtp_end,
            }
        )
        await asyncio.to_thread(process.start, tel)
        tmp = Path(work)
        rig = Rig(tel, Served(tel, tmp), None, observer(tel), tmp, per_state)  # type: ignore[arg-type]
        rig.uas_port = free_port()
        rig.served.prepare(ring_timeout_s=120, wrapup_s=1, trunk_outbound=f"127.0.0.1:{rig.uas_port}")
        exts = list(extensions(per_state))
        rig.agents = {g: exts[i * per_state : (i + 1) * per_state] for i, g in enumerate(GROUPS)}
        tone = make_tone(tmp)
        phones = [
            BaresipAgent(tel, e, tmp / f"a{e}", tone, auto_answer=e not in rig.agents["ringing"]) for e in exts[:-1]
        ]
        runs: list[Run] = []
        # A user holds one extension and calls out only from it: each click-to-call agent is its own user.
        tokens = {ext: agent_token(rig.served, ext) for ext in rig.agents["placed"]}
        rig.served.start()
        rig.api = Api(rig.served)
        rig.callers_api = {ext: Api(rig.served, token) for ext, token in tokens.items()}
        try:
            await rig.api.ready()
            for phone in phones:
                await agent_online(as_runtime(rig.ari), phone, phone.ext, timeout_s=60)
                await (rig.callers_api.get(phone.ext) or rig.api).call("POST", f"/api/v1/agents/{phone.ext}/login")
            for n in range(rounds):  # interleaved, the order alternating
                for kind in ("kill -9", "SIGTERM") if n % 2 == 0 else ("SIGTERM", "kill -9"):
                    runs.append(await one_run(rig, kind))
                    print(report_line(runs[-1]), flush=True)
        finally:
            await rig.api.close()
            for api in rig.callers_api.values():
                await api.close()
            rig.served.stop()
            for phone in phones:
                await phone.stop()
            stop_leftovers()
            await rig.ari.close()
            await asyncio.to_thread(process.stop, tel)
            process.remove_instance(tel)
    return runs


def agent_token(served: Served, ext: str) -> str:
    """An agent account bound to `ext` and an API token of it."""
    hotline(served.env, "user", "add", f"agent{ext}", "--role", "agent", "--password", PASSWORD, "--extension", ext)
    return hotline(served.env, "token", "create", f"agent{ext}").strip().splitlines()[-1]


def report_line(run: Run) -> str:
    return (
        f"{run.kind:8s} calls {run.calls:3d}  away {run.away_s:5.2f} s  resumed after {run.resumed_s:5.2f} s  "
        f"conversations {run.resumed}/{run.conversations}  queue order kept {run.queue_kept}  "
        f"served in order {run.served_in_order} ({run.offered} offered, {run.skipped} skipped)  "
        f"legs per ringing call max {run.max_legs}  unfinished rows {run.unfinished}  duplicates {run.duplicates}"
        + (f"\n    queue: {run.queue_seen}" if run.queue_seen else "")
    )


def summary(runs: list[Run]) -> None:
    def figures(kind: str, attr: str) -> list[float]:
        return [getattr(r, attr) for r in runs if r.kind == kind]

    for attr, label in (("away_s", "service away"), ("resumed_s", "conversations resumed")):
        kill, term = figures("kill -9", attr), figures("SIGTERM", attr)
        print(
            f"{label}: kill -9 min {min(kill):.2f} / median {statistics.median(kill):.2f} s; "
            f"SIGTERM min {min(term):.2f} / median {statistics.median(term):.2f} s; "
            f"ratio (median) {statistics.median(kill) / statistics.median(term):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-state", type=int, default=8, help="calls per state (IVR and queued get one more)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the Asterisk rig needs root")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    summary(asyncio.run(bench(args.per_state, args.rounds)))


if __name__ == "__main__":
    main()
