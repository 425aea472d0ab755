"""Shared fixtures: settings for a throw-away database (SQLite file or a PostgreSQL schema), a fake clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def clock() -> FakeClock:
    # Monday 2026-11-23 09:00 in Haiyan (01:00 UTC): a plain working day, far from holidays.
    return FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


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
