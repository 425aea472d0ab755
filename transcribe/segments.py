"""Events the live transcription emits. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from transcribe.ports import Speaker


@dataclass(frozen=True, slots=True)
class SegmentEvent:
    """A piece of text heard on one leg of a call. Times in seconds from the start of that leg's stream.

    Partial events (is_final False) are replaced by later ones of the same `seq`; a final one settles `seq`.
    """

    call_id: str
    speaker: Speaker
    seq: int
    start: float
    end: float
    text: str
    is_final: bool
    confidence: float | None = None
