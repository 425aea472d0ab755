"""closing the loop: deadline alerts, urges, outbox, opt-outs, webhooks, callbacks

Revision ID: 0005_loop
Revises: 0004_speech
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_loop"
down_revision = "0004_speech"
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "deadline_alerts", _id(),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("light", sa.String(8), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_alerts")),
        sa.UniqueConstraint("stage_id", "light", "due_at", name="uq_deadline_alerts_stage_light_due"),
    )
    op.create_index(op.f("ix_deadline_alerts_case_id"), "deadline_alerts", ["case_id"])
    op.create_table(
        "urges", _id(),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_urges")),
        sa.UniqueConstraint("stage_id", "level", "due_at", name="uq_urges_stage_level_due"),
    )
    op.create_index(op.f("ix_urges_case_id"), "urges", ["case_id"])
    op.create_index(op.f("ix_urges_at"), "urges", ["at"])
    _outbox()
    op.create_table(
        "sms_optouts",
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_sms_optouts")),
    )
    _webhooks()
    _callbacks()


def _outbox() -> None:
    op.create_table(
        "outbox", _id(),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    op.create_index(op.f("ix_outbox_case_no"), "outbox", ["case_no"])
    op.create_index("ix_outbox_state_next", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_recipient_sent", "outbox", ["recipient", "sent_at"])


def _webhooks() -> None:
    op.create_table(
        "department_webhooks",
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("department_code", name=op.f("pk_department_webhooks")),
    )
    op.create_table(
        "webhook_deliveries", _id(),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(32), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_webhook_deliveries_dedup_key")),
    )
    op.create_index(op.f("ix_webhook_deliveries_department_code"), "webhook_deliveries", ["department_code"])
    op.create_index("ix_webhook_deliveries_state_next", "webhook_deliveries", ["state", "next_attempt_at"])


def _callbacks() -> None:
    op.create_table(
        "callbacks", _id(),
        sa.Column("dedup_key", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.Integer(), nullable=True),
        sa.Column("reason_path", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_callbacks_dedup_key")),
    )
    op.create_index(op.f("ix_callbacks_case_no"), "callbacks", ["case_no"])
    op.create_index("ix_callbacks_state_due", "callbacks", ["state", "due_at"])


def downgrade() -> None:
    for name in ("callbacks", "webhook_deliveries", "department_webhooks", "sms_optouts", "outbox", "urges",
                 "deadline_alerts"):
        op.drop_table(name)
