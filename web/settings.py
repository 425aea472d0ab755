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
    token_ttl_days: int = Field(365, ge=1)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
