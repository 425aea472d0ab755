"""Run Alembic migrations programmatically (used by `hotline db upgrade` and by tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, schema: str | None = None, metadata: MetaData | None = None) -> Config:
    """`metadata` (all tables, from `config.all_tables`) is needed only for autogenerate."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    if schema:
        config.attributes["schema"] = schema
    if metadata is not None:
        config.attributes["metadata"] = metadata
    return config


def upgrade(url: str, revision: str = "heads", schema: str | None = None) -> None:
    """Bring the database at `url` to `revision` (all heads by default). Safe to run again."""
    command.upgrade(alembic_config(url, schema), revision)


def current(url: str) -> None:
    command.current(alembic_config(url))
