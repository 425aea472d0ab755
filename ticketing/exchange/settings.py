"""ExchangeSettings: the `exchange` section. One entry per link (`links.<name>`), off unless a site enables it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkSettings(_Section):
    enabled: bool = False
    profile: str = "generic-12345"  # a file in ticketing/exchange/profiles/ (without .yaml) or a path
    inbound: Literal["push", "pull", "both"] = "push"
    base_url: str = "http://127.0.0.1:9091"  # the platform's API (outbound steps, pull)
    app_key: str = "hotline"
    secret: str = ""  # shared HMAC secret; push is refused while it is empty
    default_category: str = "20102"  # small class when neither code table nor text suggests one
    auto_sign: bool = True  # send 签收 as soon as the order is taken (签收 is timed and scored)
    public_base_url: str = "http://127.0.0.1:8080"  # how the platform reaches our photo links
    poll_interval_s: float = Field(30.0, gt=0)
    poll_limit: int = Field(100, ge=1, le=1000)
    deliver_interval_s: float = Field(10.0, gt=0)
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_attempts: int = Field(20, ge=1, le=100)
    retry_base_s: float = Field(15.0, gt=0)
    retry_max_s: float = Field(1800.0, gt=0)
    wait_s: float = Field(5.0, gt=0)  # how long a message waits behind an unacknowledged earlier one
    batch_size: int = Field(100, ge=1, le=5000)
    # Attachments of inbound orders (ticketing/exchange/attachments.py): fetched from the platform's file hosts
    # only; empty `attachment_hosts` means the host of `base_url`. Loopback/private addresses and http are
    # refused unless allowed here (the tests allow 127.0.0.1 over http).
    attachments_fetch: bool = True
    attachment_hosts: tuple[str, ...] = ()
    attachment_allow_http: bool = False
    attachment_allow_private: bool = False
    attachment_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)  # as our photo uploads
    attachment_total_bytes: int = Field(40 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)  # per order
    attachment_max_count: int = Field(20, ge=1, le=100)
    attachment_timeout_s: float = Field(30.0, gt=0, le=300)
    attachment_max_attempts: int = Field(8, ge=1, le=100)
    # 办结 photos go out as signed links the platform can fetch without an account, valid this long.
    photo_link_ttl_h: float = Field(720.0, gt=0, le=24 * 365)


class ExportSettings(_Section):
    enabled: bool = False
    profile: str = "yunguanfu"  # ticketing/exchange/profiles/export-<name>.yaml, or a path
    folder: str | None = None  # default: <data_dir>/exports/<profile name>
    every_hours: float = Field(24.0, gt=0)  # daily by default; `hotline exchange export` runs it at once
    # http exports (profile kind `http`): the platform's URL if not the profile's, the shared HMAC secret
    # (environment: HOTLINE_EXCHANGE__EXPORTS__<NAME>__SECRET), how often an unacknowledged batch is retried.
    endpoint: str | None = None
    secret: str = ""
    app_key: str = "hotline"
    retry_interval_s: float = Field(60.0, gt=0)


class ExchangeSettings(_Section):
    loop_enabled: bool = True  # the timers (poll, deliver, held messages); tests call the steps directly
    links: dict[str, LinkSettings] = {"12345": LinkSettings()}
    exports: dict[str, ExportSettings] = {"yunguanfu": ExportSettings()}
