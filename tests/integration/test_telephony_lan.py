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
import shutil
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
CARRIER = ("10.217.2.10", "10.217.2.11")
TLS_PORT, CARRIER_PORT = 5061, 5060


@dataclass
class LanRig:
    lab: Lab
    tel: TelephonySettings
    ca: Issued
    folder: Path

    def phone(self, ext: str, tmp_path: Path, **kwargs: object) -> LanPhone:
        options: dict[str, object] = {
            "password": agent_passwords(self.tel)[ext], "server": f"{SERVER_LAN}:{TLS_PORT}",
            "address": AGENT_OK, "netns": self.lab.exec("lan"), "cafile": self.ca.cert,
        }
        options.update(kwargs)
        return LanPhone(ext, tmp_path / f"phone{ext}", make_tone(tmp_path), **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lan_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanRig]:
    reason = _rig_available() or (None if shutil.which("ip") else "iproute2 is missing")
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("lan-rig")
    ca = local_ca(folder / "ca")
    server = issue(ca, folder / "ca", "asterisk", [SERVER_LAN, SERVER_CARRIER])
    with Lab.build() as lab:
        lab.add("srv")
        lab.add("lan")
        lab.add("carrier")
        lab.add("guest")
        lab.link("srv", "lan", [f"{SERVER_LAN}/24"], [f"{AGENT_OK}/24"], "l")
        lab.link("srv", "guest", [f"{SERVER_GUEST}/24"], [f"{AGENT_OUTSIDE}/24"], "g")
        lab.route("guest", SERVER_GUEST)
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
            agent_transport="lan-tls", agent_acl=["10.217.1.0/24"], trunk_transport="carrier",
            trunk_addresses=list(CARRIER),
        )
        with entered(lab.ns("srv")):
            process.start(tel)
            try:
                yield LanRig(lab, tel, ca, folder)
            finally:
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
