"""Energy endpointing of a live call leg: which audio is speech, and where each utterance ends. Pure.

Both engines sit behind it. Whisper decodes each utterance once, when it ends; Vosk is fed only the audio of
utterances, so the silence of a leg (the caller listening to the agent, who is on the other leg) costs no CPU,
and its final result comes `silence_ms` after the last loud frame instead of whenever Kaldi's own endpoint
rules fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from transcribe.audio import frame_rms

FRAME_MS = 20


@dataclass(frozen=True, slots=True)
class Voice:
    """Audio inside an utterance, `start` seconds into the stream; an utterance's first one opens with the
    pre-roll (the quiet frames just before the first loud one, so that soft onsets are not cut)."""

    pcm16: bytes
    start: float
    first: bool


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """An utterance ended: `start` is where its audio began, `end` is its last loud frame."""

    start: float
    end: float
    forced: bool = False  # cut at max_utterance_s rather than ended by silence


Event = Voice | UtteranceEnd


class Endpointer:
    """Frames PCM into 20 ms frames; an utterance starts at a frame louder than `speech_rms` and ends after
    `silence_ms` of frames below it (or after `max_utterance_s`)."""

    def __init__(self, sample_rate: int, *, silence_ms: int = 500, speech_rms: float = 300.0,
                 pre_roll_ms: int = 300, max_utterance_s: float = 25.0) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError("sample_rate must be 8000 or 16000")
        self.frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self.silence_ms, self.speech_rms = silence_ms, speech_rms
        self.pre_roll_frames = max(1, pre_roll_ms // FRAME_MS)
        self.max_frames = int(max_utterance_s * 1000 / FRAME_MS)
        self.pending = b""  # bytes not yet framed
        self.pre_roll: list[bytes] = []
        self.frames = 0  # frames consumed
        self.in_speech = False
        self.start_frame = 0
        self.last_loud_frame = 0
        self.quiet_ms = 0

    @property
    def position(self) -> float:
        """Seconds of audio consumed."""
        return self.frames * FRAME_MS / 1000

    def push(self, pcm16: bytes) -> list[Event]:
        """Consume audio; the events it completes, in order (adjacent Voice audio is merged)."""
        data = self.pending + pcm16
        cut = len(data) - len(data) % self.frame_bytes
        self.pending = data[cut:]
        events: list[Event] = []
        for offset in range(0, cut, self.frame_bytes):
            self._frame(data[offset:offset + self.frame_bytes], events)
        return events

    def flush(self) -> list[Event]:
        """End of the stream: closes an utterance in progress (the unframed tail is dropped, < 20 ms)."""
        self.pending = b""
        if not self.in_speech:
            return []
        self.in_speech = False
        return [UtteranceEnd(self._time(self.start_frame), self._time(self.last_loud_frame + 1))]

    def _time(self, frame: int) -> float:
        return round(frame * FRAME_MS / 1000, 3)

    def _frame(self, frame: bytes, events: list[Event]) -> None:
        index = self.frames
        self.frames += 1
        loud = frame_rms(frame) >= self.speech_rms
        if not self.in_speech:
            if not loud:
                self.pre_roll = [*self.pre_roll, frame][-self.pre_roll_frames:]
                return
            self.in_speech, self.quiet_ms, self.last_loud_frame = True, 0, index
            self.start_frame = index - len(self.pre_roll)
            _add(events, b"".join([*self.pre_roll, frame]), self._time(self.start_frame), first=True)
            self.pre_roll = []
            return
        _add(events, frame, self._time(index), first=False)
        if loud:
            self.quiet_ms, self.last_loud_frame = 0, index
        else:
            self.quiet_ms += FRAME_MS
        by_silence = self.quiet_ms >= self.silence_ms
        if by_silence or index + 1 - self.start_frame >= self.max_frames:
            events.append(UtteranceEnd(self._time(self.start_frame), self._time(self.last_loud_frame + 1),
                                       forced=not by_silence))
            self.in_speech, self.quiet_ms = False, 0


def _add(events: list[Event], pcm16: bytes, start: float, *, first: bool) -> None:
    last = events[-1] if events else None
    if not first and isinstance(last, Voice):
        events[-1] = Voice(last.pcm16 + pcm16, last.start, last.first)
    else:
        events.append(Voice(pcm16, start, first))
