"""The console's browser phone for real: Chromium (fake microphone playing a 440 Hz tone) registers agent01's
extension 8001 over WSS with JsSIP, a baresip citizen (1 kHz tone) calls the queue number, the phone rings in
the page, the console's 接听 button answers, and audio flows both ways over DTLS-SRTP; energy is measured at
both ends (getStats/WebAudio in the page, the caller's recording of what it heard). A wrong password is
refused; the administrator's password rotation reaches the running Asterisk (reload, no restart) and the
browser phone at its next sign-in.

Strict network recipe (docs/telephony.md "Tests", tests/netns.py): everything - Asterisk, the web service, Chromium,
the caller - runs inside namespace `srv` the test creates and removes. Its only non-loopback address is
10.217.6.1 on a veth to `peer` (an empty namespace): WSS listens there, both ends' ICE candidates are on it
(ice_networks), so no packet goes to any address outside the test's own namespaces.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.screenpop import CHROMIUM, PASSWORD, running_console
from callcenter.rig import process
from callcenter.rig.certs import issue, local_ca
from callcenter.rig.confgen import agent_passwords, in_root, instance_dirs
from callcenter.rig.local_ports import free_port, rtp_block
from callcenter.settings import TelephonySettings, webrtc_endpoint
from tests.asterisk_plugin import _rig_available
from tests.e2e.conftest import ARTIFACTS, ROOT, until_async
from tests.e2e.test_accessibility import AXE, RUN_AXE, TAGS
from tests.netns import Lab, entered
from tests.sip.audio import rms, samples, tone_ratio, windows
from tests.sip.peers import BARESIP_MODULES, BaresipAgent, _started, make_tone, wait_for

pytestmark = [pytest.mark.asterisk, pytest.mark.slow, pytest.mark.timeout(400),
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")]

SERVER, PEER = "10.217.6.1", "10.217.6.2"
WSS_PORT = 8089
CALLER = "13800138123"
BUNDLE = ROOT / "web" / "static" / "vendor" / "jssip" / "jssip.min.js"


@dataclass
class WebRtcRig:
    tel: TelephonySettings
    folder: Path
    tone: Path  # what Chromium's fake microphone plays

    def browser_args(self) -> tuple[str, ...]:
        return ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={self.tone}", "--autoplay-policy=no-user-gesture-required")


@pytest.fixture(scope="module")
def webrtc_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebRtcRig]:
    reason = _rig_available() or (None if shutil.which("ip") and shutil.which("baresip") else "ip/baresip missing")
    if reason:
        pytest.skip(reason)
    if not BUNDLE.is_file():
        pytest.skip("web/static/vendor/jssip is missing: run scripts/install.sh")
    folder = tmp_path_factory.mktemp("webrtc-rig")
    ca = local_ca(folder / "ca")
    server = issue(ca, folder / "ca", "asterisk", [SERVER, "127.0.0.1"])
    tone = folder / "mic-440.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(tone), "synth", "120", "sine", "440",
                    "vol", "0.3"], check=True)
    rtp_start, rtp_end = rtp_block()
    with Lab.build(f"h17tw{os.getpid()}") as lab:
        lab.add("srv")
        lab.add("peer")
        lab.link("srv", "peer", [f"{SERVER}/24"], [f"{PEER}/24"], "w")
        tel = TelephonySettings(
            enabled=True, instance=f"wrtc{os.getpid()}", app_name=f"hotline-wrtc{os.getpid()}",
            state_dir=str(folder / "state"),
            asterisk_root=os.environ.get("HOTLINE_TEST_ASTERISK_ROOT", TelephonySettings().asterisk_root),
            http_port=18088, sip_port=15060, rtp_start=rtp_start, rtp_end=rtp_end, benchmark_extensions=True,
            ring_timeout_s=20, wrapup_s=1, agent_extensions=("8001", "8002"), sip_block_after=0,
            webrtc={"bind": SERVER, "port": WSS_PORT, "cert_file": str(server.cert), "key_file": str(server.key),
                    "ice_networks": [f"{SERVER}/32"]},
        )
        with entered(lab.ns("srv")):
            try:
                process.start(tel)
                yield WebRtcRig(tel, folder, tone)
            finally:
                process.stop(tel)
                logs = in_root(tel.root, instance_dirs(tel)["log_dir"])
                shutil.copytree(logs, tel.state_path("asterisk-logs"), dirs_exist_ok=True)
                for inner in instance_dirs(tel).values():
                    shutil.rmtree(in_root(tel.root, inner), ignore_errors=True)


class Citizen(BaresipAgent):
    """A citizen's phone: baresip calling `number` on the trunk (127.0.0.1 is the carrier), sending a 1 kHz
    tone and dumping what it hears (sndfile) to WAV."""

    def __init__(self, tel: TelephonySettings, folder: Path, source: Path, number: str) -> None:
        super().__init__(tel, CALLER, folder, source)
        self.number = number

    def _write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "accounts").write_text(
            f"<sip:{CALLER}@127.0.0.1:{self.tel.sip_port}>;regint=0;audio_codecs=PCMA,PCMU\n", encoding="utf-8")
        lines = ["poll_method epoll", f"sip_listen 127.0.0.1:{free_port()}", "net_interface 127.0.0.1",
                 "rtp_ports 40000-40999", f"module_path {BARESIP_MODULES}", f"audio_source aufile,{self.source}",
                 "audio_player aubridge,nil", "audio_alert aubridge,nil", f"snd_path {self.folder}",
                 "sip_trans_def udp", f"cons_listen 127.0.0.1:{free_port()}",
                 *[f"module {m}.so" for m in ("g711", "aufile", "aubridge", "sndfile", "cons")],
                 "module_app account.so", "module_app menu.so"]
        (self.folder / "config").write_text("\n".join(lines) + "\n", encoding="utf-8")

    async def start(self) -> None:
        self._write_config()
        log = open(self.folder / "baresip.log", "wb")  # noqa: SIM115 (child keeps it)
        self.process = _started(await asyncio.create_subprocess_exec(
            "baresip", "-f", str(self.folder), "-e", f"/dial sip:{self.number}@127.0.0.1:{self.tel.sip_port}",
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT), "baresip citizen")
        log.close()


NO_PROCESSING = "localStorage.setItem('hotline.phone.processing', 'off');"  # Chrome's AEC/NS eat a test tone

REMOTE_AUDIO = """async () => {
  const stream = window.consolePhone.remoteStream();
  const ctx = new AudioContext(); await ctx.resume();
  const analyser = ctx.createAnalyser(); analyser.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(analyser);
  await new Promise((r) => setTimeout(r, 1500));
  const f = new Float32Array(analyser.frequencyBinCount); analyser.getFloatFrequencyData(f);
  let best = 1; for (let i = 2; i < f.length; i++) if (f[i] > f[best]) best = i;
  const t = new Float32Array(analyser.fftSize); analyser.getFloatTimeDomainData(t);
  const level = Math.sqrt(t.reduce((s, x) => s + x * x, 0) / t.length);
  ctx.close();
  return { peakHz: best * ctx.sampleRate / analyser.fftSize, rms: level };
}"""

TRY_REGISTER = """([url, uri, user, password]) => new Promise((resolve) => {
  const ua = new JsSIP.UA({ sockets: [new JsSIP.WebSocketInterface(url)], uri, authorization_user: user,
                            password, register: true, session_timers: false });
  const done = (what) => { try { ua.stop(); } catch (e) {} resolve(what); };
  ua.on("registered", () => done("registered"));
  ua.on("registrationFailed", (e) => done(e.cause));
  setTimeout(() => done("timeout"), 10000);
  ua.start();
})"""


async def endpoint_online(app: Any, endpoint: str) -> bool:
    from web.keys import RUNNING

    rt = app[RUNNING].calls
    return (await rt.client.endpoint_state("PJSIP", endpoint)).lower() == "online"


async def test_the_console_phone_answers_a_citizen_and_audio_flows_both_ways(webrtc_rig: WebRtcRig,
                                                                           tmp_path: Path) -> None:
    tel = webrtc_rig.tel
    caller = Citizen(tel, tmp_path / "citizen", make_tone(tmp_path), "12322")  # the queue, no IVR in front
    async with running_console(tmp_path, telephony=tel, browser_args=webrtc_rig.browser_args(),
                               init_script=NO_PROCESSING) as console:
        page = console.page
        await page.wait_for_selector("#webrtc-pill[data-reg='registered']", timeout=20_000)
        await wait_for(lambda: endpoint_online(console.app, webrtc_endpoint("8001")), 10)
        await page.wait_for_selector("#reg-pill[data-reg='online']", timeout=15_000)
        contacts = process.asterisk_cli(tel, "pjsip show contacts")
        assert "8001-web/sip:" in contacts and f"@{SERVER}:" in contacts, contacts  # the page's WebSocket
        await page.click("#btn-ready")
        await page.wait_for_selector("#state-pill[data-state='ready']")
        try:
            await caller.start()
            # The call is offered to the browser phone: it rings in the page (the ring tone plays) ...
            await page.wait_for_selector("#btn-answer:not([disabled])", timeout=30_000)
            await until_async(page, "!document.getElementById('phone-ring').paused")
            await page.wait_for_selector("#screen-pop:not([hidden])", timeout=10_000)
            assert await page.inner_text("#pop-number") == CALLER
            # ... and nothing answers it but the console's button.
            await asyncio.sleep(1.5)
            assert await page.get_attribute("#state-pill", "data-state") == "ringing"
            await page.click("#btn-answer")
            await page.wait_for_selector("#state-pill[data-state='on_call']", timeout=15_000)
            await until_async(page, "document.getElementById('phone-ring').paused")
            await until_async(page, "window.consolePhone.inCall")
            await asyncio.sleep(3)
            stats = await page.evaluate("window.consolePhone.stats()")
            heard_in_browser = await page.evaluate(REMOTE_AUDIO)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console-webrtc-call.png"))
            channels = process.asterisk_cli(tel, "core show channels concise")
            # DTMF from the console's keypad goes out as RFC 4733 on the call (the bridge passes it on).
            await page.fill("#dtmf-keys", "1")
            await page.click("#btn-dtmf")
            await page.click("#btn-mute")
            await until_async(page, "window.consolePhone.muted")
            await page.click("#btn-mute")
            await until_async(page, "!window.consolePhone.muted")
            await asyncio.sleep(2)
            await page.click("#btn-hangup")
            await page.wait_for_selector("#state-pill[data-state='wrap_up'], #state-pill[data-state='ready']",
                                         timeout=15_000)
            await until_async(page, "!window.consolePhone.session")
        finally:
            await caller.stop()
    print(f"browser phone: {stats} heard {heard_in_browser}")  # the figures, with pytest -s
    assert stats["dtls"] == "connected", stats
    assert stats["srtp"] and "AES" in stats["srtp"].upper(), stats
    assert stats["local"].startswith(f"{SERVER}:") and stats["remote"].startswith(f"{SERVER}:"), stats
    # Caller -> browser: the caller's 1 kHz tone at 0.3 arrives decoded in the page.
    assert stats["inLevel"] and stats["inLevel"] > 0.1, (stats, channels)
    assert abs(heard_in_browser["peakHz"] - 1000) < 30 and heard_in_browser["rms"] > 0.05, heard_in_browser
    # Browser -> caller: the caller heard the fake microphone's 440 Hz tone.
    heard = caller.heard()
    assert heard, caller.log_text()[-2000:]
    got, rate = samples(heard[0])
    tone = [w for w in windows(got, rate) if tone_ratio(w, rate, 440) > 0.5]
    assert len(tone) >= 4, f"{len(tone)} windows of 440 Hz; {caller.log_text()[-1500:]}"
    print(f"caller heard 440 Hz in {len(tone)} half-second windows, RMS max {max(rms(w) for w in tone):.0f}")
    assert max(rms(w) for w in tone) > 1000, "the caller heard the agent's microphone"


async def test_a_wrong_password_is_refused_and_rotation_reaches_the_running_asterisk(webrtc_rig: WebRtcRig,
                                                                                    tmp_path: Path) -> None:
    tel = webrtc_rig.tel
    pid = process.pid_file(tel).read_text().strip()
    url, uri = tel.webrtc.ws_url, f"sip:{webrtc_endpoint('8001')}@{SERVER}"  # type: ignore[union-attr]
    async with running_console(tmp_path, telephony=tel, browser_args=webrtc_rig.browser_args()) as console:
        page = console.page
        await page.wait_for_selector("#webrtc-pill[data-reg='registered']", timeout=20_000)
        account = await page.evaluate("fetch('/api/v1/console/webrtc').then((r) => r.json())")
        assert account["uri"] == uri and account["authorization_user"] == "8001"
        old = account["password"]
        assert old == agent_passwords(tel)["8001"]
        assert await page.evaluate(TRY_REGISTER, [url, uri, "8001", "not-the-password"]) == "Authentication Error"
        # The console with the browser phone and its settings open passes axe-core (tests/e2e/test_accessibility.py
        # checks the console without telephony).
        await page.click("#phone-settings summary")
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
        found = await page.evaluate(RUN_AXE, [TAGS, None])
        assert not found, found
        # Another agent's extension is not handed out: the account is the signed-in extension's only.
        other = await page.evaluate("fetch('/api/v1/console/webrtc?extension=8002').then((r) => r.json())")
        assert other["uri"] == uri

        # The administrator rotates 8001's password on /admin/phones (audited; res_pjsip reloaded).
        admin = await page.context.browser.new_context(locale="zh-CN")
        admin_page = await admin.new_page()
        await admin_page.goto(f"{console.url}/login")
        await admin_page.fill("input[name=username]", "admin")
        await admin_page.fill("input[name=password]", PASSWORD)
        await admin_page.click("button[type=submit]")
        await admin_page.goto(f"{console.url}/admin/phones")
        await admin_page.click("form[action='/admin/phones/8001/rotate'] button")
        await admin_page.wait_for_selector("text=已轮换分机 8001 的密码")
        await admin.close()
        new = agent_passwords(tel)["8001"]
        assert new != old
        assert process.pid_file(tel).read_text().strip() == pid, "Asterisk was reloaded, not restarted"
        assert await page.evaluate(TRY_REGISTER, [url, uri, "8001", old]) == "Authentication Error"
        assert await page.evaluate(TRY_REGISTER, [url, uri, "8001", new]) == "registered"

        # The console's phone takes the new password at its next sign-in.
        await page.click("#btn-logout")
        await page.wait_for_selector("#btn-login:not([hidden])")
        await until_async(page, "window.consolePhone.state === 'off'")
        signed_out = await page.evaluate("fetch('/api/v1/console/webrtc').then((r) => r.status)")
        assert signed_out == 409, "no SIP account for a user who holds no extension"
        await page.click("#btn-login")
        await page.wait_for_selector("#webrtc-pill[data-reg='registered']", timeout=20_000)
        assert await page.evaluate("window.consolePhone.account.password") == new
        await wait_for(lambda: endpoint_online(console.app, webrtc_endpoint("8001")), 10)


async def test_the_browser_phone_registers_again_after_a_network_drop(webrtc_rig: WebRtcRig, tmp_path: Path) -> None:
    """The page's WebSocket to Asterisk is cut (its TCP connection aborted, as a network drop or a restarted
    switch does): the pill says so, JsSIP reconnects and registers again by itself, and Asterisk has the
    browser phone's contact again."""
    tel = webrtc_rig.tel
    async with running_console(tmp_path, telephony=tel, browser_args=webrtc_rig.browser_args()) as console:
        page = console.page
        await page.wait_for_selector("#webrtc-pill[data-reg='registered']", timeout=20_000)
        await page.evaluate("""() => { window.__regs = [];
            new MutationObserver(() => window.__regs.push(document.getElementById('webrtc-pill').dataset.reg))
              .observe(document.getElementById('webrtc-pill'), { attributes: true }); }""")
        # Both ends of the page's WebSocket (the page's and Asterisk's), inside the test's own namespace.
        cut = subprocess.run(["ss", "-K", "-t", f"( dport = :{WSS_PORT} or sport = :{WSS_PORT} )"],
                             capture_output=True, text=True, check=False)
        assert cut.returncode == 0 and f"{SERVER}:{WSS_PORT}" in cut.stdout, cut.stdout + cut.stderr
        try:
            await until_async(page, "window.__regs.includes('disconnected')", timeout=10_000)
        except AssertionError as exc:
            seen = await page.evaluate("[window.__regs, window.consolePhone.state]")
            raise AssertionError(f"{exc}; states {seen}; cut {cut.stdout}") from None
        await until_async(page, "window.__regs.at(-1) === 'registered'", timeout=20_000)
        await wait_for(lambda: endpoint_online(console.app, webrtc_endpoint("8001")), 10)
        assert "8001-web/sip:" in process.asterisk_cli(tel, "pjsip show contacts")
        # The agent switches to the desk phone: the browser phone unregisters at once (calls ring 8001 then),
        # and back.
        await page.click("#phone-settings summary")
        await page.check("#phone-mode-desk")
        await until_async(page, "window.consolePhone.state === 'off'")
        await wait_for(lambda: _offline(console.app, webrtc_endpoint("8001")), 10)
        await page.check("#phone-mode-browser")
        await page.wait_for_selector("#webrtc-pill[data-reg='registered']", timeout=20_000)


async def _offline(app: Any, endpoint: str) -> bool:
    return not await endpoint_online(app, endpoint)
