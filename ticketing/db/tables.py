"""Case tables: categories and the calendar, cases with their history, stage clocks and requests.

Departments, users, tokens and the audit log are the kernel's (core/tables.py)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from core.db.base import metadata

categories = Table(
    "categories", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(8), nullable=False, unique=True),  # type digit + 大类 + 小类, e.g. 10118
    Column("kind", String(16), nullable=False),  # component | event
    Column("major_code", String(2), nullable=False),
    Column("major_name", String(50), nullable=False),
    Column("minor_code", String(4), nullable=False),
    Column("name", String(50), nullable=False),
    Column("register_condition", Text, nullable=False),
    Column("close_condition", Text, nullable=False),
    Column("limit_value", Float, nullable=False),
    Column("limit_unit", String(20), nullable=False),
    Column("responsible_by", String(16), nullable=False),
    Column("responsible_department", String(32)),
    Column("emergency", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
)


calendar_days = Table(
    "calendar_days", metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), nullable=False),  # holiday | workday (调休上班)
    Column("name", String(50)),
    Column("entered_by", String(64)),
)

case_counters = Table(
    "case_counters", metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_no", String(16), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("category_code", String(8), nullable=False),
    Column("description", Text, nullable=False),
    Column("caller_phone", String(32)),
    Column("caller_name", String(64)),
    Column("address", String(200)),
    Column("lat", Float),
    Column("lon", Float),
    Column("cell_code", String(20)),
    Column("community_code", String(20)),
    Column("street_code", String(20)),
    Column("component_id", String(20)),
    Column("department_code", String(32)),
    Column("suggested_department", String(32)),
    Column("suggestion_reason", String(200)),
    Column("external_id", String(64)),
    Column("call_id", String(64)),
    Column("rework_count", Integer, nullable=False, default=0),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("extension_count", Integer, nullable=False, default=0),
    Column("verification", String(16)),
    Column("check_result", String(16)),
    Column("satisfaction", Integer),
    Column("merged_into", String(16)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Index("ix_cases_state_created", "state", "created_at"),
    Index("ix_cases_department_state", "department_code", "state"),
    Index("ix_cases_caller_phone", "caller_phone"),
    Index("ix_cases_category", "category_code"),
    Index("ix_cases_merged_into", "merged_into"),
    Index("ix_cases_external_id", "external_id"),  # the 12345 工单编号 of exchanged cases
)

case_history = Table(
    "case_history", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("command", String(32), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("reason", Text),
    Column("payload", JSON, nullable=False),
)

case_stages = Table(
    "case_stages", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=False),
    Column("yellow_at", DateTime, nullable=False),
    Column("limit_value", Float, nullable=False),
    Column("limit_unit", String(20), nullable=False),
    Column("finished_at", DateTime),
    Column("paused_at", DateTime),
    Column("light", String(8), nullable=False, default="green"),  # last light recorded by the sweep
    Index("ix_case_stages_case", "case_id"),
    Index("ix_case_stages_open_due", "finished_at", "due_at"),
)

case_requests = Table(
    "case_requests", metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("reason", Text),
    Column("payload", JSON, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime),
    Column("decision_reason", Text),
    Index("ix_case_requests_state_kind", "state", "kind"),
)


# One row per case creation sent with an `Idempotency-Key` (POST /api/v1/cases), written in the case's own
# transaction under the creating user and the key the client chose: a retry finds it and gets the first answer
# again, two concurrent sends meet at the unique constraint. Purged after a retention (ticketing/creation_keys.py).
case_creation_keys = Table(
    "case_creation_keys", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("body_sha256", String(64), nullable=False),  # of the validated request body: a reused key is refused
    Column("case_no", String(16), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("username", "key", name="uq_case_creation_keys_username_key"),
    Index("ix_case_creation_keys_created_at", "created_at"),
)
