"""What an agent's softphone needs: the SIP account of an extension as settings and as a QR code (segno).

The QR code carries the account as one SIP URI with the credentials and transport
(`sip:8001:PASSWORD@10.20.0.5:5061;transport=tls`), which softphones with a QR import read; the page also
lists the same fields for typing them in. Segno (PyPI) renders the QR code as inline SVG: no image files,
no JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import segno

from callcenter.rig.confgen import agent_passwords
from callcenter.settings import TelephonySettings, webrtc_endpoint


@dataclass(frozen=True)
class SipAccount:
    extension: str
    username: str
    password: str
    server: str  # the address phones use (the NAT's public one when configured)
    port: int
    transport: str  # udp | tcp | tls
    srtp: bool

    @property
    def uri(self) -> str:
        return (
            f"sip:{quote(self.username)}:{quote(self.password, safe='')}@{self.server}:{self.port}"
            f";transport={self.transport}"
        )

    def qr_svg(self) -> str:
        return segno.make(self.uri, error="m").svg_inline(scale=4, title=f"分机 {self.extension} 的 SIP 账号")


def sip_account(tel: TelephonySettings, extension: str) -> SipAccount | None:
    """The account of `extension`, or None when it is not an agent extension."""
    if extension not in tel.agent_extensions:
        return None
    transport = tel.transport(tel.agent_transport)
    server = transport.external_signaling_address or transport.bind
    return SipAccount(
        extension,
        extension,
        agent_passwords(tel)[extension],
        server,
        transport.port,
        transport.protocol,
        tel.agents_need_srtp,
    )


@dataclass(frozen=True)
class WebRtcAccount:
    """What the console's browser phone (JsSIP) registers with: endpoint `EXT-web` over WSS, the extension's
    digest account (the password is read at every sign-in, so a rotated one is picked up then)."""

    extension: str
    ws_url: str
    uri: str
    authorization_user: str
    password: str
    display_name: str
    ice_networks: tuple[str, ...]


def webrtc_account(tel: TelephonySettings, extension: str) -> WebRtcAccount | None:
    """The browser phone's account of `extension`, or None (no such extension, or no browser phone)."""
    if tel.webrtc is None or extension not in tel.agent_extensions:
        return None
    host = tel.webrtc.host
    domain = f"[{host}]" if ":" in host else host
    return WebRtcAccount(
        extension,
        tel.webrtc.ws_url,
        f"sip:{webrtc_endpoint(extension)}@{domain}",
        extension,
        agent_passwords(tel)[extension],
        f"坐席{extension}",
        tel.ice_networks,
    )
