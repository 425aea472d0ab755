"""The attachment rules (pure): where an attachment may be fetched from, what counts as an image, lifecycle."""

from __future__ import annotations

import pytest

from ticketing.exchange.domain import attachments as rules
from ticketing.exchange.domain.attachments import LIFECYCLE, AttState
from ticketing.exchange.domain.inbound import parse
from ticketing.exchange.links import load_profile

HOSTS = frozenset({"files.12345.example", "10.1.2.3", "127.0.0.1:9000"})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://files.12345.example/a.jpg", None),
        ("http://files.12345.example/a.jpg", rules.REFUSED_SCHEME),
        ("file:///etc/passwd", rules.REFUSED_SCHEME),
        ("ftp://files.12345.example/a.jpg", rules.REFUSED_SCHEME),
        ("javascript:alert(1)", rules.REFUSED_SCHEME),
        ("https://evil.example/a.jpg", rules.REFUSED_HOST),
        ("https://user:pw@files.12345.example/a.jpg", rules.REFUSED_FORM),
        ("https://10.1.2.3/a.jpg", rules.REFUSED_ADDRESS),  # on the list, but private
        ("https://127.0.0.1:9000/a.jpg", rules.REFUSED_ADDRESS),
        ("https://files.12345.example:99999/a.jpg", rules.REFUSED_FORM),
        ("no url", rules.REFUSED_FORM),
    ],
)
def test_where_an_attachment_may_come_from(url: str, reason: str | None) -> None:
    assert rules.refused_source(url, HOSTS, allow_http=False, allow_private=False) == reason


def test_a_site_may_allow_http_and_private_hosts_on_its_list_only() -> None:
    allowed = {"allow_http": True, "allow_private": True}
    assert rules.refused_source("http://127.0.0.1:9000/a.jpg", HOSTS, **allowed) is None
    assert rules.refused_source("http://127.0.0.1:9001/a.jpg", HOSTS, **allowed) == rules.REFUSED_HOST
    assert rules.refused_source("http://10.1.2.3/a.jpg", HOSTS, **allowed) is None


def test_images_are_known_by_their_first_bytes() -> None:
    assert rules.sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF") == "image/jpeg"
    assert rules.sniff(b"\x89PNG\r\n\x1a\n\x00\x00") == "image/png"
    assert rules.sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert rules.sniff(b"%PDF-1.4\n") is None and rules.sniff(b"<html>") is None and rules.sniff(b"") is None


def test_the_lifecycle_ends_stored_failed_or_refused() -> None:
    assert LIFECYCLE.terminal() == {AttState.STORED, AttState.FAILED, AttState.REFUSED}
    assert LIFECYCLE.reachable() == set(AttState)


def test_an_order_with_an_odd_attachment_url_is_still_an_order() -> None:
    raw = {"msgType": "DISPATCH", "msgId": "M1", "workOrderNo": "W1", "content": "路灯不亮",
           "attachments": [{"name": "x", "url": "file:///etc/passwd"}]}
    body = parse(raw, load_profile("generic-12345")).body
    assert [a.url for a in body.attachments] == ["file:///etc/passwd"]  # kept; the fetcher refuses it
