"""Attachments of inbound work orders (pure): where we may fetch them from, what we keep, and their lifecycle.

A 12345 work order names its attachments by URL. We fetch them (ticketing/exchange/attachments.py) — but the
URL is written by another system, and the platform is the one that connects, so it follows the department
webhooks' SSRF rule (ticketing/notify/domain/destinations.py): https only unless the site allows http, the host
must be on the link's allow-list of the platform's file hosts, every address it resolves to must be public
unless the site allows private ones (the tests, on loopback), and no redirect is followed.

What is kept: images only (JPEG, PNG, WebP, decided by the content's magic bytes, never by the name or the
declared type), stored as photos. 12345 platforms also attach recordings and office documents; they stay
links on the order, marked `refused` with the reason, visible on the case.

Lifecycle of one attachment (claimed through core/leases.py like the outbound messages):

    pending --claim--> fetching --stored--> stored
    fetching --retry--> pending            (no answer, timeout, 5xx/408/429, storage full; backoff)
    fetching --give_up--> failed           (tries used up)
    fetching --refused--> refused          (scheme, host, address, redirect, other 4xx, too big, not an image)
    fetching --lease_expired--> fetching   (the fetcher died mid-way)
    pending --refused--> refused           (refused before any try, e.g. a host not on the allow-list)
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from ticketing.notify.domain.destinations import private_host
from ticketing.notify.domain.lifecycle import Lifecycle

REFUSED_SCHEME = "附件地址须为 https://（本平台未允许 http）"
REFUSED_FORM = "附件地址格式不正确"
REFUSED_HOST = "附件地址的主机不在本对接平台的允许列表中"
REFUSED_ADDRESS = "附件地址指向本机、内网或保留地址，已拒绝"
REFUSED_REDIRECT = "附件地址返回重定向，按规定不跟随"
REFUSED_TYPE = "附件不是图片（仅保存 JPEG、PNG、WebP），保留原链接"
REFUSED_TOO_BIG = "附件超过单个大小上限"
REFUSED_TOTAL = "本工单附件总大小超过上限"
REFUSED_COUNT = "本工单附件数量超过上限"


class AttState(StrEnum):
    PENDING = "pending"
    FETCHING = "fetching"
    STORED = "stored"
    FAILED = "failed"
    REFUSED = "refused"


class AttEvent(StrEnum):
    CLAIM = "claim"
    LEASE_EXPIRED = "lease_expired"
    STORED = "stored"
    RETRY = "retry"
    GIVE_UP = "give_up"
    REFUSED = "refused"


S, E = AttState, AttEvent
TRANSITIONS: dict[tuple[AttState, AttEvent], AttState] = {
    (S.PENDING, E.CLAIM): S.FETCHING,
    (S.PENDING, E.REFUSED): S.REFUSED,
    (S.FETCHING, E.LEASE_EXPIRED): S.FETCHING,
    (S.FETCHING, E.STORED): S.STORED,
    (S.FETCHING, E.RETRY): S.PENDING,
    (S.FETCHING, E.GIVE_UP): S.FAILED,
    (S.FETCHING, E.REFUSED): S.REFUSED,
}
LIFECYCLE = Lifecycle("exchange attachment", S.PENDING, TRANSITIONS)


def apply(state: AttState, event: AttEvent) -> AttState:
    return LIFECYCLE.apply(state, event)


def refused_source(url: str, hosts: frozenset[str], *, allow_http: bool, allow_private: bool) -> str | None:
    """Why we may not fetch this URL (a message for people), or None. `hosts` are the allowed host names (or
    host:port). Host names are checked again after resolving, on every fetch, by the fetcher's resolver."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return REFUSED_FORM
    if parts.scheme not in ("http", "https"):
        return REFUSED_SCHEME if parts.scheme else REFUSED_FORM
    if parts.scheme == "http" and not allow_http:
        return REFUSED_SCHEME
    if not host or parts.username or parts.password:
        return REFUSED_FORM
    if host not in hosts and (port is None or f"{host}:{port}" not in hosts):
        return REFUSED_HOST
    if not allow_private and private_host(host):
        return REFUSED_ADDRESS
    return None


def sniff(head: bytes) -> str | None:
    """The image type from the first bytes of the content, or None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def transient_status(status: int) -> bool:
    """HTTP answers worth trying again later (the rest of 4xx are final)."""
    return status >= 500 or status in (408, 425, 429)
