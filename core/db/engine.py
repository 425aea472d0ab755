"""Async engine creation with the pragmas each backend needs."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
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
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT_S}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    # pool_pre_ping: a connection left in the pool from before a database restart is tested at check-out and
    # replaced, so the service recovers by itself once the database is back.
    engine = create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
                                 connect_args=connect_args)
    event.listen(engine.sync_engine, "do_connect", _connect_or_unavailable)
    return engine


CONNECT_TIMEOUT_S = 5.0  # asyncpg waits 60 s by default: a client would time out long before our 503


class DatabaseUnavailable(Exception):
    """The database cannot be reached now (refused, restarting, shutting down, timed out): retry later.

    Raised instead of the driver's own exception when a new connection fails, so that callers can tell "the
    database is away" from a bug without guessing whether an OSError came from the network or the disk.
    """


def _connect_or_unavailable(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        if _unreachable(exc):
            raise DatabaseUnavailable(f"database unreachable: {type(exc).__name__}: {exc}") from exc
        raise


def _unreachable(exc: BaseException) -> bool:
    # The asyncpg adapter lets OSError (ConnectionRefusedError while the server is down) and TimeoutError
    # through as they are, but wraps asyncpg's own errors (CannotConnectNowError while the server starts up or
    # shuts down) in its DBAPI Error class: look along the cause chain.
    import asyncpg  # only PostgreSQL engines listen here

    kinds = (OSError, TimeoutError, asyncpg.exceptions.CannotConnectNowError,
             asyncpg.exceptions.TooManyConnectionsError)
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database is away for now (a retry later can succeed), not a bug or bad data.

    Counts: a refused or failed new connection, a connection lost in the middle of a statement (SQLAlchemy
    marks it `connection_invalidated`), and a pool that stayed exhausted for its whole timeout.
    """
    if isinstance(exc, DatabaseUnavailable | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def pool_exhausted(exc: BaseException) -> bool:
    """Whether `exc` is the pool's timeout: the database answers, but every connection stayed in use."""
    return isinstance(exc, sa_exc.TimeoutError)



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
