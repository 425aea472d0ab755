"""Async engine creation with the pragmas each backend needs."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers (consoles, sweeps) run while a writer commits; NORMAL sync is durable across
    # application crashes and loses at most the last transaction on power loss, the usual WAL trade-off.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, schema: str | None = None) -> AsyncEngine:
    """Create an async engine for a SQLite or PostgreSQL URL; SQLite's parent folder is created.

    `schema` (PostgreSQL only) puts the project's tables in that schema via the search path.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"server_settings": {"search_path": schema}} if schema else {}
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
                               connect_args=connect_args)



_WRITE_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes. On SQLite, writers of this process take turns.

    SQLite allows one writer at a time. Left to its busy handler, concurrent writers sleep in growing steps
    and a deferred transaction that reads and then writes can fail at once with "database is locked" (lock
    upgrade deadlock). Queueing writers on an asyncio lock avoids both; readers still run beside them (WAL).
    PostgreSQL needs no such thing: its row locks and the optimistic version check do the work.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = _WRITE_LOCKS.setdefault(engine, asyncio.Lock())
    async with lock, engine.begin() as conn:
        yield conn
