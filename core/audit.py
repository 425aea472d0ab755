"""The audit log's one writer: who did what to which target, when and from where (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db.timeutil import to_db
from core.tables import audit_log


async def append(conn: AsyncConnection, at: datetime, actor: str | None, action: str, target: str | None = None,
                 detail: dict[str, Any] | None = None, remote: str | None = None) -> None:
    """Append one audit row (login, reveal_phone, user_added, calendar_day, supervisor listen, transfers, ...)."""
    await conn.execute(insert(audit_log).values(at=to_db(at), actor=actor, action=action, target=target,
                                                detail=detail or {}, remote=remote))
