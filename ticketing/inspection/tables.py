"""Inspector tables: submissions made exactly once (idempotency keys), duty periods and the trail.

The 核实/核查 tasks themselves are the case's requests (ticketing/db/tables.py `case_requests`, with the
assignee in their payload); photos are the web layer's uploads, named by id in the case history."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from core.db.base import metadata

# One row per submission from the phone (a report or an answer), written in the same transaction as what it
# did, under the key the phone chose when the inspector pressed send. A resend finds the row and gets the
# first answer again; two concurrent sends meet at the unique constraint.
inspector_submissions = Table(
    "inspector_submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # report | answer
    Column("case_no", String(16), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("username", "key", name="uq_inspector_submissions_username_key"),
)

# 上岗 / 下岗: one row per period on duty; ended_at is None while on duty.
inspector_duty = Table(
    "inspector_duty",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Index("ix_inspector_duty_username_started", "username", "started_at"),
)

# Positions the phone sent while on duty (never off duty): the trail and the wallboard's last positions.
inspector_positions = Table(
    "inspector_positions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("duty_id", Integer, ForeignKey("inspector_duty.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("accuracy_m", Float),
    Column("cell_code", String(15)),
    Index("ix_inspector_positions_username_at", "username", "at"),
)

TABLES = (inspector_submissions, inspector_duty, inspector_positions)
