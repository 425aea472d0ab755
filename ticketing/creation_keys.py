"""Case creation exactly once: a client that retries `POST /api/v1/cases` (its answer lost to a timeout, a 503
during COMMIT or a crash of the service) sends the same `Idempotency-Key` again and gets the first answer, not
a second case.

The key is stored per creating user, with a digest of the validated request body and the answer, in the case's
own transaction (`CaseService.create`'s `also` hook): the case and its key are saved together or not at all.
A resend finds the row; two sends at the same moment meet at the unique constraint (username, key) and the
later one rolls back its case and answers with the first one's. The same key with a different body is refused
(`KeyReused`, 422). Keys are kept `KEY_RETENTION` and then purged (web/auth.py's hourly purge job).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.engine import write_transaction
from core.db.timeutil import to_db
from core.errors import DomainError
from ticketing.db.tables import case_creation_keys
from ticketing.domain.model import Actor
from ticketing.services import CaseService, Created, NewCase

KEY_RETENTION = timedelta(days=7)
"""How long a key is remembered: far longer than any client retries (the inspector phones' queue included)."""


class KeyReused(DomainError):
    """The key was used before by this user for a creation with a different body."""

    code = "idempotency_key_reused"
    status = 422


@dataclass(frozen=True)
class KeyedCreation:
    case_no: str
    response: dict[str, Any]  # the answer of the first creation, as it was given
    replayed: bool  # True: an earlier request with this key created the case


def body_digest(body: Mapping[str, Any]) -> str:
    """SHA-256 of the request body in one canonical JSON form (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def previous(engine: AsyncEngine, username: str, key: str) -> Any | None:
    async with engine.connect() as conn:
        query = select(case_creation_keys).where(
            case_creation_keys.c.username == username, case_creation_keys.c.key == key
        )
        return (await conn.execute(query)).first()


def _replay(row: Any, digest: str) -> KeyedCreation:
    if row.body_sha256 != digest:
        raise KeyReused(
            f"Idempotency-Key 已用于另一份内容不同的新建请求（案件 {row.case_no}）；新的案件请使用新的 Idempotency-Key"
        )
    return KeyedCreation(row.case_no, dict(row.response), replayed=True)


async def create_once(
    service: CaseService,
    new: NewCase,
    actor: Actor,
    *,
    key: str,
    digest: str,
    answer: Callable[[Created], dict[str, Any]],
) -> KeyedCreation:
    """Create the case unless `actor` already did with `key`; `answer(created)` is the response stored and
    given (computed inside the transaction, from what it produced)."""
    found = await previous(service.engine, actor.username, key)
    if found is not None:
        return _replay(found, digest)
    given: dict[str, Any] = {}

    async def record(conn: AsyncConnection, created: Created) -> None:
        given.update(answer(created))
        await conn.execute(
            case_creation_keys.insert().values(
                username=actor.username,
                key=key,
                body_sha256=digest,
                case_no=created.case_no,
                response=given,
                created_at=to_db(service.clock()),
            )
        )

    try:
        created = await service.create(new, actor, also=record)
    except IntegrityError:  # a concurrent request with the same key committed first: its case stands
        found = await previous(service.engine, actor.username, key)
        if found is None:
            raise
        return _replay(found, digest)
    return KeyedCreation(created.case_no, given, replayed=False)


async def purge_keys(engine: AsyncEngine, now: datetime, keep: timedelta = KEY_RETENTION) -> int:
    """Forget keys older than `keep` (their cases stay, of course)."""
    async with write_transaction(engine) as conn:
        stale = case_creation_keys.c.created_at < to_db(now - keep)
        result = await conn.execute(delete(case_creation_keys).where(stale))
    return int(result.rowcount or 0)
