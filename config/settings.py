"""The root settings compose each package's own section (core, ticketing, geo, notify, speech, telephony,
web). Typed, frozen: YAML files plus HOTLINE_* environment overrides, validated once at start-up.

Order of precedence (later wins): `config/defaults.yaml` shipped with the code, the site file
(`HOTLINE_CONFIG` or `config/local.yaml` if present), then environment variables such as
`HOTLINE_DATABASE__URL=postgresql+asyncpg://...` (a double underscore descends one level).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from callcenter.settings import TelephonySettings
from core.settings import DatabaseSettings, Section
from ticketing.exchange.settings import ExchangeSettings
from ticketing.geo.settings import GeoSettings
from ticketing.notify.settings import NotifySettings
from ticketing.settings import CaseSettings, WorkingTimeSettings
from transcribe.settings import SpeechSettings
from web.settings import HttpSettings, Open311Settings, SecuritySettings

CONFIG_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = CONFIG_DIR.parent
DATA_DIR = CONFIG_DIR / "data"  # shipped reference data: categories, departments, the Haiyan demo base data
ENV_PREFIX = "HOTLINE_"
HARNESS_PREFIX = "HOTLINE_TEST_"  # the test harness's own variables (HOTLINE_TEST_NOW, _RUN, _PG): not settings


class ConfigError(Exception):
    """Settings could not be loaded; the message names each bad key and what is wrong with it."""


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
    exchange: ExchangeSettings = ExchangeSettings()
    open311: Open311Settings = Open311Settings()
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
