"""case creation exactly once: Idempotency-Key of POST /api/v1/cases

Revision ID: 0013_case_idempotency
Revises: 0010_inspector
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_case_idempotency"
down_revision = "0015_exchange_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_creation_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_creation_keys")),
        sa.UniqueConstraint("username", "key", name="uq_case_creation_keys_username_key"),
    )
    op.create_index("ix_case_creation_keys_created_at", "case_creation_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_case_creation_keys_created_at", table_name="case_creation_keys")
    op.drop_table("case_creation_keys")
