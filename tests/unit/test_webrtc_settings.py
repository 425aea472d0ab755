"""The browser phone's settings and what the config writer renders from them (no Asterisk needed)."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from pydantic import ValidationError

from callcenter.provisioning import webrtc_account
from callcenter.rig import confgen
from callcenter.settings import TelephonySettings, webrtc_endpoint
from web.security import CSP, csp_for

WEBRTC = {"bind": "10.20.0.5", "cert_file": "/etc/site/wss.crt", "key_file": "/etc/site/wss.key"}


def render(tel: TelephonySettings, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(confgen, "module_dir", lambda root: "/usr/lib/x86_64-linux-gnu/asterisk/modules")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(confgen.TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    return env.get_template(f"{name}.conf.j2").render(confgen.context(tel))


def test_off_by_default_and_nothing_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tel = TelephonySettings(state_dir=str(tmp_path))
    assert tel.webrtc is None and tel.ice_networks == ()
    assert "tlsenable" not in render(tel, "http", monkeypatch)
    assert "transport-wss" not in render(tel, "pjsip", monkeypatch)
    assert "icesupport" not in render(tel, "rtp", monkeypatch)
    assert "codec_opus_open_source.so" not in render(tel, "modules", monkeypatch)
    assert webrtc_account(tel, "8001") is None


def test_wss_dtls_and_lan_only_ice_are_rendered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tel = TelephonySettings(state_dir=str(tmp_path), agent_extensions=("8001",), agent_acl=["10.20.1.0/24"],
                            webrtc={**WEBRTC, "host_candidates": ["10.20.0.5 => 10.20.0.5"]})
    http = render(tel, "http", monkeypatch)
    assert "tlsenable = yes" in http and "tlsbindaddr = 10.20.0.5:8089" in http
    assert "bindaddr = 127.0.0.1" in http, "plain HTTP (ARI) stays on loopback"
    pjsip = render(tel, "pjsip", monkeypatch)
    section = pjsip[pjsip.index("[8001-web]"):]
    assert "webrtc = yes" in section and "auth = 8001-auth" in section and "aors = 8001-web" in section
    assert "protocol = wss" in pjsip
    rtp = render(tel, "rtp", monkeypatch)
    assert "ice_deny = 0.0.0.0/0" in rtp and "ice_permit = 10.20.1.0/24" in rtp, "agents' subnets by default"
    assert "[ice_host_candidates]\n10.20.0.5 => 10.20.0.5" in rtp
    modules = render(tel, "modules", monkeypatch)
    assert "load => res_pjsip_transport_websocket.so" in modules and "load => codec_opus_open_source.so" in modules


def test_account_url_and_csp(tmp_path: Path) -> None:
    tel = TelephonySettings(state_dir=str(tmp_path), agent_extensions=("8001",),
                            webrtc={**WEBRTC, "public_host": "phone.county.example", "ice_networks": ["10.20.0.0/16"]})
    account = webrtc_account(tel, "8001")
    assert account is not None
    assert account.ws_url == "wss://phone.county.example:8089/ws"
    assert account.uri == f"sip:{webrtc_endpoint('8001')}@phone.county.example"
    assert account.authorization_user == "8001" and account.password == confgen.agent_passwords(tel)["8001"]
    assert account.ice_networks == ("10.20.0.0/16",)
    assert webrtc_account(tel, "9999") is None
    assert "connect-src 'self' wss://phone.county.example:8089;" in csp_for("wss://phone.county.example:8089")
    assert csp_for(None) == CSP


def test_invalid_combinations_are_refused() -> None:
    with pytest.raises(ValidationError, match="one TLS listener"):
        TelephonySettings(webrtc=WEBRTC, http_tls={"cert_file": "c", "key_file": "k"})
    with pytest.raises(ValidationError, match="wildcard"):
        TelephonySettings(webrtc={**WEBRTC, "bind": "0.0.0.0"})
    with pytest.raises(ValidationError, match="LOCAL => ADVERTISED"):
        TelephonySettings(webrtc={**WEBRTC, "host_candidates": ["10.0.0.1"]})
    exposed = TelephonySettings(webrtc=WEBRTC)
    assert any("WSS" in w for w in exposed.exposure_warnings())
