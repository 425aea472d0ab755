"""Render Asterisk's configuration from TelephonySettings into the chroot, with generated secrets.

Secrets (the ARI password, the agents' SIP digests) are generated once per instance and kept under the
state folder with mode 0600; they are never defaults and never in the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import jinja2

from callcenter.rig.build import RigError, module_dir
from callcenter.settings import PROJECT_ROOT, TelephonySettings, webrtc_endpoint
from core.phone import dial_forms

TEMPLATES = PROJECT_ROOT / "config" / "asterisk"
PROMPTS = PROJECT_ROOT / "ivr" / "prompts"
SOUNDS_IN_ROOT = "usr/share/asterisk/sounds/hotline12319"
PLAIN_IVR_NUMBER = "12320"  # benchmark baseline: Answer + Playback in plain dialplan
PLAIN_QUEUE_NUMBER = "12321"  # benchmark baseline: app_queue with the same agents
DIRECT_QUEUE_NUMBER = "12322"  # benchmark: our ACD without the IVR in front

MODULES = (
    # core plumbing
    "res_timing_timerfd.so", "pbx_config.so", "res_sorcery_config.so", "res_sorcery_memory.so",
    "res_sorcery_astdb.so", "func_callerid.so", "func_channel.so", "func_strings.so", "func_logic.so",
    # SIP
    "res_pjproject.so", "res_pjsip.so", "res_pjsip_session.so", "chan_pjsip.so", "res_rtp_asterisk.so",
    "res_pjsip_sdp_rtp.so", "res_pjsip_authenticator_digest.so", "res_pjsip_endpoint_identifier_ip.so",
    "res_pjsip_endpoint_identifier_user.so", "res_pjsip_registrar.so", "res_pjsip_caller_id.so",
    "res_pjsip_dtmf_info.so", "res_pjsip_nat.so", "res_pjsip_acl.so", "res_pjsip_messaging.so",
    "res_pjsip_rfc3326.so", "res_pjsip_header_funcs.so", "res_pjsip_logger.so", "res_pjsip_pubsub.so",
    "res_pjsip_refer.so", "res_pjsip_outbound_authenticator_digest.so", "res_pjsip_outbound_registration.so",
    "res_srtp.so",  # SDES-SRTP of agents' phones on TLS
    "res_security_log.so",  # security events to security.log (callcenter/sip_guard.py)
    # media
    "codec_ulaw.so", "codec_alaw.so", "codec_a_mu.so", "codec_resample.so", "format_wav.so",
    "format_pcm.so", "format_sln.so", "format_gsm.so", "codec_gsm.so", "codec_g722.so",
    # bridging, recording, hold
    "bridge_simple.so", "bridge_softmix.so", "bridge_native_rtp.so", "bridge_holding.so",
    "chan_bridge_media.so", "res_rtp_multicast.so", "chan_rtp.so", "res_musiconhold.so",
    # dialplan applications (fallback and benchmark baselines)
    "app_playback.so", "app_stasis.so", "app_queue.so", "app_dial.so", "app_read.so",
    # ARI: every res_ari_* needs res_websocket_client in Asterisk 22
    "res_http_websocket.so", "res_websocket_client.so", "res_stasis.so", "res_stasis_answer.so",
    "res_stasis_playback.so", "res_stasis_recording.so", "res_stasis_snoop.so",
    "res_stasis_device_state.so", "res_ari.so", "res_ari_model.so", "res_ari_applications.so",
    "res_ari_asterisk.so", "res_ari_bridges.so", "res_ari_channels.so", "res_ari_device_states.so",
    "res_ari_endpoints.so", "res_ari_events.so", "res_ari_playbacks.so", "res_ari_recordings.so",
    "res_ari_sounds.so",
)
# The browser phone (settings.webrtc): WSS transport, Opus (the Debian module's name is codec_opus_open_source).
WEBRTC_MODULES = ("res_pjsip_transport_websocket.so", "res_format_attr_opus.so", "codec_opus_open_source.so")
FILES = ("asterisk", "modules", "http", "ari", "rtp", "logger", "musiconhold", "queues", "pjsip",
         "extensions", "cdr", "cel", "features", "acl", "udptl", "pjproject", "websocket_client")


def _secret(path: Path, make: Callable[[], str]) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def ari_password(tel: TelephonySettings) -> str:
    """The instance's ARI password, generated on first use (mode 0600 under the state folder)."""
    return _secret(tel.state_path("ari-password"), lambda: secrets.token_urlsafe(24))


def agent_passwords(tel: TelephonySettings) -> dict[str, str]:
    """Digest passwords of the agents' SIP endpoints, one per extension, generated on first use."""
    path = tel.state_path("agents.json")
    known: dict[str, str] = json.loads(_secret(path, lambda: "{}"))
    if all(ext in known for ext in tel.agent_extensions):
        return {ext: known[ext] for ext in tel.agent_extensions}
    known.update({e: secrets.token_urlsafe(12) for e in tel.agent_extensions if e not in known})
    path.write_text(json.dumps(known, indent=1) + "\n", encoding="utf-8")
    return {ext: known[ext] for ext in tel.agent_extensions}


def rotate_agent_password(tel: TelephonySettings, ext: str) -> str:
    """A new digest password for `ext` (kept, mode 0600); Asterisk needs its configuration rewritten and
    res_pjsip reloaded to use it (callcenter/rig/process.py `apply_config`)."""
    if ext not in tel.agent_extensions:
        raise RigError(f"no agent extension {ext}")
    path = tel.state_path("agents.json")
    known = {**agent_passwords(tel)}
    known.update(json.loads(path.read_text(encoding="utf-8")))
    known[ext] = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(known, indent=1) + "\n")
    return known[ext]


def instance_dirs(tel: TelephonySettings) -> dict[str, str]:
    """Per-instance folders inside the chroot, as Asterisk sees them."""
    name = tel.instance
    return {
        "conf_dir": tel.conf_dir,
        "lib_dir": f"/var/lib/asterisk/hotline12319/{name}",
        "spool_dir": f"/var/spool/asterisk/hotline12319/{name}",
        "run_dir": f"/run/asterisk/hotline12319/{name}",  # not /var/run: an absolute symlink
        "log_dir": f"/var/log/asterisk/hotline12319/{name}",
    }


def in_root(root: Path, inner: str) -> Path:
    """Host path of a chroot path; refuses paths that leave the root through absolute symlinks."""
    path = root / inner.lstrip("/")
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise RigError(f"{inner} leaves the Asterisk root (through a symlink): {real}")
    return path


def recordings_dir(tel: TelephonySettings) -> Path:
    """Where ARI's stored recordings of this instance appear on the host."""
    return tel.root / instance_dirs(tel)["spool_dir"].lstrip("/") / "recording"


def keys_dir(tel: TelephonySettings) -> str:
    """Where TLS material is copied inside the chroot (the site's files stay where the site keeps them)."""
    return f"{tel.conf_dir}/keys"


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def transports(tel: TelephonySettings) -> list[dict[str, object]]:
    """The SIP transports as the pjsip template renders them (bind as host:port, key paths in the chroot)."""
    out = []
    for item in tel.all_transports:
        row: dict[str, object] = item.model_dump()
        row["hostport"] = _hostport(item.bind, item.port)
        for kind in ("cert_file", "key_file", "ca_file"):
            if row[kind]:
                row[kind] = f"{keys_dir(tel)}/{item.name}.{kind.removesuffix('_file')}.pem"
        out.append(row)
    return out


def did_numbers(tel: TelephonySettings) -> list[str]:
    """Every request-URI user the carrier may send for one of our DIDs (core.phone.dial_forms), except the
    hotline number itself, which has its own entry."""
    forms = [f for did in tel.trunk_dids for f in dial_forms(did, tel.area_code)]
    return [f for f in dict.fromkeys(forms) if f != tel.hotline_number]


def install_keys(tel: TelephonySettings) -> None:
    """Copy each TLS transport's certificate and key into the chroot (mode 0600; folder 0700)."""
    folder = in_root(tel.root, keys_dir(tel))
    files = [(item.name, kind, getattr(item, kind)) for item in tel.transports
             for kind in ("cert_file", "key_file", "ca_file")]
    if tel.webrtc is not None:
        files += [("webrtc", "cert_file", tel.webrtc.cert_file), ("webrtc", "key_file", tel.webrtc.key_file)]
    for name, kind, source in files:
        if not source:
            continue
        if not Path(source).is_file():
            raise RigError(f"transport {name}: {kind} {source} does not exist")
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        target = folder / f"{name}.{kind.removesuffix('_file')}.pem"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Path(source).read_bytes())


def webrtc_keys(tel: TelephonySettings) -> dict[str, str]:
    """Chroot paths of the browser phone's WSS certificate and key (empty without webrtc)."""
    if tel.webrtc is None:
        return {}
    return {"cert_file": f"{keys_dir(tel)}/webrtc.cert.pem", "key_file": f"{keys_dir(tel)}/webrtc.key.pem"}


def blocked_addresses(tel: TelephonySettings) -> list[str]:
    """Addresses currently blocked by the SIP guard (state file `blocked.json`), as ACL networks."""
    path = tel.state_path("blocked.json")
    if not path.is_file():
        return []
    return [f"{a}/{128 if ':' in a else 32}" for a in sorted(json.loads(path.read_text(encoding="utf-8")))]


def write_blocked(tel: TelephonySettings, addresses: list[str]) -> None:
    """Store the blocked addresses and re-render acl.conf only (Asterisk then needs `module reload acl`)."""
    path = tel.state_path("blocked.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sorted(addresses)) + "\n", encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    text = env.get_template("acl.conf.j2").render(blocked=blocked_addresses(tel))
    fd = os.open(in_root(tel.root, tel.conf_dir) / "acl.conf", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def context(tel: TelephonySettings) -> dict[str, object]:
    values: dict[str, object] = tel.model_dump()
    values.update(instance_dirs(tel))
    values.update(
        transports=transports(tel), sip_acl=tel.sip_acl, agents_need_srtp=tel.agents_need_srtp,
        agent_rtp_address=tel.transport(tel.agent_transport).rtp_address,
        trunk_rtp_address=tel.transport(tel.trunk_transport).rtp_address,
        did_numbers=did_numbers(tel), blocked=blocked_addresses(tel),
        webrtc=tel.webrtc, webrtc_keys=webrtc_keys(tel), ice_networks=tel.ice_networks,
        webrtc_endpoints={ext: webrtc_endpoint(ext) for ext in tel.agent_extensions} if tel.webrtc else {},
    )
    values.update(
        module_dir=module_dir(tel.root), modules=MODULES + (WEBRTC_MODULES if tel.webrtc else ()),
        ari_password=ari_password(tel),
        agents=agent_passwords(tel),
        plain_ivr_number=PLAIN_IVR_NUMBER, plain_queue_number=PLAIN_QUEUE_NUMBER,
        direct_queue_number=DIRECT_QUEUE_NUMBER,
    )
    return values


def install_prompts(root: Path, source: Path = PROMPTS) -> int:
    """Copy the IVR's Mandarin prompts (8 kHz WAV) to where Playback finds `hotline12319/NAME`."""
    target = root / SOUNDS_IN_ROOT
    (target / "moh").mkdir(parents=True, exist_ok=True)
    count = 0
    for wav in sorted(source.rglob("*.wav")) if source.is_dir() else []:
        dest = target / wav.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wav, dest)
        count += 1
    return count


def write_config(tel: TelephonySettings) -> Path:
    """Render every template into the chroot; return the host path of the configuration folder."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, autoescape=False,
    )
    values = context(tel)
    for key in ("lib_dir", "spool_dir", "run_dir", "log_dir"):
        in_root(tel.root, str(values[key])).mkdir(parents=True, exist_ok=True)
    recordings_dir(tel).mkdir(parents=True, exist_ok=True)
    conf = in_root(tel.root, tel.conf_dir)
    conf.mkdir(parents=True, exist_ok=True)
    os.chmod(conf, 0o700)
    for name in FILES:
        text = env.get_template(f"{name}.conf.j2").render(values)
        fd = os.open(conf / f"{name}.conf", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    install_keys(tel)
    install_prompts(tel.root)
    return conf
