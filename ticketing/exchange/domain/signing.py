"""Signatures of exchange messages: HMAC over "<timestamp>.<body>" with the link's shared secret.

`hmac_sha256` is the default; `hmac_sm3` is the same construction with the national hash (OpenSSL 3 has SM3,
so `hmac.new(key, msg, "sm3")` works without an extra package). The timestamp is Unix seconds and must lie
within the replay window; a replay inside the window is caught by the message's idempotency key instead.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

Scheme = Literal["hmac_sha256", "hmac_sm3", "none"]


def sign(scheme: Scheme, secret: str, timestamp: str, body: bytes) -> str:
    """Lower-case hex HMAC of timestamp + "." + body ("" for scheme none)."""
    if scheme == "none":
        return ""
    digest = hashlib.sha256 if scheme == "hmac_sha256" else "sm3"
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, digest).hexdigest()


def check(
    scheme: Scheme,
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    now_epoch: float,
    window_s: float,
) -> str | None:
    """None when the signature is good and fresh, else the reason (Chinese, for the error answer and log)."""
    if scheme == "none":
        return None
    if not timestamp or not signature:
        return "缺少签名或时间戳"
    try:
        stamp = float(timestamp)
    except ValueError:
        return "时间戳格式不正确"
    if abs(now_epoch - stamp) > window_s:
        return f"时间戳超出允许的 {int(window_s)} 秒窗口（可能是重放）"
    if not hmac.compare_digest(sign(scheme, secret, timestamp, body), signature.strip().lower()):
        return "签名不正确"
    return None
