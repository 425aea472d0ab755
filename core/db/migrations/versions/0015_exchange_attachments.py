"""exchange: attachment fetch jobs of inbound 12345 orders; upward upload batches

Revision ID: 0015_exchange_attachments
Revises: 0010_inspector
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_exchange_attachments"
down_revision = "0010_inspector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(16), nullable=False),
        sa.Column("ext_order_no", sa.String(64), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("photo_id", sa.String(32), nullable=True),
        sa.Column("content_type", sa.String(32), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_attachments")),
        sa.UniqueConstraint("system", "ext_order_no", "seq", name="uq_exchange_attachments_order_seq"),
    )
    op.create_index(op.f("ix_exchange_attachments_case_no"), "exchange_attachments", ["case_no"])
    op.create_index("ix_exchange_attachments_state_next", "exchange_attachments", ["state", "next_attempt_at"])
    op.create_table(
        "exchange_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("batch_id", sa.String(120), nullable=False),
        sa.Column("start_cursor", sa.Text(), nullable=False),
        sa.Column("end_cursor", sa.Text(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("acked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_batches")),
        sa.UniqueConstraint("batch_id", name=op.f("uq_exchange_batches_batch_id")),
    )
    op.create_index("ix_exchange_batches_export_stream", "exchange_batches", ["export", "stream", "id"])


def downgrade() -> None:
    op.drop_table("exchange_batches")
    op.drop_table("exchange_attachments")
