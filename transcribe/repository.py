"""Stored transcripts and segments (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.timeutil import from_db, to_db
from transcribe.events import SegmentEvent
from transcribe.tables import speech_segments, speech_transcripts


@dataclass(frozen=True, slots=True)
class StoredTranscript:
    id: int
    call_id: str | None
    source: str
    status: str
    text: str
    summary: str
    suggested_class_code: str | None
    suggested_address: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewTranscript:
    source: str  # recording | upload | live
    engine: str
    status: str  # done | failed
    call_id: str | None = None
    recording_path: str | None = None
    raw_text: str = ""
    text: str = ""
    duration: float | None = None
    suggested_class_code: str | None = None
    suggested_class_name: str | None = None
    suggested_address: str | None = None
    suggested_cell_code: str | None = None
    summary: str = ""
    error: str | None = None


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlTranscriptRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, item: NewTranscript, segments: list[SegmentEvent], now: datetime) -> int:
        values = {k: getattr(item, k) for k in NewTranscript.__dataclass_fields__}
        async with self.engine.begin() as conn:
            result = await conn.execute(speech_transcripts.insert().values(**values, created_at=to_db(now)))
            transcript_id = int(result.inserted_primary_key[0])
            if segments:
                await conn.execute(speech_segments.insert(), [
                    _segment_row(s, now, transcript_id) for s in segments])
        return transcript_id

    async def add_segment(self, event: SegmentEvent, now: datetime) -> None:
        """Store a final live segment as it arrives (partials are not stored)."""
        async with self.engine.begin() as conn:
            await conn.execute(speech_segments.insert().values(**_segment_row(event, now, None)))

    async def search(self, query: str, limit: int = 20) -> list[StoredTranscript]:
        """Transcripts whose normalised text contains `query`, newest first."""
        stmt = (sa.select(speech_transcripts)
                .where(speech_transcripts.c.text.like(_like_pattern(query), escape="\\"))
                .order_by(speech_transcripts.c.created_at.desc(), speech_transcripts.c.id.desc())
                .limit(limit))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_stored(r) for r in rows]

    async def for_call(self, call_id: str) -> list[StoredTranscript]:
        stmt = (sa.select(speech_transcripts).where(speech_transcripts.c.call_id == call_id)
                .order_by(speech_transcripts.c.id))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_stored(r) for r in rows]

    async def segments_of_call(self, call_id: str) -> list[SegmentEvent]:
        stmt = (sa.select(speech_segments).where(speech_segments.c.call_id == call_id)
                .order_by(speech_segments.c.start_s, speech_segments.c.id))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_segment(r) for r in rows]

    async def live_segments(self, call_id: str) -> list[SegmentEvent]:
        """Final live segments of a call not yet assembled into a transcript, in time order."""
        stmt = (sa.select(speech_segments)
                .where(speech_segments.c.call_id == call_id, speech_segments.c.transcript_id.is_(None))
                .order_by(speech_segments.c.start_s, speech_segments.c.id))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_segment(r) for r in rows]

    async def attach_live_segments(self, call_id: str, transcript_id: int) -> None:
        """Link a call's loose live segments to the transcript assembled from them."""
        stmt = (sa.update(speech_segments)
                .where(speech_segments.c.call_id == call_id, speech_segments.c.transcript_id.is_(None))
                .values(transcript_id=transcript_id))
        async with self.engine.begin() as conn:
            await conn.execute(stmt)


def _segment_row(event: SegmentEvent, now: datetime, transcript_id: int | None) -> dict[str, object]:
    return {"transcript_id": transcript_id, "call_id": event.call_id or None, "seq": event.seq,
            "speaker": event.speaker, "start_s": event.start, "end_s": event.end, "text": event.text,
            "confidence": event.confidence, "created_at": to_db(now)}


def _stored(row: sa.RowMapping) -> StoredTranscript:
    return StoredTranscript(row["id"], row["call_id"], row["source"], row["status"], row["text"], row["summary"],
                            row["suggested_class_code"], row["suggested_address"], from_db(row["created_at"]))


def _segment(row: sa.RowMapping) -> SegmentEvent:
    return SegmentEvent(row["call_id"] or "", row["speaker"], row["seq"], row["start_s"], row["end_s"], row["text"],
                        True, row["confidence"])
