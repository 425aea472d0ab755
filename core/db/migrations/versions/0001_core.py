"""core tables

Revision ID: 0001_core
Revises:
Create Date: 2026-11-26 15:36:27.068426
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("entered_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "case_counters",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_case_counters")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("caller_phone", sa.String(length=32), nullable=True),
        sa.Column("caller_name", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("cell_code", sa.String(length=20), nullable=True),
        sa.Column("community_code", sa.String(length=20), nullable=True),
        sa.Column("street_code", sa.String(length=20), nullable=True),
        sa.Column("component_id", sa.String(length=20), nullable=True),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("suggested_department", sa.String(length=32), nullable=True),
        sa.Column("suggestion_reason", sa.String(length=200), nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("verification", sa.String(length=16), nullable=True),
        sa.Column("check_result", sa.String(length=16), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("merged_into", sa.String(length=16), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("case_no", name=op.f("uq_cases_case_no")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_caller_phone", ["caller_phone"], unique=False)
        batch_op.create_index("ix_cases_category", ["category_code"], unique=False)
        batch_op.create_index("ix_cases_merged_into", ["merged_into"], unique=False)
        batch_op.create_index("ix_cases_department_state", ["department_code", "state"], unique=False)
        batch_op.create_index("ix_cases_state_created", ["state", "created_at"], unique=False)

    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("major_code", sa.String(length=2), nullable=False),
        sa.Column("major_name", sa.String(length=50), nullable=False),
        sa.Column("minor_code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("register_condition", sa.Text(), nullable=False),
        sa.Column("close_condition", sa.Text(), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("limit_unit", sa.String(length=20), nullable=False),
        sa.Column("responsible_by", sa.String(length=16), nullable=False),
        sa.Column("responsible_department", sa.String(length=32), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=True),
        sa.Column("extension", sa.String(length=16), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "case_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_history_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_history")),
    )
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_history_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_requests_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_requests")),
    )
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_requests_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_case_requests_state_kind", ["state", "kind"], unique=False)

    op.create_table(
        "case_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("yellow_at", sa.DateTime(), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("limit_unit", sa.String(length=20), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("light", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_stages_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_stages")),
    )
    with op.batch_alter_table("case_stages", schema=None) as batch_op:
        batch_op.create_index("ix_case_stages_case", ["case_id"], unique=False)
        batch_op.create_index("ix_case_stages_open_due", ["finished_at", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_stages", schema=None) as batch_op:
        batch_op.drop_index("ix_case_stages_open_due")
        batch_op.drop_index("ix_case_stages_case")

    op.drop_table("case_stages")
    with op.batch_alter_table("case_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_case_requests_state_kind")
        batch_op.drop_index(batch_op.f("ix_case_requests_case_id"))

    op.drop_table("case_requests")
    with op.batch_alter_table("case_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_history_case_id"))

    op.drop_table("case_history")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("departments")
    op.drop_table("categories")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_state_created")
        batch_op.drop_index("ix_cases_department_state")
        batch_op.drop_index("ix_cases_merged_into")
        batch_op.drop_index("ix_cases_category")
        batch_op.drop_index("ix_cases_caller_phone")

    op.drop_table("cases")
    op.drop_table("case_counters")
    op.drop_table("calendar_days")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
