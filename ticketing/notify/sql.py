"""Small SQL helpers shared by the notify adapters: dialect-aware INSERT … ON CONFLICT DO NOTHING."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignore(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT that skips rows hitting a unique key: the basis of every idempotent enqueue and sweep."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(table)


def ignore_conflicts(stmt: Any) -> Any:
    return stmt.on_conflict_do_nothing()
