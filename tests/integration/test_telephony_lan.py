"""Agents' phones on a real second address: a "LAN" network namespace, TLS signalling, SRTP media, an ACL.

The lab (tests/netns.py): namespace `srv` runs Asterisk and our call runtime (the test's thread enters it),
`lan` holds the agents' phones (10.217.1.10 inside the agents' subnet 10.217.1.0/24), `guest` a phone on
another subnet (10.217.3.10, routed to the server but not in the ACL) and `carrier` the citizens' trunk
(10.217.2.10, 10.217.2.11). Certificates come from a local CA made for the run. Every
address exists only inside these namespaces, which the fixture removes again, also when a test failed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from callcenter.acd import LogIn, SetReady
from callcenter.rig import process
from callcenter.rig.certs import Issued, issue, local_ca
from callcenter.rig.confgen import agent_passwords, in_root, instance_dirs, recordings_dir
from callcenter.rig.local_ports import rtp_block
from callcenter.runtime import CallRuntime
from callcenter.settings import TelephonySettings
from tests.asterisk_plugin import _connected, _rig_available
from tests.netns import Lab, entered
from tests.sip import scenario
from tests.sip.audio import rms, samples, tone_ratio, windows
from tests.sip.lan import LanPhone
from tests.sip.peers import SippResult, _started, make_tone, to_alaw, wait_for, wait_outcome

pytestmark = [pytest.mark.asterisk, pytest.mark.slow]

SERVER_LAN, SERVER_CARRIER = "10.217.1.1", "10.217.2.1"
AGENT_OK, AGENT_OUTSIDE, SERVER_GUEST = "10.217.1.10", "10.217.3.10", "10.217.3.1"
AGENT_OTHER_ROOM, SERVER_ROOM = "10.217.4.10", "10.217.4.1"  # a second agents' subnet (the guard's test)
CARRIER = ("10.217.2.10", "10.217.2.11")
TLS_PORT, CARRIER_PORT = 5061, 5060
TRUNK_USER, LOCAL_DID = "057382012319", "0573-82012319"
CARRIER_SCENARIO = Path(__file__).resolve().parent.parent / "sip" / "carrier.xml"


@dataclass
class LanRig:
    lab: Lab
    tel: TelephonySettings
    ca: Issued
    folder: Path
    carrier: subprocess.Popen[bytes] | None = None

    def carrier_trace(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.folder / "carrier").glob("*_messages.log"))

    def start_carrier(self, secret: str) -> None:
        """SIPp as the carrier's SIP server at 10.217.2.10:5060 (registrar, OPTIONS, callbacks)."""
        work = self.folder / "carrier"
        work.mkdir(exist_ok=True)
        script = work / "carrier.xml"
        script.write_text(CARRIER_SCENARIO.read_text().replace("TRUNK_USER", TRUNK_USER)
                          .replace("TRUNK_SECRET", secret), encoding="utf-8")
        self.carrier = subprocess.Popen(
            [*self.lab.exec("carrier"), "sipp", "-sf", str(script), "-i", CARRIER[0], "-p", str(CARRIER_PORT),
             "-mi", CARRIER[0], "-mp", "27000", "-m", "100000", "-nostdin", "-trace_msg", "-trace_err"],
            cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_carrier(self) -> None:
        if self.carrier is not None and self.carrier.poll() is None:
            self.carrier.terminate()
            try:
                self.carrier.wait(5)
            except subprocess.TimeoutExpired:
                self.carrier.kill()
                self.carrier.wait()
        self.carrier = None

    def phone(self, ext: str, tmp_path: Path, **kwargs: object) -> LanPhone:
        options: dict[str, object] = {
            "password": agent_passwords(self.tel)[ext], "server": f"{SERVER_LAN}:{TLS_PORT}",
            "address": AGENT_OK, "netns": self.lab.exec("lan"), "cafile": self.ca.cert,
        }
        options.update(kwargs)
        tmp_path.mkdir(parents=True, exist_ok=True)
        return LanPhone(ext, tmp_path / f"phone{ext}", make_tone(tmp_path), **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lan_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanRig]:
    reason = _rig_available() or (None if shutil.which("ip") else "iproute2 is missing")
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("lan-rig")
    ca = local_ca(folder / "ca")
    server = issue(ca, folder / "ca", "asterisk", [SERVER_LAN, SERVER_CARRIER])
    secret = secrets.token_urlsafe(12)
    with Lab.build() as lab:
        lab.add("srv")
        lab.add("lan")
        lab.add("carrier")
        lab.add("guest")
        lab.link("srv", "lan", [f"{SERVER_LAN}/24"], [f"{AGENT_OK}/24"], "l")
        lab.link("srv", "guest", [f"{SERVER_GUEST}/24"], [f"{AGENT_OUTSIDE}/24"], "g")
        lab.route("guest", SERVER_GUEST)
        lab.add("room")
        lab.link("srv", "room", [f"{SERVER_ROOM}/24"], [f"{AGENT_OTHER_ROOM}/24"], "r")
        lab.route("room", SERVER_ROOM)
        lab.link("srv", "carrier", [f"{SERVER_CARRIER}/24"], [f"{a}/24" for a in CARRIER], "c")
        rtp_start, rtp_end = rtp_block()
        tel = TelephonySettings(
            enabled=True, instance=f"lan{os.getpid()}", app_name=f"hotline-lan{os.getpid()}",
            state_dir=str(folder / "state"),
            asterisk_root=os.environ.get("HOTLINE_TEST_ASTERISK_ROOT", TelephonySettings().asterisk_root),
            http_port=18088, sip_port=15060, rtp_start=rtp_start, rtp_end=rtp_end,
            ring_timeout_s=5, wrapup_s=1, agent_extensions=("8001", "8002", "8003", "8004"),
            transports=[
                {"name": "lan-tls", "protocol": "tls", "bind": SERVER_LAN, "port": TLS_PORT,
                 "cert_file": str(server.cert), "key_file": str(server.key)},
                {"name": "carrier", "protocol": "udp", "bind": SERVER_CARRIER, "port": CARRIER_PORT},
            ],
            agent_transport="lan-tls", agent_acl=["10.217.1.0/24", "10.217.4.0/24"],
            sip_block_after=3, sip_block_window_s=30, sip_block_s=6, trunk_transport="carrier",
            trunk_addresses=list(CARRIER), trunk_outbound=f"{CARRIER[0]}:{CARRIER_PORT}",
            trunk_registration={"server": f"{CARRIER[0]}:{CARRIER_PORT}", "username": TRUNK_USER,
                                "password": secret, "retry_interval_s": 5},
            trunk_dids=[LOCAL_DID, "12345"], trunk_codecs=("alaw", "g722", "ulaw"), trunk_qualify_s=2,
            outbound_caller_id=TRUNK_USER,
        )
        rig = LanRig(lab, tel, ca, folder)
        rig.start_carrier(secret)
        with entered(lab.ns("srv")):
            try:
                process.start(tel)
                yield rig
            finally:
                rig.stop_carrier()
                process.stop(tel)
                logs = in_root(tel.root, instance_dirs(tel)["log_dir"])
                shutil.copytree(logs, tel.state_path("asterisk-logs"), dirs_exist_ok=True)
                for inner in instance_dirs(tel).values():
                    shutil.rmtree(in_root(tel.root, inner), ignore_errors=True)


@pytest.fixture
async def lan_runtime(lan_rig: LanRig, tmp_path: Path) -> AsyncIterator[CallRuntime]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from callcenter.app import build_runtime
    from callcenter.records import SqlCallRecords
    from callcenter.tables import TABLES
    from core.db.base import metadata

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all, tables=list(TABLES))
    async with _connected(build_runtime(lan_rig.tel, SqlCallRecords(engine)), engine) as runtime:
        yield runtime


async def carrier_sipp(rig: LanRig, script: Path, *, service: str, caller: str, workdir: Path,
                       source: str = CARRIER[0], timeout_s: int = 60) -> SippResult:
    """SIPp as the carrier delivering a citizen's call from `source` (inside the carrier namespace)."""
    args = [*rig.lab.exec("carrier"), "sipp", f"{SERVER_CARRIER}:{CARRIER_PORT}", "-sf", str(script),
            "-s", service, "-i", source, "-mi", source, "-p", "25060", "-mp", "26000", "-m", "1",
            "-nostdin", "-timeout", f"{timeout_s}s", "-timeout_error", "-trace_err", "-key", "caller", caller]
    child = _started(await asyncio.create_subprocess_exec(*args, cwd=workdir, stdout=asyncio.subprocess.PIPE,
                                                          stderr=asyncio.subprocess.PIPE), "sipp carrier")
    out, err = await child.communicate()
    return SippResult(child.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))


async def registered(rt: CallRuntime, phone: LanPhone, ext: str, timeout_s: float = 15) -> bool:
    """True once the phone saw its binding accepted and Asterisk says the endpoint is online."""
    async def ok() -> bool:
        return phone.registered() and await rt.client.endpoint_state("PJSIP", ext) == "online"
    try:
        await wait_for(ok, timeout_s)
    except AssertionError:
        return False
    return True


async def test_a_tls_srtp_agent_on_the_lan_takes_a_citizens_call(
    lan_rig: LanRig, lan_runtime: CallRuntime, audio_fixtures: Path, tmp_path: Path
) -> None:
    phone = lan_rig.phone("8001", tmp_path)
    await phone.start()
    assert await registered(lan_runtime, phone, "8001"), phone.log_text()[-1500:]
    contacts = process.asterisk_cli(lan_rig.tel, "pjsip show contacts")
    assert f"@{AGENT_OK}:" in contacts, contacts
    lan_runtime.acd.command("8001", LogIn())
    lan_runtime.acd.command("8001", SetReady())
    to_alaw(audio_fixtures / "callers" / "c01.wav", tmp_path)
    script = scenario.write(tmp_path, "citizen.xml", [("pause", 1500), ("dtmf", "0"), ("pause", 3000),
                                                      ("audio", "-1"), ("pause", 6000), ("bye",)])
    try:
        result = await carrier_sipp(lan_rig, script, service="12319", caller="+8613800138001", workdir=tmp_path)
        assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
        record = await wait_outcome(lan_runtime)
    finally:
        channels = process.asterisk_cli(lan_rig.tel, "core show channels concise")
        await phone.stop()
    assert record["outcome"] == "answered" and record["agent_id"] == "8001"
    assert record["caller"] == "13800138001", "the +86 form arrives normalised"
    log = phone.log_text()
    assert "{0/TLS/v4} 200 OK" in log, "registered over TLS"
    assert "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)" in log, log[-2000:]
    assert f"receiving from {SERVER_LAN}:" in log, "media from the server's LAN address"
    heard = phone.heard()
    assert heard, f"the phone dumped what it received: {log[-1500:]} {channels}"
    got, rate = samples(heard[0])
    assert max(rms(w) for w in windows(got, rate)) > 300, "the agent heard the caller (SRTP decrypted)"
    conversation, rate = samples(recordings_dir(lan_rig.tel) / record["call_recording"])
    assert sum(tone_ratio(w, rate, 1000) > 0.3 for w in windows(conversation, rate)) >= 4, \
        "the agent's tone reached the bridge"


async def test_a_wrong_password_is_refused(lan_rig: LanRig, lan_runtime: CallRuntime, tmp_path: Path) -> None:
    phone = lan_rig.phone("8002", tmp_path, password="not-the-password")
    await phone.start()
    try:
        assert not await registered(lan_runtime, phone, "8002", timeout_s=6)
    finally:
        await phone.stop()
    assert "401" in phone.log_text() or "403" in phone.log_text(), phone.log_text()[-1500:]


async def test_a_phone_outside_the_agents_subnet_is_refused(
    lan_rig: LanRig, lan_runtime: CallRuntime, tmp_path: Path
) -> None:
    phone = lan_rig.phone("8003", tmp_path, address=AGENT_OUTSIDE, netns=lan_rig.lab.exec("guest"))
    await phone.start()
    try:
        assert not await registered(lan_runtime, phone, "8003", timeout_s=6)
    finally:
        await phone.stop()
    assert "403" in phone.log_text(), phone.log_text()[-1500:]


async def test_a_plain_rtp_offer_over_tls_is_refused(
    lan_rig: LanRig, lan_runtime: CallRuntime, tmp_path: Path
) -> None:
    phone = lan_rig.phone("8004", tmp_path, mediaenc=None, dial=f"sip:12319@{SERVER_LAN}:{TLS_PORT};transport=tls")
    await phone.start()
    try:
        assert await registered(lan_runtime, phone, "8004"), phone.log_text()[-1500:]
        await wait_for(lambda: "488" in phone.log_text(), 10)
    finally:
        await phone.stop()


async def test_repeated_failed_registrations_block_the_address_for_a_while(
    lan_rig: LanRig, lan_runtime: CallRuntime, tmp_path: Path
) -> None:
    from callcenter.sip_guard import SipGuard
    from core.bus import EventBus

    bus = EventBus()
    guard = SipGuard(lan_runtime.client, lan_rig.tel, bus, lan_runtime.now, poll_s=0.2)
    guard.start()
    room = {"address": AGENT_OTHER_ROOM, "netns": lan_rig.lab.exec("room")}
    try:
        async with bus.subscribe() as events:
            guesser = lan_rig.phone("8002", tmp_path / "guesser", password="guessing", **room)
            await guesser.start()
            await wait_for(lambda: AGENT_OTHER_ROOM in guard.blocker.blocked, 15, step=0.2)
            await guesser.stop()
            blocked = await asyncio.wait_for(events.get(), 5)
        assert (blocked.topic, blocked.kind, blocked.data["address"]) == ("sip_security", "blocked", AGENT_OTHER_ROOM)
        # While blocked, even the right password from that address is refused (403 from the ACL).
        owner = lan_rig.phone("8002", tmp_path / "owner", **room)
        await owner.start()
        assert not await registered(lan_runtime, owner, "8002", timeout_s=3)
        await owner.stop()
        assert "403 Forbidden" in owner.log_text(), owner.log_text()[-1500:]
        # A phone elsewhere on the LAN is not affected.
        other = lan_rig.phone("8001", tmp_path / "other")
        await other.start()
        assert await registered(lan_runtime, other, "8001"), other.log_text()[-1500:]
        await other.stop()
        # After the block (6 s here) the address may register again.
        await wait_for(lambda: AGENT_OTHER_ROOM not in guard.blocker.blocked, 15, step=0.2)
        again = lan_rig.phone("8002", tmp_path / "again", **room)
        await again.start()
        assert await registered(lan_runtime, again, "8002"), again.log_text()[-1500:]
        await again.stop()
    finally:
        await guard.stop()
        await guard.unblock(AGENT_OTHER_ROOM)


# --- the carrier trunk -------------------------------------------------------------------------------------


async def test_the_trunk_registers_with_the_carrier_through_a_digest_challenge(
    lan_rig: LanRig, lan_runtime: CallRuntime
) -> None:
    def registered_now() -> bool:
        return "Registered" in process.asterisk_cli(lan_rig.tel, "pjsip show registrations")

    await wait_for(registered_now, 20, step=0.5)
    trace = lan_rig.carrier_trace()
    assert "SIP/2.0 401 Unauthorized" in trace
    assert f'Authorization: Digest username="{TRUNK_USER}", realm="carrier.test"' in trace
    assert "SIP/2.0 403" not in trace
    # Qualify: OPTIONS reach the carrier and it answers, so the trunk's endpoint is online.
    await wait_for(lambda: "OPTIONS sip:" in lan_rig.carrier_trace(), 10)
    await wait_for(lambda: lan_runtime.client.endpoint_state("PJSIP", "citizens"), 10)
    assert (await lan_runtime.client.endpoint_state("PJSIP", "citizens")) == "online"


def carrier_call(folder: Path, name: str, *, g722: bool = False) -> Path:
    """A call from the carrier that listens to the greeting for two seconds and hangs up; with `g722`
    it offers G.722 only and fails unless the answer is G.722."""
    text = scenario.build(folder, [("pause", 2000), ("bye",)])
    if g722:
        text = text.replace("RTP/AVP 8 101\n      a=rtpmap:8 PCMA/8000", "RTP/AVP 9 101\n      a=rtpmap:9 G722/8000")
        text = text.replace('<recv response="200" rtd="true" rrs="true"/>',
                            '<recv response="200" rtd="true" rrs="true"><action><ereg regexp="RTP/AVP 9 .*G722/8000" '
                            'search_in="body" check_it="true" assign_to="g722"/></action></recv>')
        text = text.replace("</scenario>", '<Reference variables="g722"/>\n</scenario>')
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("did", "caller", "source", "national", "g722"), [
    ("+8657382012319", "008613900001111", CARRIER[1], "13900001111", False),
    ("82012319", "82011111", CARRIER[0], "057382011111", True),
    ("12345", "+8657182022222", CARRIER[1], "057182022222", False),
])
async def test_calls_to_each_did_reach_the_hotline_with_one_number_form(
    lan_rig: LanRig, lan_runtime: CallRuntime, tmp_path: Path,
    did: str, caller: str, source: str, national: str, g722: bool,
) -> None:
    script = carrier_call(tmp_path, "did.xml", g722=g722)
    result = await carrier_sipp(lan_rig, script, service=did, caller=caller, workdir=tmp_path, source=source)
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
    record = await wait_outcome(lan_runtime, caller=national)
    assert record["caller"] == national and record["called"] == did


async def test_a_callback_goes_out_through_the_trunk_with_our_caller_id(
    lan_rig: LanRig, lan_runtime: CallRuntime
) -> None:
    answers: list[tuple[int, int | None, str | None]] = []

    async def on_answer(callback_id: int, key: int | None, recording: str | None) -> None:
        answers.append((callback_id, key, recording))

    await lan_runtime.start_survey(callback_id=7, number="+86 138 0013 8201", case_no="202612010001",
                                   state="closed", result_text=None, on_answer=on_answer)
    await wait_for(lambda: answers, 30, step=0.2)
    trace = lan_rig.carrier_trace()
    assert f"INVITE sip:13800138201@{CARRIER[0]}:{CARRIER_PORT}" in trace, "dialled in the national form"
    assert "SIP/2.0 407 Proxy Authentication Required" in trace
    assert f'Proxy-Authorization: Digest username="{TRUNK_USER}"' in trace
    invites = [m for m in trace.split("\n\n") if m.lstrip().startswith("INVITE sip:13800138201")]
    assert invites and all(f"From: <sip:{TRUNK_USER}@" in m or f'<sip:{TRUNK_USER}@' in m for m in invites), invites[:1]


async def test_a_trunk_that_stops_answering_options_is_reported_down_and_alerts_the_lead(
    lan_rig: LanRig, lan_runtime: CallRuntime
) -> None:
    """Last in the module: it stops the carrier."""
    from callcenter.trunk_watch import TrunkWatch
    from core.bus import EventBus

    alerts: list[str] = []

    async def alert(message: str, at: object) -> None:
        alerts.append(message)

    bus = EventBus()
    watch = TrunkWatch(lan_runtime.client, lan_rig.tel, bus, lan_runtime.now, alert=alert)
    async with bus.subscribe() as events:
        assert await watch.check() == "up" and watch.status()["label"] == "正常"
        lan_rig.stop_carrier()
        for _ in range(30):
            if await watch.check() == "down":
                break
            await asyncio.sleep(0.5)
        assert watch.state == "down", "qualify notices the carrier is gone"
        seen = [events.get_nowait() for _ in range(events.qsize())]
    assert [(e.topic, e.kind) for e in seen] == [("trunk", "up"), ("trunk", "down")]
    assert alerts == ["运营商中继已中断：市民来电和回访外呼无法接通"]
    assert watch.status()["state"] == "down" and watch.status()["label"] == "中断"
    await watch.check()
    assert len(alerts) == 1, "one alert per outage"
