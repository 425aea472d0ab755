"""bench.webrtc: what TLS + SRTP costs the agents' leg, against plain UDP agents in the same run.

Lab (tests/netns.py): Asterisk in namespace `srv`, the agents' baresip phones in `lan` (10.217.1.10), SIPp
callers on srv's loopback. Two Asterisk instances run side by side: "plain" (agents on UDP, RTP) and
"secure" (agents on TLS, SDES-SRTP required). Dialling 9 + extension rings that agent's phone straight
(benchmark dialplan), so only the agent leg's transport and media differ.

Measured, in interleaved rounds (plain, secure, then secure, plain, ...), repeated:
- call set-up: SIPp INVITE -> 200 OK (the agent's phone answered through Asterisk), sequential calls;
- Asterisk CPU per call (utime + stime of the Asterisk process over the round ÷ calls; each call holds 4 s
  with RTP both ways, so media encryption is in it);
- 30 concurrent SRTP calls on the secure instance (and 30 plain ones as the baseline).
Printed as secure ÷ plain ratios, min and median over rounds. The WebRTC (DTLS-SRTP) browser agent is
not measured: the browser phone is not built yet (issue 17, part 4).

Run as root: `python -m bench.webrtc [--rounds 3] [--calls 10]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.sip.common import HERE, SippRun, pct
from callcenter.rig import process
from callcenter.rig.certs import issue, local_ca
from callcenter.rig.confgen import agent_passwords, in_root, instance_dirs
from callcenter.rig.local_ports import free_port
from callcenter.settings import TelephonySettings
from tests.netns import Lab, entered
from tests.sip.lan import LanPhone
from tests.sip.peers import make_tone

SERVER, AGENT = "10.217.1.1", "10.217.1.10"
CONCURRENT = 30


def settings(kind: str, state: Path, cert: tuple[str, str] | None, agents: int) -> TelephonySettings:
    if cert:
        transport = {"name": "lan-tls", "protocol": "tls", "bind": SERVER, "port": 5061,
                     "cert_file": cert[0], "key_file": cert[1]}
    else:
        transport = {"name": "lan-udp", "protocol": "udp", "bind": SERVER, "port": 5062}
    return TelephonySettings(
        enabled=True, instance=f"bw{kind}{os.getpid()}", app_name=f"bw{kind}{os.getpid()}",
        state_dir=str(state / kind), http_port=free_port(), sip_port=free_port(),
        rtp_start=40000 if cert else 45000, rtp_end=44999 if cert else 49999, benchmark_extensions=True,
        agent_extensions=tuple(str(8001 + i) for i in range(agents)), transports=[transport],
        agent_transport=transport["name"], agent_acl=["10.217.1.0/24"], sip_block_after=0)


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def asterisk_pid(tel: TelephonySettings) -> int:
    return int(process.pid_file(tel).read_text().strip())


async def calls(tel: TelephonySettings, work: Path, count: int, limit: int) -> SippRun:
    """`count` calls to agents 8001.. in turn, at most `limit` at once; INVITE -> 200 OK per call."""
    import csv

    folder = Path(tempfile.mkdtemp(dir=work))
    (folder / "silence.al").write_bytes(b"\xd5" * 8000 * 5)
    (folder / "agents.csv").write_text("SEQUENTIAL\n" + "".join(f"{e};\n" for e in tel.agent_extensions))
    (folder / "call.xml").write_text((HERE / "hold.xml").read_text().replace("[service]", "9[field0]"))
    args = ["sipp", f"127.0.0.1:{tel.sip_port}", "-sf", str(folder / "call.xml"), "-inf", str(folder / "agents.csv"),
            "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
            "-m", str(count), "-l", str(limit), "-r", str(max(limit, 5)), "-nostdin", "-timeout", "90s",
            "-trace_rtt", "-rtt_freq", "1", "-trace_stat", "-stf", "stat.csv"]
    proc = await asyncio.create_subprocess_exec(*args, cwd=folder, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    await proc.wait()
    rtts = [float(r["response_time_ms"]) for f in folder.glob("*_rtt.csv")
            for r in csv.DictReader(f.open(), delimiter=";")]
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
        phone = LanPhone(ext, work / f"{tel.instance}-{ext}", make_tone(work), password=agent_passwords(tel)[ext],
                         server=f"{SERVER}:{5061 if secure else 5062}", address=AGENT, netns=lab.exec("lan"),
                         transport="tls" if secure else "udp", mediaenc="srtp-mand" if secure else None,
                         cafile=ca, port=base_port + 4 * i)
        await phone.start()
        out.append(phone)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(p.registered() for p in out):
        await asyncio.sleep(0.2)
    missing = [p.ext for p in out if not p.registered()]
    if missing:
        raise SystemExit(f"{tel.instance}: phones not registered: {missing}")
    return out


def line(name: str, plain: list[float], secure: list[float], unit: str) -> str:
    ratios = [s / p for p, s in zip(plain, secure, strict=True) if p > 0]
    return (f"{name:34} plain {statistics.median(plain):8.2f} {unit}  secure {statistics.median(secure):8.2f} {unit}"
            f"  secure÷plain min {min(ratios):.2f} median {statistics.median(ratios):.2f}")


async def main(rounds: int, count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-webrtc-"))
    ca = local_ca(work / "ca")
    cert = issue(ca, work / "ca", "asterisk", [SERVER])
    agents = max(count, CONCURRENT)
    plain = settings("plain", work, None, agents)
    secure = settings("secure", work, (str(cert.cert), str(cert.key)), agents)
    started: list[TelephonySettings] = []
    peers: list[LanPhone] = []
    with Lab.build(f"h17b{os.getpid()}") as lab:
        lab.add("srv")
        lab.add("lan")
        lab.link("srv", "lan", [f"{SERVER}/24"], [f"{AGENT}/24"], "l")
        with entered(lab.ns("srv")):
            try:
                for tel in (plain, secure):
                    process.start(tel)
                    started.append(tel)
                peers += await phones(lab, plain, work, None, 20000)
                peers += await phones(lab, secure, work, ca.cert, 22000)
                setup: dict[str, list[float]] = {"plain": [], "secure": []}
                cpu: dict[str, list[float]] = {"plain": [], "secure": []}
                burst_cpu: dict[str, list[float]] = {"plain": [], "secure": []}
                burst_ok: dict[str, list[int]] = {"plain": [], "secure": []}
                for r in range(rounds):
                    order = [("plain", plain), ("secure", secure)]
                    for name, tel in order if r % 2 == 0 else order[::-1]:
                        run, per_call = await measure(tel, work, count, 1)
                        setup[name].append(pct(run.invite_to_200_ms, 50))
                        cpu[name].append(per_call)
                        burst, burst_per_call = await measure(tel, work, CONCURRENT, CONCURRENT)
                        burst_ok[name].append(burst.ok)
                        burst_cpu[name].append(burst_per_call)
                        print(f"round {r + 1} {name:6}: sequential {run.ok}/{count} ok, INVITE->200 p50 "
                              f"{pct(run.invite_to_200_ms, 50):.0f} ms, CPU {per_call:.1f} ms/call; "
                              f"{CONCURRENT} at once {burst.ok}/{CONCURRENT} ok, p95 "
                              f"{pct(burst.invite_to_200_ms, 95):.0f} ms, CPU {burst_per_call:.1f} ms/call", flush=True)
                print(line("set-up INVITE->200 (p50 per round)", setup["plain"], setup["secure"], "ms"))
                print(line("Asterisk CPU per call (sequential)", cpu["plain"], cpu["secure"], "ms"))
                print(line(f"Asterisk CPU per call ({CONCURRENT} at once)", burst_cpu["plain"], burst_cpu["secure"],
                           "ms"))
                print(f"{CONCURRENT} concurrent calls answered: plain {burst_ok['plain']}, "
                      f"secure (SRTP) {burst_ok['secure']}")
                print("WebRTC (DTLS-SRTP) agent: not measured (no browser phone yet)")
            finally:
                for phone in peers:
                    await phone.stop()
                for tel in started:
                    process.stop(tel)
                    for inner in instance_dirs(tel).values():
                        shutil.rmtree(in_root(tel.root, inner), ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.calls))
