"""Telephony settings: the Asterisk rig on loopback, the ARI application and the agents' extensions.

Pure pydantic (no I/O). The root settings in `config/settings.py` import this section as `telephony`.
Every port is configurable so tests and benchmarks can run their own Asterisk next to a developer's one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TelephonySettings(BaseModel):
    """Where Asterisk lives, how we reach it, and who may call in.

    `instance` names this Asterisk's configuration and run folders inside the shared chroot, so several
    instances (a developer's, a test run's) can use one cached root file system at the same time.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    app_name: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]+$")
    instance: str = Field("main", pattern=r"^[A-Za-z0-9_-]+$")
    asterisk_root: str = "/var/cache/hotline12319/asterisk-root"
    state_dir: str = "var/asterisk"  # pid file, generated secrets; relative to the project root
    host: str = "127.0.0.1"
    http_port: int = Field(8088, ge=1, le=65535)
    sip_port: int = Field(5060, ge=1, le=65535)
    rtp_start: int = Field(10000, ge=1024, le=65000)
    rtp_end: int = Field(10999, ge=1024, le=65535)
    ari_user: str = "hotline"
    hotline_number: str = Field("12319", pattern=r"^\d+$")
    trunk_addresses: tuple[str, ...] = ("127.0.0.1",)
    agent_extensions: tuple[str, ...] = tuple(str(n) for n in range(8001, 8011))
    ring_timeout_s: int = Field(15, ge=3, le=120)
    strategy: Literal["longest_idle", "round_robin", "fewest_calls", "ring_all"] = "longest_idle"
    trunk_outbound: str = "127.0.0.1:5070"  # the carrier's SIP proxy (host:port) for outside numbers
    survey_ring_s: int = Field(30, ge=5, le=120)  # how long a callback (回访) rings the citizen
    wrapup_s: int = Field(10, ge=0, le=600)
    blocklist: tuple[str, ...] = ()
    record_calls: bool = True
    # A 10-minute call is ~10 MB of WAV. Below this much free space the call is connected unrecorded and the call
    # row says why, instead of Asterisk reporting a recording it could not write (it does: RecordingFinished).
    recording_min_free_mb: int = Field(50, ge=0)
    benchmark_extensions: bool = False  # plain-dialplan IVR and app_queue numbers for bench/
    start_timeout_s: float = Field(20.0, gt=0)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        # Asterisk's HTTP and SIP listeners must never face the network from this rig.
        if value not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the Asterisk rig listens on loopback only (127.0.0.1 or ::1)")
        return value

    def state_path(self, *parts: str) -> Path:
        base = Path(self.state_dir)
        if not base.is_absolute():
            base = PROJECT_ROOT / base
        return base.joinpath(self.instance, *parts)

    @property
    def root(self) -> Path:
        return Path(self.asterisk_root)

    @property
    def ari_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/ari"

    @property
    def conf_dir(self) -> str:
        """Configuration folder inside the chroot (absolute from the chroot's point of view)."""
        return f"/etc/hotline12319/{self.instance}"
