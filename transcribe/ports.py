"""What speech engines produce and the port they implement. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Speaker = Literal["caller", "agent", "unknown"]


@dataclass(frozen=True, slots=True)
class Partial:
    """An interim hypothesis of the utterance in progress; later results replace it."""

    text: str
    is_final: bool = field(default=False, init=False)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech with its text; times in seconds from the start of the audio."""

    start: float
    end: float
    text: str
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Final:
    """The settled text of one utterance (or of what was left when the stream finished)."""

    text: str
    segments: tuple[Segment, ...] = ()
    is_final: bool = field(default=True, init=False)


@dataclass(frozen=True, slots=True)
class Transcript:
    """The text of a whole recording, with its segments, as the engine heard it (not normalised)."""

    text: str
    segments: tuple[Segment, ...]
    duration: float
    engine: str
    language: str = "zh"


class Stream(Protocol):
    """One live audio stream (one call leg). Not thread-safe: feed it from one worker at a time."""

    def accept(self, pcm16: bytes) -> Partial | Final | None:
        """Feed signed 16-bit little-endian mono PCM at the stream's rate.

        Returns a `Partial` when the hypothesis changed, a `Final` when an utterance ended (endpoint), or None.
        """
        ...

    def finish(self) -> Final:
        """Flush: the final text of whatever audio was not yet returned in a `Final`."""
        ...


class SpeechEngine(Protocol):
    """A loaded recogniser. `transcribe` and streams block on CPU: call them from worker threads."""

    name: str

    def open_stream(self, sample_rate: int) -> Stream:
        """A new stream for PCM at `sample_rate` Hz (8000 or 16000)."""
        ...

    def transcribe(self, path: str, *, prompt: str | None = None) -> Transcript:
        """The whole WAV file at `path`. `prompt` overrides the engine's context prompt (ignored by Vosk)."""
        ...

    def answer(self, path: str, options: list[str]) -> str:
        """The text of a short spoken answer expected to be one of `options` (closed-set decoding)."""
        ...


class EngineUnavailable(RuntimeError):
    """The configured engine cannot run (missing package, missing or corrupt model); the message says what to do."""
