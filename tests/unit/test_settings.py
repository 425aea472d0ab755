"""Settings: YAML plus HOTLINE_* overrides, validated with messages that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from config.settings import CONFIG_DIR, ConfigError, load_settings


def test_defaults_load_and_point_at_sqlite_under_var() -> None:
    settings = load_settings(environ={})
    assert settings.database_url().startswith("sqlite+aiosqlite:////")
    assert settings.database_url().endswith("/var/hotline.db")
    assert settings.http.host == "127.0.0.1"


def test_environment_overrides_nested_keys_with_types() -> None:
    settings = load_settings(environ={"HOTLINE_HTTP__PORT": "9090", "HOTLINE_CASES__YELLOW_AT": "0.75",
                                      "HOTLINE_SECURITY__DEMO_MODE": "true"})
    assert settings.http.port == 9090 and settings.cases.yellow_at == 0.75 and settings.security.demo_mode


def test_the_test_harness_variables_are_not_settings() -> None:
    settings = load_settings(environ={"HOTLINE_TEST_NOW": "2026-12-31T23:59+08:00", "HOTLINE_TEST_RUN": "1-2",
                                      "HOTLINE_HTTP__PORT": "9090"})
    assert settings.http.port == 9090


def test_every_bad_key_is_named_with_its_problem() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"HOTLINE_HTTP__PORT": "70000", "HOTLINE_DATABASE__URL": "mysql://x",
                               "HOTLINE_NOPE": "1", "HOTLINE_WORKING_TIME__TIMEZONE": "Mars/Base"})
    text = str(err.value)
    for key in ("http.port", "database.url", "nope: unknown key", "working_time.timezone"):
        assert key in text


def test_site_file_overrides_defaults(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("http:\n  port: 8181\nworking_time:\n  periods: [['09:00', '12:00'], ['13:00', '18:00']]\n")
    settings = load_settings(environ={"HOTLINE_CONFIG": str(site)})
    assert settings.http.port == 8181 and settings.working_time.periods[1] == ("13:00", "18:00")


def test_overlapping_working_periods_are_refused(tmp_path: Path) -> None:
    site = tmp_path / "bad.yaml"
    site.write_text("working_time:\n  periods: [['09:00', '13:00'], ['12:00', '18:00']]\n")
    with pytest.raises(ConfigError, match=r"working_time\.periods"):
        load_settings(environ={"HOTLINE_CONFIG": str(site)})


def test_broken_yaml_and_missing_site_file_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("http: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(environ={"HOTLINE_CONFIG": str(broken)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(environ={"HOTLINE_CONFIG": str(tmp_path / "missing.yaml")})


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(ValueError):
        settings.http.port = 1  # type: ignore[misc]


def test_example_file_documents_every_key_and_loads() -> None:
    example = CONFIG_DIR / "hotline.example.yaml"
    settings = load_settings(files=[example], environ={})
    text = example.read_text(encoding="utf-8")

    def keys(model: object, prefix: str = "") -> list[str]:
        out = []
        for name, value in model:  # type: ignore[attr-defined]
            out.append(name)
            if isinstance(value, BaseModel):
                out += keys(value, f"{prefix}{name}.")
        return out

    missing = [k for k in keys(settings) if f"{k}:" not in text]
    assert not missing, f"undocumented keys: {missing}"
