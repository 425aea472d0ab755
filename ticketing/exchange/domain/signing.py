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


def photo_link_signature(secret: str, system: str, photo_id: str, expires: int) -> str:
    """The signature of a photo link we hand the platform (办结 photos): HMAC-SHA256 over
    "<system>:<photo id>:<expires>" with the link's secret; the link works until `expires` (Unix seconds)."""
    return hmac.new(secret.encode(), f"{system}:{photo_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def photo_link_problem(
    secret: str, system: str, photo_id: str, expires: str | None, signature: str | None, now_epoch: float
) -> str | None:
    """None when a photo link is genuine and unexpired, else why not (Chinese)."""
    if not secret:
        return "对接密钥未配置，照片链接不可用"
    if not expires or not signature or not expires.isdigit():
        return "照片链接缺少签名或有效期"
    if now_epoch > int(expires):
        return "照片链接已过期"
    good = photo_link_signature(secret, system, photo_id, int(expires))
    if not hmac.compare_digest(good, signature.strip().lower()):
        return "照片链接签名不正确"
    return None
