"""durable agent sessions (replace the never-read agent_events)

Revision ID: 0008_agent_sessions
Revises: 0007_web
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_agent_sessions"
down_revision = "0007_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("extension", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("extension", name=op.f("pk_agent_sessions")),
    )
    op.create_index(op.f("ix_agent_sessions_username"), "agent_sessions", ["username"])
    op.drop_index(op.f("ix_agent_events_agent_id"), table_name="agent_events")
    op.drop_table("agent_events")


def downgrade() -> None:
    op.create_table(
        "agent_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_state", sa.String(16), nullable=False),
        sa.Column("new_state", sa.String(16), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_events")),
    )
    op.create_index(op.f("ix_agent_events_agent_id"), "agent_events", ["agent_id"])
    op.drop_index(op.f("ix_agent_sessions_username"), table_name="agent_sessions")
    op.drop_table("agent_sessions")
