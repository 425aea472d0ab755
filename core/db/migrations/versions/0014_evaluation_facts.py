"""evaluation summary rows (one per case, one per post's act), derived from the history

Revision ID: 0014_evaluation_facts
Revises: 0010_inspector

The rows are derived data: the history (append-only) stays the truth. The upgrade fills them from the history
and the stage clocks with the statements `hotline evaluation rebuild` runs (ticketing/evaluation/facts.py),
so that an existing database evaluates the same as before at once; the writer keeps them from then on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_evaluation_facts"
down_revision = "0010_inspector"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_case_facts",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("department", sa.String(32)),
        sa.Column("first_register_at", sa.DateTime()),
        sa.Column("last_register_at", sa.DateTime()),
        sa.Column("last_submit_at", sa.DateTime()),
        sa.Column("last_close_at", sa.DateTime()),
        sa.Column("first_invalid_at", sa.DateTime()),
        sa.Column("rework_n", sa.Integer(), nullable=False),
        sa.Column("extension_n", sa.Integer(), nullable=False),
        sa.Column("late_handling_at", sa.DateTime()),
        sa.Column("open_due_at", sa.DateTime()),
        sa.Column("open_unpaused_due_at", sa.DateTime()),
        sa.Column("open_handling_due_at", sa.DateTime()),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_evaluation_case_facts_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_evaluation_case_facts")),
    )
    for name, column in (("last_at", "last_at"), ("first_at", "first_at"), ("register", "last_register_at"),
                         ("submit", "last_submit_at"), ("close", "last_close_at"),
                         ("open_due", "open_unpaused_due_at")):
        op.create_index(f"ix_evaluation_case_facts_{name}", "evaluation_case_facts", [column])
    op.create_table(
        "evaluation_act_facts",
        sa.Column("history_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("stage_on_time", sa.Integer(), nullable=False),
        sa.Column("verify_delay", sa.Float()),
        sa.Column("returned_at", sa.DateTime()),
        sa.ForeignKeyConstraint(["history_id"], ["case_history.id"],
                                name=op.f("fk_evaluation_act_facts_history_id_case_history")),
        sa.PrimaryKeyConstraint("history_id", name=op.f("pk_evaluation_act_facts")),
    )
    op.create_index("ix_evaluation_act_facts_at", "evaluation_act_facts", ["at"])
    op.create_index("ix_evaluation_act_facts_case", "evaluation_act_facts", ["case_id"])
    # Backfill: the same statements as `hotline evaluation rebuild` (the application's table definitions
    # match the ones created above).
    from ticketing.evaluation.facts import rebuild_statements

    for statement in rebuild_statements():
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("evaluation_act_facts")
    op.drop_table("evaluation_case_facts")
