"""Telephony settings: the Asterisk rig, its SIP transports and addresses, the carrier trunk, the agents.

Pure pydantic (no I/O). The root settings in `config/settings.py` import this section as `telephony`.
Every port is configurable so tests and benchmarks can run their own Asterisk next to a developer's one.

Loopback is the embedded default: one UDP transport on `host:sip_port`, ARI/HTTP on `host:http_port`. A site
adds `transports` (one bind address per transport, its NAT picture and, for TLS, the certificate), points the
agents and the trunk at one of them, and lists the agents' subnets in `agent_acl`. `exposure_warnings()`
says what `hotline config check` warns about: anything bound beyond loopback without TLS and without an ACL.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.phone import normalize_number

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
DEFAULT_TRANSPORT = "transport-udp"


def _address(value: str) -> str:
    """A literal IP address (no host names: Asterisk binds and pjsip maps addresses, not names)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise ValueError(f"not an IP address: {value!r}") from exc


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError as exc:
        raise ValueError(f"not an IP network (address/prefix): {value!r}") from exc


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class SipTransport(BaseModel):
    """One SIP listener of Asterisk: protocol, bind address and port, the NAT picture, TLS material.

    `media_address` is where the RTP of endpoints on this transport is bound (default: the bind address;
    for a wildcard bind, give it). Certificate paths are host paths; they are copied into the chroot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    protocol: Literal["udp", "tcp", "tls"]
    bind: str
    port: int = Field(ge=1, le=65535)
    media_address: str | None = None
    external_signaling_address: str | None = None
    external_media_address: str | None = None
    local_net: tuple[str, ...] = ()
    cert_file: str | None = None
    key_file: str | None = None
    ca_file: str | None = None  # to verify agents' client certificates (optional)

    @field_validator("bind", "media_address", "external_signaling_address", "external_media_address")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("local_net")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_network(n) for n in value)

    @model_validator(mode="after")
    def _consistent(self) -> SipTransport:
        if self.protocol == "tls" and not (self.cert_file and self.key_file):
            raise ValueError(f"transport {self.name}: TLS needs cert_file and key_file")
        if self.protocol != "tls" and (self.cert_file or self.key_file or self.ca_file):
            raise ValueError(f"transport {self.name}: certificates are only for protocol tls")
        if ipaddress.ip_address(self.bind).is_unspecified and self.media_address is None:
            raise ValueError(f"transport {self.name}: a wildcard bind needs media_address (where RTP binds)")
        if (self.external_signaling_address or self.external_media_address) and not self.local_net:
            raise ValueError(f"transport {self.name}: external addresses need local_net (who is inside the NAT)")
        return self

    @property
    def rtp_address(self) -> str:
        return self.media_address or self.bind

    @property
    def exposed(self) -> bool:
        return not is_loopback(self.bind)


class TrunkRegistration(BaseModel):
    """Outbound registration to the carrier with digest credentials (China Telecom/Unicom/Mobile IMS
    trunks). Without it the trunk is an IP-authenticated peer (`trunk_addresses`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    server: str = Field(pattern=r"^[A-Za-z0-9.:\[\]-]+$")  # registrar host:port
    username: str = Field(min_length=1, pattern=r"^[^\s@;]+$")
    password: str = Field(min_length=1)
    domain: str | None = None  # the carrier's SIP domain for From/To (default: the server)
    contact_user: str | None = None  # the user part the carrier sends calls to (default: username)
    expiration_s: int = Field(300, ge=60, le=7200)
    retry_interval_s: int = Field(30, ge=5, le=3600)


class HttpTls(BaseModel):
    """TLS for Asterisk's HTTP server (ARI, and WSS for browser phones) when it leaves loopback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    port: int = Field(8089, ge=1, le=65535)
    cert_file: str
    key_file: str


class WebRtc(BaseModel):
    """The browser phone inside /console (JsSIP): a WebSocket over TLS to Asterisk's HTTP server (http.conf
    `tlsbindaddr`, res_http_websocket + res_pjsip_transport_websocket; URL `wss://HOST:PORT/ws`), DTLS-SRTP
    media, ICE with the LAN's host candidates only (no STUN/TURN; candidates outside `ice_networks` are
    dropped on both ends). Each agent extension EXT gets a second endpoint `EXT-web` (own AOR, same digest
    account as the desk phone); the runtime rings it while it is registered (callcenter/legs.py).

    Asterisk's HTTP server also serves ARI on this TLS port (ARI still needs its password): open it in the
    firewall to the agents' subnets only. Certificate paths are host paths, copied into the chroot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bind: str = "127.0.0.1"
    port: int = Field(8089, ge=1, le=65535)
    public_host: str | None = Field(None, pattern=r"^[A-Za-z0-9.:-]+$")  # what browsers dial (default: bind)
    media_address: str | None = None  # where the browser phones' RTP binds (default: bind, if not a wildcard)
    cert_file: str
    key_file: str
    # Networks the media's ICE candidates may come from (Asterisk's `ice_permit`, the page's candidate
    # filter). Empty: the agents' subnets (agent_acl), else loopback.
    ice_networks: tuple[str, ...] = ()
    # Asterisk's [ice_host_candidates]: "LOCAL => ADVERTISED" (e.g. to advertise 127.0.0.1 in a test).
    host_candidates: tuple[str, ...] = ()
    codecs: tuple[Literal["opus", "ulaw", "alaw", "g722"], ...] = ("opus", "ulaw", "alaw")

    @field_validator("bind", "media_address")
    @classmethod
    def _bind(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @model_validator(mode="after")
    def _media(self) -> WebRtc:
        if ipaddress.ip_address(self.bind).is_unspecified and self.media_address is None:
            raise ValueError("webrtc: a wildcard bind needs media_address (where the browser phones' RTP binds)")
        return self

    @property
    def rtp_address(self) -> str:
        return self.media_address or self.bind

    @field_validator("ice_networks")
    @classmethod
    def _ice(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_network(n) for n in value)

    @field_validator("host_candidates")
    @classmethod
    def _mappings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for item in value:
            local, sep, advertised = item.partition("=>")
            if not sep:
                raise ValueError(f"host_candidates: LOCAL => ADVERTISED expected: {item!r}")
            out.append(f"{_address(local.strip())} => {_address(advertised.strip())}")
        return tuple(out)

    @property
    def host(self) -> str:
        return self.public_host or self.bind

    @property
    def ws_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"wss://{host}:{self.port}/ws"

    @property
    def exposed(self) -> bool:
        return not is_loopback(self.bind)


def webrtc_endpoint(extension: str) -> str:
    """The browser phone's PJSIP endpoint (and AOR) of an agent extension."""
    return f"{extension}-web"


PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TelephonySettings(BaseModel):
    """Where Asterisk lives, how we reach it, and who may call in.

    `instance` names this Asterisk's configuration and run folders inside the shared chroot, so several
    instances (a developer's, a test run's) can use one cached root file system at the same time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    app_name: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]+$")
    instance: str = Field("main", pattern=r"^[A-Za-z0-9_-]+$")
    asterisk_root: str = "/var/cache/hotline12319/asterisk-root"
    state_dir: str = "var/asterisk"  # pid file, generated secrets; relative to the project root
    host: str = "127.0.0.1"
    http_port: int = Field(8088, ge=1, le=65535)
    sip_port: int = Field(5060, ge=1, le=65535)
    rtp_start: int = Field(10000, ge=1024, le=65000)
    rtp_end: int = Field(10999, ge=1024, le=65535)
    ari_user: str = "hotline"
    hotline_number: str = Field("12319", pattern=r"^\d+$")
    trunk_addresses: tuple[str, ...] = ("127.0.0.1",)
    agent_extensions: tuple[str, ...] = tuple(str(n) for n in range(8001, 8011))
    ring_timeout_s: int = Field(15, ge=3, le=120)
    strategy: Literal["longest_idle", "round_robin", "fewest_calls", "ring_all"] = "longest_idle"
    trunk_outbound: str = "127.0.0.1:5070"  # the carrier's SIP proxy (host:port) for outside numbers
    # Addresses beyond loopback (see the module docstring); loopback-only when left at their defaults.
    transports: tuple[SipTransport, ...] = ()
    agent_transport: str = DEFAULT_TRANSPORT
    agent_acl: tuple[str, ...] = ()  # networks agents' phones may use; also the SIP ACL's permit list
    trunk_transport: str = DEFAULT_TRANSPORT
    trunk_registration: TrunkRegistration | None = None
    trunk_dids: tuple[str, ...] = ()  # more numbers the carrier delivers to the hotline (local number, 12345)
    trunk_codecs: tuple[Literal["alaw", "ulaw", "g722"], ...] = ("alaw", "ulaw")
    trunk_qualify_s: int = Field(0, ge=0, le=3600)  # OPTIONS to the carrier every N s (0 = off)
    outbound_caller_id: str | None = Field(None, pattern=r"^\d{3,20}$")  # number shown on callbacks/surveys
    area_code: str = Field("0573", pattern=r"^0\d{2,3}$")  # for local fixed-line numbers without one
    http_tls: HttpTls | None = None
    webrtc: WebRtc | None = None  # the browser phone in /console (off unless configured)
    sip_block_after: int = Field(5, ge=0, le=100)  # failed authentications from one address that block it
    sip_block_window_s: int = Field(60, ge=1, le=86400)  # ... counted inside this window
    sip_block_s: int = Field(900, ge=1, le=604800)  # how long the address stays blocked
    survey_ring_s: int = Field(30, ge=5, le=120)  # how long a callback (回访) rings the citizen
    wrapup_s: int = Field(10, ge=0, le=600)
    blocklist: tuple[str, ...] = ()
    record_calls: bool = True
    # A 10-minute call is ~10 MB of WAV. Below this much free space the call is connected unrecorded and the call
    # row says why, instead of Asterisk reporting a recording it could not write (it does: RecordingFinished).
    recording_min_free_mb: int = Field(50, ge=0)
    benchmark_extensions: bool = False  # plain-dialplan IVR and app_queue numbers for bench/
    start_timeout_s: float = Field(20.0, gt=0)

    @field_validator("agent_acl")
    @classmethod
    def _acl_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_network(n) for n in value)

    @field_validator("trunk_addresses")
    @classmethod
    def _trunk_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("trunk_addresses: at least one carrier address")
        # pjsip's identify `match` takes addresses and networks; a single address stays as written.
        return tuple(n if "/" in n else _address(n) for n in (v if "/" not in v else _network(v) for v in value))

    @field_validator("blocklist")
    @classmethod
    def _blocked_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Compared with callers' numbers, which arrive normalised (core.phone): store the same form.
        return tuple(normalize_number(n) for n in value)

    @field_validator("trunk_dids")
    @classmethod
    def _dids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for did in value:
            if not did.lstrip("+").replace("-", "").isdigit():
                raise ValueError(f"trunk_dids: not a number: {did!r}")
        return value

    @model_validator(mode="after")
    def _loopback_unless_moved(self) -> TelephonySettings:
        # ARI/HTTP stay on loopback; moving them off it is allowed only with TLS (http_tls).
        if not is_loopback(self.host):
            if self.http_tls is None:
                raise ValueError("host: ARI/HTTP listen on loopback only (127.0.0.1 or ::1) unless http_tls is set")
            _address(self.host)
        if self.rtp_start >= self.rtp_end:
            raise ValueError("rtp_start must be below rtp_end")
        names = [t.name for t in self.transports]
        if len(set(names)) != len(names) or DEFAULT_TRANSPORT in names:
            raise ValueError(f"transports: names must be unique and not {DEFAULT_TRANSPORT!r}")
        known = {DEFAULT_TRANSPORT, *names}
        for field in ("agent_transport", "trunk_transport"):
            if getattr(self, field) not in known:
                raise ValueError(f"{field}: no transport named {getattr(self, field)!r}")
        if self.webrtc is not None and self.http_tls is not None:
            raise ValueError("webrtc and http_tls: Asterisk's HTTP server has one TLS listener; configure webrtc only")
        binds = [(self.host, self.sip_port)] + [(t.bind, t.port) for t in self.transports]
        if len(set(binds)) != len(binds):
            raise ValueError("transports: two listeners on the same address and port")
        return self

    def transport(self, name: str) -> SipTransport:
        """A transport by name; the built-in loopback UDP one included."""
        for item in self.transports:
            if item.name == name:
                return item
        return SipTransport(
            name=DEFAULT_TRANSPORT,
            protocol="udp",
            bind=self.host if self.host != "localhost" else "127.0.0.1",
            port=self.sip_port,
        )

    @property
    def all_transports(self) -> tuple[SipTransport, ...]:
        return (self.transport(DEFAULT_TRANSPORT), *self.transports)

    @property
    def agents_need_srtp(self) -> bool:
        """SRTP (SDES) is required of agents' phones on a TLS transport: keys travel inside TLS only."""
        return self.transport(self.agent_transport).protocol == "tls"

    @property
    def sip_acl(self) -> tuple[str, ...]:
        """The source networks the SIP ACL permits (empty = no ACL): loopback, the agents' subnets and the
        carrier's addresses. Only with `agent_acl` set: without it the agents could come from anywhere."""
        if not self.agent_acl:
            return ()
        trunk = [a if "/" in a else f"{a}/32" if ":" not in a else f"{a}/128" for a in self.trunk_addresses]
        return tuple(dict.fromkeys(("127.0.0.0/8", "::1/128", *self.agent_acl, *trunk)))

    @property
    def ice_networks(self) -> tuple[str, ...]:
        """Where the browser phones' ICE candidates may be: the configured networks, the agents' subnets,
        else loopback (the embedded default)."""
        if self.webrtc is None:
            return ()
        return self.webrtc.ice_networks or self.agent_acl or ("127.0.0.0/8",)

    def exposure_warnings(self) -> list[str]:
        """What `hotline config check` warns about (Chinese, for the site's IT staff)."""
        warnings = []
        for item in self.all_transports:
            if item.exposed and item.protocol != "tls" and not self.sip_acl:
                warnings.append(
                    f"SIP 传输 {item.name} 监听 {item.bind}:{item.port}（{item.protocol}），"
                    "既无 TLS 也无访问控制（agent_acl）：任何人都可尝试注册和呼叫"
                )
        agent = self.transport(self.agent_transport)
        if agent.exposed and not self.agent_acl:
            warnings.append(f"坐席话机经 {agent.name}（{agent.bind}）注册，但未设置 agent_acl（坐席网段）")
        if agent.exposed and agent.protocol != "tls":
            warnings.append(f"坐席话机经 {agent.name} 使用 {agent.protocol}：信令和语音未加密，建议 TLS + SRTP")
        if self.trunk_registration is None and any(a in ("0.0.0.0/0", "::/0") for a in self.trunk_addresses):
            warnings.append("trunk_addresses 包含任意地址：任何来源都会被当作运营商中继")
        if self.webrtc is not None and self.webrtc.exposed:
            warnings.append(
                f"浏览器话机 WSS 监听 {self.webrtc.bind}:{self.webrtc.port}：Asterisk 的 ARI 也可经此 TLS 端口访问"
                "（需 ARI 密码），防火墙只应对坐席网段开放"
            )
        if not is_loopback(self.host):
            warnings.append(
                f"ARI/HTTP 已移出本机回环（{self.host}），仅经 TLS 端口 {self.http_tls.port if self.http_tls else '?'}"
            )
        return warnings

    def state_path(self, *parts: str) -> Path:
        base = Path(self.state_dir)
        if not base.is_absolute():
            base = PROJECT_ROOT / base
        return base.joinpath(self.instance, *parts)

    @property
    def root(self) -> Path:
        return Path(self.asterisk_root)

    @property
    def ari_url(self) -> str:
        if self.http_tls is not None and not is_loopback(self.host):
            return f"https://{self.host}:{self.http_tls.port}/ari"
        return f"http://{self.host}:{self.http_port}/ari"

    @property
    def conf_dir(self) -> str:
        """Configuration folder inside the chroot (absolute from the chroot's point of view)."""
        return f"/etc/hotline12319/{self.instance}"
