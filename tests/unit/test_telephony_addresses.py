"""Telephony addresses as validated settings: transports, NAT picture, ACL, and what `config check` warns."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from callcenter.settings import TelephonySettings


def tls(**extra: Any) -> dict[str, Any]:
    return {"name": "lan-tls", "protocol": "tls", "bind": "10.20.0.5", "port": 5061,
            "cert_file": "/etc/site/asterisk.crt", "key_file": "/etc/site/asterisk.key", **extra}


def test_loopback_is_the_default_and_warns_about_nothing() -> None:
    tel = TelephonySettings()
    assert [(t.name, t.protocol, t.bind, t.port) for t in tel.all_transports] == [
        ("transport-udp", "udp", "127.0.0.1", 5060)]
    assert tel.exposure_warnings() == [] and tel.sip_acl == () and not tel.agents_need_srtp
    assert tel.ari_url == "http://127.0.0.1:8088/ari"


def test_ari_leaves_loopback_only_with_tls() -> None:
    with pytest.raises(ValidationError, match="loopback only"):
        TelephonySettings(host="10.20.0.5")
    moved = TelephonySettings(host="10.20.0.5", http_tls={"port": 8089, "cert_file": "c", "key_file": "k"})
    assert moved.ari_url == "https://10.20.0.5:8089/ari"
    assert any("ARI/HTTP" in w for w in moved.exposure_warnings())


@pytest.mark.parametrize(("transport", "message"), [
    ({"name": "lan", "protocol": "tls", "bind": "10.20.0.5", "port": 5061}, "cert_file and key_file"),
    ({"name": "lan", "protocol": "udp", "bind": "10.20.0.5", "port": 5062, "cert_file": "c"}, "only for protocol tls"),
    ({"name": "lan", "protocol": "udp", "bind": "0.0.0.0", "port": 5062}, "media_address"),
    ({"name": "lan", "protocol": "udp", "bind": "lan.example", "port": 5062}, "not an IP address"),
    ({"name": "lan", "protocol": "udp", "bind": "10.20.0.5", "port": 5062, "external_media_address": "203.0.113.7"},
     "local_net"),
    ({"name": "lan", "protocol": "udp", "bind": "10.20.0.5", "port": 5062, "local_net": ["10.20.0.0/33"]},
     "not an IP network"),
])
def test_bad_transports_are_refused_at_start_up(transport: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TelephonySettings(transports=[transport])


def test_references_and_ranges_are_checked() -> None:
    with pytest.raises(ValidationError, match="no transport named"):
        TelephonySettings(agent_transport="lan-tls")
    with pytest.raises(ValidationError, match="rtp_start"):
        TelephonySettings(rtp_start=20000, rtp_end=19000)
    with pytest.raises(ValidationError, match="same address and port"):
        TelephonySettings(transports=[tls(), tls(name="lan-two")])
    with pytest.raises(ValidationError, match="not an IP network"):
        TelephonySettings(agent_acl=["10.20.1.0/24", "office"])


def test_tls_agents_need_srtp_and_an_acl_is_recommended() -> None:
    tel = TelephonySettings(transports=[tls()], agent_transport="lan-tls")
    assert tel.agents_need_srtp
    assert [w for w in tel.exposure_warnings() if "agent_acl" in w], "no subnet given for the agents"
    with_acl = TelephonySettings(transports=[tls()], agent_transport="lan-tls", agent_acl=["10.20.1.0/24"])
    assert with_acl.exposure_warnings() == []
    assert with_acl.sip_acl == ("127.0.0.0/8", "::1/128", "10.20.1.0/24", "127.0.0.1/32")


def test_plain_udp_beyond_loopback_without_acl_warns() -> None:
    carrier = {"name": "wan", "protocol": "udp", "bind": "0.0.0.0", "port": 5060, "media_address": "192.0.2.20",
               "external_signaling_address": "203.0.113.7", "external_media_address": "203.0.113.7",
               "local_net": ["192.0.2.0/24"]}
    tel = TelephonySettings(transports=[carrier], trunk_transport="wan", trunk_addresses=["198.51.100.10"])
    warning, = tel.exposure_warnings()
    assert "wan" in warning and "0.0.0.0:5060" in warning and "TLS" in warning
    closed = TelephonySettings(transports=[carrier], trunk_transport="wan", agent_acl=["10.20.1.0/24"],
                               trunk_addresses=["198.51.100.10", "198.51.100.16/29"])
    assert closed.exposure_warnings() == []
    assert closed.sip_acl[-2:] == ("198.51.100.10/32", "198.51.100.16/29")


def test_blocklist_is_compared_in_the_callers_form() -> None:
    assert TelephonySettings(blocklist=("+8613900000666",)).blocklist == ("13900000666",)


def test_repeated_failures_block_an_address_for_a_while() -> None:
    from datetime import UTC, datetime, timedelta

    from callcenter.domain.sip_blocking import Blocker, parse_security_event

    line = ('[2026-12-01 18:48:42] SECURITY[11228] res_security_log.c: SecurityEvent="ChallengeResponseFailed",'
            'EventTV="2026-12-01T18:48:42.117+0000",Severity="Error",Service="PJSIP",EventVersion="1",'
            'AccountID="8002",SessionID="0b28",LocalAddress="IPV4/TLS/10.217.1.1/5061",'
            'RemoteAddress="IPV4/TLS/10.217.1.10/58510",Challenge="1/2",Response="x",ExpectedResponse=""')
    assert parse_security_event(line) == ("ChallengeResponseFailed", "10.217.1.10")
    assert parse_security_event(line.replace("ChallengeResponseFailed", "ChallengeSent")) is None
    assert parse_security_event("NOTICE something else") is None
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    blocker = Blocker(3, timedelta(seconds=60), timedelta(seconds=600))
    assert not blocker.failed("10.0.0.9", t0) and not blocker.failed("10.0.0.9", t0 + timedelta(seconds=61))
    assert not blocker.failed("10.0.0.9", t0 + timedelta(seconds=62)), "the first failure fell out of the window"
    assert blocker.failed("10.0.0.9", t0 + timedelta(seconds=63))
    assert not blocker.failed("10.0.0.9", t0 + timedelta(seconds=64)), "blocked once, not again"
    assert not any(blocker.failed("127.0.0.1", t0) for _ in range(5)), "loopback is never blocked"
    assert blocker.expired(t0 + timedelta(seconds=600)) == []
    assert blocker.expired(t0 + timedelta(seconds=663)) == ["10.0.0.9"] and blocker.blocked == {}
    assert not Blocker(0, timedelta(seconds=1), timedelta(seconds=1)).failed("10.0.0.9", t0)
