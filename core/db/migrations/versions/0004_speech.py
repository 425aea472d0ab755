"""speech transcripts and segments

Revision ID: 0004_speech
Revises: 0003_calls
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_speech"
down_revision = "0003_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "speech_transcripts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recording_path", sa.String(255), nullable=True),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), server_default="zh", nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("raw_text", sa.Text(), server_default="", nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("suggested_class_code", sa.String(8), nullable=True),
        sa.Column("suggested_class_name", sa.String(64), nullable=True),
        sa.Column("suggested_address", sa.String(200), nullable=True),
        sa.Column("suggested_cell_code", sa.String(32), nullable=True),
        sa.Column("summary", sa.String(200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_transcripts")),
    )
    op.create_index(op.f("ix_speech_transcripts_call_id"), "speech_transcripts", ["call_id"])
    op.create_table(
        "speech_segments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(8), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["transcript_id"], ["speech_transcripts.id"],
                                name=op.f("fk_speech_segments_transcript_id_speech_transcripts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_segments")),
    )
    op.create_index(op.f("ix_speech_segments_transcript_id"), "speech_segments", ["transcript_id"])
    op.create_index(op.f("ix_speech_segments_call_id"), "speech_segments", ["call_id"])


def downgrade() -> None:
    op.drop_table("speech_segments")
    op.drop_table("speech_transcripts")
