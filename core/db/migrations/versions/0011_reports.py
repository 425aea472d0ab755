"""evaluation bulletins (monthly 通报 archive)

Revision ID: 0011_reports
Revises: 0008_agent_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_reports"
down_revision = "0008_agent_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(8), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("department_profile", sa.String(64), nullable=False),
        sa.Column("department_profile_version", sa.Integer(), nullable=False),
        sa.Column("region_profile", sa.String(64), nullable=False),
        sa.Column("region_profile_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("as_of", sa.DateTime(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("generated_at", sa.DateTime(), nullable=False),
        sa.Column("generated_by", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_bulletins")),
        sa.UniqueConstraint(
            "period_kind",
            "first_day",
            "department_profile",
            "department_profile_version",
            "region_profile",
            "region_profile_version",
            name="uq_evaluation_bulletins_period_profiles",
        ),
    )
    op.create_index(op.f("ix_evaluation_bulletins_first_day"), "evaluation_bulletins", ["first_day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_evaluation_bulletins_first_day"), table_name="evaluation_bulletins")
    op.drop_table("evaluation_bulletins")
