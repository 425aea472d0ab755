"""Response headers every answer carries, and the same-origin checks of redirects and websockets.

- Content-Security-Policy: scripts, styles, images, media and connections only from this origin (and, with
  the console's browser phone configured, connections to Asterisk's WSS address; no inline scripts; inline
  style attributes stay allowed because the wallboard draws bar widths with them), nothing may frame our
  pages, forms post only to us.
- Strict-Transport-Security when the site is served over TLS (the request is secure or `http.public_url` is
  https): browsers then refuse plain HTTP for a year.
- Cache-Control: no-store on every API answer that has not chosen otherwise: case views, call records and
  queues hold personal data and must not stay in a browser's or a proxy's cache.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from web.keys import SETTINGS

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"


def csp_for(wss_origin: str | None) -> str:
    """The policy; with the browser phone on, its connections may also go to Asterisk's WSS address."""
    if not wss_origin:
        return CSP
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {wss_origin}")


def _wss_origin(request: web.Request) -> str | None:
    tel = request.app[SETTINGS].telephony
    if not tel.enabled or tel.webrtc is None:
        return None
    return tel.webrtc.ws_url.removesuffix("/ws")
_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CSP,
}


def tls(request: web.Request) -> bool:
    return request.secure or request.app[SETTINGS].http.public_url.startswith("https://")


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _ALWAYS.items():
        response.headers.setdefault(name, value if name != "Content-Security-Policy" else csp_for(_wss_origin(request)))
    if tls(request):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith(("/api/", "/open311/")):
        response.headers.setdefault("Cache-Control", "no-store")


def safe_next(value: str | None) -> str | None:
    """A path of this site to go to after login, or None: parsed, so `/%09/evil.com`, `/\\evil.com`,
    `//evil.com`, `https://evil.com` and control characters are all refused (no open redirect)."""
    if not value or not value.startswith("/") or len(value) > 2000:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F or ch == "\\" for ch in value):
        return None  # browsers drop tabs and newlines and read \ as /: "/\t/evil.com" is "//evil.com"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if parts.path == "/login" or parts.path.startswith("/login/"):
        return None
    return value


def same_origin(request: web.Request) -> bool:
    """Whether a browser request comes from a page of this site (the websocket's Origin check).

    Scripts that send no Origin (bearer-token clients) pass; browsers always send one on websockets."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    allowed = {f"{request.scheme}://{request.host}", request.app[SETTINGS].http.public_url.rstrip("/")}
    return origin.rstrip("/") in allowed


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(_headers)
