"""Typed, frozen settings: YAML files plus HOTLINE_* environment overrides, validated once at start-up.

Order of precedence (later wins): `config/defaults.yaml` shipped with the code, the site file
(`HOTLINE_CONFIG` or `config/local.yaml` if present), then environment variables such as
`HOTLINE_DATABASE__URL=postgresql+asyncpg://...` (a double underscore descends one level).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcenter.settings import TelephonySettings
from ticketing.geo.settings import GeoSettings
from ticketing.notify.settings import NotifySettings
from transcribe.settings import SpeechSettings

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = CONFIG_DIR.parent
ENV_PREFIX = "HOTLINE_"
HARNESS_PREFIX = "HOTLINE_TEST_"  # the test harness's own variables (HOTLINE_TEST_NOW, _RUN, _PG): not settings


class ConfigError(Exception):
    """Settings could not be loaded; the message names each bad key and what is wrong with it."""


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///var/hotline.db"
    schema_name: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="PostgreSQL schema")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    max_body_mb: int = Field(20, ge=1, le=200)


class WorkingTimeSettings(Section):
    """The working calendar that 工作时/工作日 limits run on."""

    timezone: str = "Asia/Shanghai"
    periods: tuple[tuple[str, str], ...] = (("08:30", "12:00"), ("13:30", "17:30"))
    workdays: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday = 1
    use_official_holidays: bool = True

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("periods")
    @classmethod
    def _periods_ordered(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        last = -1
        for start, end in value:
            a, b = _minutes(start), _minutes(end)
            if not last < a < b:
                raise ValueError(f"period {start}-{end} must be HH:MM-HH:MM, ordered and not overlapping")
            last = b
        if not value:
            raise ValueError("at least one working period is needed")
        return value

    @field_validator("workdays")
    @classmethod
    def _iso_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("ISO weekdays 1 (Monday) to 7 (Sunday), at least one")
        return value


class StageLimitSettings(Section):
    """Limits of the stages that do not depend on the category, as (value, unit)."""

    acceptance: tuple[float, str] = (0.5, "working_hours")
    registration: tuple[float, str] = (2, "working_hours")
    dispatching: tuple[float, str] = (1, "working_hours")
    checking: tuple[float, str] = (4, "working_hours")
    closing: tuple[float, str] = (2, "working_hours")
    rework: tuple[float, str] = (1, "working_days")


class CaseSettings(Section):
    county_code: str = Field("330424", pattern=r"^\d{6}$")
    county_name: str = "海盐县"
    limits: StageLimitSettings = StageLimitSettings()
    yellow_at: float = Field(0.8, gt=0, lt=1)
    reopen_window_days: int = Field(30, ge=0)


class SecuritySettings(Section):
    demo_mode: bool = False
    cookie_secure: bool = True
    token_ttl_days: int = Field(365, ge=1)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)


class Settings(Section):
    environment: Literal["demo", "production", "test"] = "production"
    telephony: TelephonySettings = TelephonySettings()
    speech: SpeechSettings = SpeechSettings()
    geo: GeoSettings = GeoSettings()
    notify: NotifySettings = NotifySettings()
    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    working_time: WorkingTimeSettings = WorkingTimeSettings()
    cases: CaseSettings = CaseSettings()
    security: SecuritySettings = SecuritySettings()
    data_dir: str = "var"

    def database_url(self) -> str:
        """The database URL with a relative SQLite path taken relative to the project root."""
        prefix = "sqlite+aiosqlite:///"
        url = self.database.url
        if url.startswith(prefix) and not url[len(prefix):].startswith(("/", ":memory:")):
            return prefix + str(PROJECT_ROOT / url[len(prefix):])
        return url

    def data_path(self, *parts: str) -> Path:
        base = Path(self.data_dir)
        if not base.is_absolute():
            base = PROJECT_ROOT / base
        return base.joinpath(*parts)


def _minutes(hhmm: str) -> int:
    try:
        hours, minutes = hhmm.split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError as exc:
        raise ValueError(f"{hhmm!r} is not HH:MM") from exc
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"{hhmm!r} is outside 00:00-24:00")
    return value


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "HOTLINE_CONFIG" or name.startswith(HARNESS_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another HOTLINE_ variable")
        # YAML parsing turns "true", "8080" and "[1, 2]" into their types, as in the files.
        node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return tree


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(root)"
        message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"  {key}: {message}")
    return "invalid settings:\n" + "\n".join(lines)


def load_settings(
    files: list[Path] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate the settings; raise ConfigError naming every bad key."""
    env = os.environ if environ is None else environ
    if files is None:
        files = [CONFIG_DIR / "defaults.yaml"]
        site = env.get("HOTLINE_CONFIG")
        if site:
            if not Path(site).is_file():
                raise ConfigError(f"HOTLINE_CONFIG names {site}, which does not exist")
            files.append(Path(site))
        elif (CONFIG_DIR / "local.yaml").is_file():
            files.append(CONFIG_DIR / "local.yaml")
    data: dict[str, Any] = {}
    for path in files:
        data = _deep_merge(data, _read_yaml(path))
    data = _deep_merge(data, _env_overrides(env))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
