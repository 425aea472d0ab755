"""Shared fixtures: settings for a throw-away database (SQLite file or a PostgreSQL schema), a fake clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import CONFIG_DIR, DATA_DIR, Settings, load_settings

pytest_plugins = ["tests.api_plugin", "tests.asterisk_plugin"]

PG_URL = os.environ.get("HOTLINE_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


class FakeClock:
    """A clock tests move by hand; call it to read the time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


# Monday 2026-11-23 09:00 in Haiyan (01:00 UTC): a plain working day, far from holidays.
DEFAULT_START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
NOW_VARIABLE = "HOTLINE_TEST_NOW"


def clock_start(environ: Mapping[str, str] = os.environ) -> datetime:
    """Where the shared clock starts: HOTLINE_TEST_NOW (ISO 8601 with an offset) or the default Monday."""
    text = environ.get(NOW_VARIABLE, "").strip()
    if not text:
        return DEFAULT_START
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"{NOW_VARIABLE}={text!r} is not an ISO 8601 date and time") from None
    if start.tzinfo is None:
        raise pytest.UsageError(f"{NOW_VARIABLE}={text!r} needs an offset, e.g. 2026-12-31T23:59+08:00")
    return start.astimezone(UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the shared clock is date-sensitive by construction: it joins the `dates` group."""
    for item in items:
        if "clock" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dates)


def pytest_configure() -> None:
    clock_start()  # a malformed HOTLINE_TEST_NOW stops the run before any test


def pytest_report_header() -> str:
    return f"clock fixture starts at {clock_start().isoformat()} ({NOW_VARIABLE})"


@pytest.fixture
def clock() -> FakeClock:
    """The tests' clock. Tests that use it must pass at any start (see docs/testing.md, Dates and clocks)."""
    return FakeClock(clock_start())


def make_settings(url: str, schema: str | None = None, tmp: Path | None = None) -> Settings:
    env = {"HOTLINE_DATABASE__URL": url, "HOTLINE_ENVIRONMENT": "test"}
    if schema:
        env["HOTLINE_DATABASE__SCHEMA_NAME"] = schema
    if tmp is not None:
        env["HOTLINE_DATA_DIR"] = str(tmp)
    # Only the shipped defaults: a developer's config/local.yaml (written by scripts/setup.sh) must not leak in.
    return load_settings(files=[CONFIG_DIR / "defaults.yaml"], environ=env)


async def _pg(sql: str) -> None:
    from core.db.engine import create_engine

    engine = create_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


def _pg_schema_created() -> str:
    schema = "t_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg(f'CREATE SCHEMA "{schema}"'))
    return schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a migrated, seeded, empty database: SQLite, then PostgreSQL (own schema)."""
    from core.db.migrate import upgrade

    if request.param == "sqlite":
        settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/test.db", tmp=tmp_path)
        upgrade(settings.database_url())
        asyncio.run(_seed(settings))
        yield settings
        return
    schema = _pg_schema_created()
    settings = make_settings(PG_URL, schema, tmp_path)
    try:
        upgrade(settings.database_url(), schema=schema)
        asyncio.run(_seed(settings))
        yield settings
    finally:
        asyncio.run(_pg(f'DROP SCHEMA "{schema}" CASCADE'))


async def _seed(settings: Settings) -> None:
    from config.bootstrap import engine_for
    from ticketing.reference import seed_reference

    engine = engine_for(settings)
    try:
        async with engine.begin() as conn:
            await seed_reference(conn, DATA_DIR)
    finally:
        await engine.dispose()
