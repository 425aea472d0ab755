"""Stored transcripts (whole recordings, uploads, finished live calls) and live segments."""

from __future__ import annotations

import sqlalchemy as sa

from core.db.base import metadata

speech_transcripts = sa.Table(
    "speech_transcripts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), nullable=True, index=True),
    sa.Column("source", sa.String(16), nullable=False),  # recording | upload | live
    sa.Column("recording_path", sa.String(255), nullable=True),
    sa.Column("engine", sa.String(16), nullable=False),
    sa.Column("language", sa.String(8), nullable=False, server_default="zh"),
    sa.Column("status", sa.String(16), nullable=False),  # done | failed
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("raw_text", sa.Text, nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False, server_default=""),  # normalised, searched
    sa.Column("duration", sa.Float, nullable=True),
    sa.Column("suggested_class_code", sa.String(8), nullable=True),
    sa.Column("suggested_class_name", sa.String(64), nullable=True),
    sa.Column("suggested_address", sa.String(200), nullable=True),
    sa.Column("suggested_cell_code", sa.String(32), nullable=True),
    sa.Column("summary", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
)

speech_segments = sa.Table(
    "speech_segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("transcript_id", sa.Integer, sa.ForeignKey("speech_transcripts.id", ondelete="CASCADE"),
              nullable=True, index=True),
    sa.Column("call_id", sa.String(64), nullable=True, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("speaker", sa.String(8), nullable=False),  # caller | agent | unknown
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
