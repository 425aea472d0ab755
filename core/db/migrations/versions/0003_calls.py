"""call records

Revision ID: 0003_calls
Revises: 0002_geo
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_calls"
down_revision = "0002_geo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(16), server_default="inbound", nullable=False),
        sa.Column("caller", sa.String(64), server_default="", nullable=False),
        sa.Column("called", sa.String(64), server_default="", nullable=False),
        sa.Column("channel_id", sa.String(128), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("ivr_exit_at", sa.DateTime(), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(), nullable=True),
        sa.Column("ring_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("agent_id", sa.String(32), nullable=True),
        sa.Column("queue", sa.String(32), nullable=True),
        sa.Column("dtmf_path", sa.String(200), server_default="", nullable=False),
        sa.Column("description_recording", sa.String(255), nullable=True),
        sa.Column("call_recording", sa.String(255), nullable=True),
        sa.Column("hangup_by", sa.String(16), nullable=True),
        sa.Column("case_no", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    for column in ("channel_id", "arrived_at", "outcome", "agent_id"):
        op.create_index(op.f(f"ix_calls_{column}"), "calls", [column])
    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("agent_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_call_events_call_id_calls"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
    )
    op.create_index(op.f("ix_call_events_call_id"), "call_events", ["call_id"])
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


def downgrade() -> None:
    op.drop_table("agent_events")
    op.drop_table("call_events")
    op.drop_table("calls")
