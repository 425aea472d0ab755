"""The error middleware tells "the database is away" (503 + Retry-After) from a bug (500)."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest
from aiohttp import web
from sqlalchemy import exc as sa_exc

from core.db.engine import DatabaseUnavailable, is_unavailable
from web.errors import RETRY_AFTER_S, error_middleware


def _lost_connection() -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT 1", None, ConnectionResetError("reset"), connection_invalidated=True)


def _bad_sql() -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError("SELECT nope", None, ValueError("syntax error"))


CASES: list[tuple[str, Callable[[], BaseException], int, str]] = [
    (
        "refused",
        lambda: DatabaseUnavailable("database unreachable: ConnectionRefusedError"),
        503,
        "database_unavailable",
    ),
    ("lost", _lost_connection, 503, "database_unavailable"),
    ("pool", lambda: sa_exc.TimeoutError("QueuePool limit reached"), 503, "server_busy"),
    ("bad_sql", _bad_sql, 500, "internal_error"),
    ("disk", lambda: OSError(errno.ENOSPC, "No space left on device"), 500, "internal_error"),
]


@pytest.mark.parametrize(("name", "make", "status", "code"), CASES, ids=[c[0] for c in CASES])
async def test_database_errors_map_to_503_only_when_the_database_is_away(  # type: ignore[no-untyped-def]
    aiohttp_client, name: str, make: Callable[[], BaseException], status: int, code: str
) -> None:
    async def handler(_request: web.Request) -> web.Response:
        raise make()

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/api/v1/x", handler)
    client = await aiohttp_client(app)
    async with client.get("/api/v1/x") as resp:
        body = await resp.json()
        assert resp.status == status
        assert body["error"]["code"] == code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"])
        if status == 503:
            assert resp.headers["Retry-After"] == str(RETRY_AFTER_S)
        else:
            assert "Retry-After" not in resp.headers


def test_an_oserror_alone_is_not_taken_for_the_database() -> None:
    assert not is_unavailable(ConnectionRefusedError())  # only the engine's do_connect hook says so
    assert is_unavailable(DatabaseUnavailable("x"))
