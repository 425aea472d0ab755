"""Signatures: webhooks (HMAC-SHA256 with timestamp) and SMS gateways (HMAC-SHA256 or MD5)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ticketing.notify.domain.signing import sms_signature, verify_webhook, webhook_signature


def test_webhook_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert webhook_signature("k", "1700000000", b"{}") == f"sha256={expected}"


def test_verification_checks_signature_and_freshness() -> None:
    header = webhook_signature("k", "1700000000", b"body")
    assert verify_webhook("k", "1700000000", b"body", header, now_epoch=1700000100)
    assert not verify_webhook("k", "1700000000", b"body!", header, now_epoch=1700000100)
    assert not verify_webhook("other", "1700000000", b"body", header, now_epoch=1700000100)
    assert not verify_webhook("k", "1700000000", b"body", header, now_epoch=1700009999)  # replayed late
    assert not verify_webhook("k", "soon", b"body", header, now_epoch=1700000000)


def test_sms_signatures_as_providers_compute_them() -> None:
    assert sms_signature("md5", "secret", "abc") == hashlib.md5(b"abcsecret").hexdigest()
    assert sms_signature("hmac-sha256", "secret", "abc", uppercase=True) == hmac.new(
        b"secret", b"abc", hashlib.sha256).hexdigest().upper()
    assert sms_signature("none", "secret", "abc") == ""
    with pytest.raises(ValueError, match="algorithm"):
        sms_signature("sha1", "s", "t")
