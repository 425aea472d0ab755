"""The web layer's settings: the HTTP listener and the security of sessions and logins."""

from __future__ import annotations

from pydantic import Field

from core.settings import Section


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_mb: int = Field(20, ge=1, le=200)


class SecuritySettings(Section):
    demo_mode: bool = False
    cookie_secure: bool = True
    token_ttl_days: int = Field(30, ge=1, le=3650)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
    login_client_failures: int = Field(20, ge=1)  # failures per client address inside login_window_minutes
    login_window_minutes: int = Field(15, ge=1)
    login_global_per_minute: int = Field(1200, ge=1)  # attempts a minute for the whole service
    login_hash_concurrency: int = Field(2, ge=1, le=64)  # argon2 checks at once (each takes a core)


class Open311Settings(Section):
    """Open311 GeoReport v2 (/open311/v2): who we are to clients, and what anonymous readers may see."""

    jurisdiction_id: str = Field("330424", max_length=100)  # the county code; clients may omit it
    # Cases that did not come in through Open311 or the web form show their address only to road level and no
    # description to anonymous readers, unless the site publishes descriptions (after its own review).
    show_descriptions: bool = False
    reads_per_minute: int = Field(60, ge=1, le=100000)  # per client (api_key, else address)
    posts_per_hour: int = Field(30, ge=1, le=100000)  # per api_key
