"""Signatures: webhooks to departments (HMAC-SHA256 over timestamp and body) and SMS gateways (HMAC or MD5)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hotline-Signature"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body); receivers recompute and compare."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_webhook(secret: str, timestamp: str, body: bytes, header: str, now_epoch: float,
                   tolerance_s: float = 300) -> bool:
    """Check a signature header and that the timestamp is recent (replay protection), in constant time."""
    try:
        fresh = abs(now_epoch - float(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(webhook_signature(secret, timestamp, body), header)


def sms_signature(algorithm: str, secret: str, text: str, *, uppercase: bool = False) -> str:
    """Sign the gateway's canonical string: hmac-sha256 keyed by the secret, or md5(text + secret)."""
    if algorithm == "none":
        return ""
    if algorithm == "hmac-sha256":
        value = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    elif algorithm == "md5":
        value = hashlib.md5((text + secret).encode(), usedforsecurity=False).hexdigest()
    else:
        raise ValueError(f"unknown signature algorithm {algorithm!r}")
    return value.upper() if uppercase else value
