"""Datetimes are stored as naive UTC (portable across SQLite and PostgreSQL) and used aware in code."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


def from_db(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)
