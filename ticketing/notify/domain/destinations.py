"""Where a department webhook may point (pure): https only by default, and never at this machine or its network.

A webhook URL is typed by an administrator, but the platform is the one that connects: pointed at loopback,
a private range or a cloud metadata address it would turn the platform into a proxy into the server's own
network (SSRF). So the URL must be https (unless a site allows http, e.g. the demo), and every address its
host resolves to must be a public unicast address. The sender also follows no redirects.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

REFUSED_SCHEME = "回调地址必须使用 https://"
REFUSED_HOST = "回调地址缺少主机名或格式不正确"
REFUSED_ADDRESS = "回调地址不能指向本机、内网、链路本地、组播或保留地址"


def refused_address(address: str) -> bool:
    """Whether an IP address is one a webhook must never reach (loopback, private, link-local, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def refused_url(url: str, *, allow_http: bool, allow_private: bool) -> str | None:
    """Why this URL may not be a webhook (a message for people), or None when its form is acceptable.
    Host names are checked again on every delivery, after resolving, by the sender."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return REFUSED_HOST
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return REFUSED_SCHEME
    if not host or parts.username or parts.password:
        return REFUSED_HOST
    if not allow_private and private_host(host):
        return REFUSED_ADDRESS
    return None


def private_host(host: str) -> bool:
    """Whether a URL's host names this machine or a private network before any lookup: `localhost` names, or an
    address literal refused_address refuses (names are checked again after resolving)."""
    return host == "localhost" or host.endswith(".localhost") or _literal_refused(host)


def _literal_refused(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return refused_address(host)
