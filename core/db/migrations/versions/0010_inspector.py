"""inspector phone app: submissions sent exactly once, duty periods, positions

Revision ID: 0010_inspector
Revises: 0008_agent_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_inspector"
down_revision = "0012_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspector_submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_no", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspector_submissions")),
        sa.UniqueConstraint("username", "key", name="uq_inspector_submissions_username_key"),
    )
    op.create_table(
        "inspector_duty",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspector_duty")),
    )
    op.create_index("ix_inspector_duty_username_started", "inspector_duty", ["username", "started_at"])
    op.create_table(
        "inspector_positions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("cell_code", sa.String(15), nullable=True),
        sa.ForeignKeyConstraint(
            ["duty_id"], ["inspector_duty.id"], name=op.f("fk_inspector_positions_duty_id_inspector_duty")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspector_positions")),
    )
    op.create_index("ix_inspector_positions_username_at", "inspector_positions", ["username", "at"])


def downgrade() -> None:
    op.drop_index("ix_inspector_positions_username_at", table_name="inspector_positions")
    op.drop_table("inspector_positions")
    op.drop_index("ix_inspector_duty_username_started", table_name="inspector_duty")
    op.drop_table("inspector_duty")
    op.drop_table("inspector_submissions")
