"""The energy endpointer in front of both engines, and the Whisper stream built on it (with a stand-in decoder)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from transcribe.endpoint import Endpointer, UtteranceEnd, Voice
from transcribe.engines.whisper import WhisperOptions, WhisperStream
from transcribe.ports import Final, Segment

RATE = 8000


def tone(seconds: float, amplitude: int = 6000) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def quiet(seconds: float, level: int = 0) -> bytes:
    noise = np.random.default_rng(1).integers(-level, level + 1, int(RATE * seconds)) if level else \
        np.zeros(int(RATE * seconds))
    return noise.astype("<i2").tobytes()


def voice_audio(events: list[Voice | UtteranceEnd]) -> bytes:
    return b"".join(e.pcm16 for e in events if isinstance(e, Voice))


def test_silence_and_line_noise_are_not_speech() -> None:
    endpointer = Endpointer(RATE)
    assert endpointer.push(quiet(3.0)) == []
    assert endpointer.push(quiet(3.0, level=150)) == []  # hiss well below the speech level
    assert endpointer.flush() == []
    assert endpointer.position == 6.0


def test_an_utterance_starts_with_its_pre_roll_and_ends_after_the_silence() -> None:
    endpointer = Endpointer(RATE, silence_ms=500, pre_roll_ms=300)
    events = endpointer.push(quiet(1.0) + tone(2.0) + quiet(0.4))
    assert len(events) == 1 and isinstance(events[0], Voice) and events[0].first
    assert events[0].start == 0.7  # 300 ms of pre-roll before the first loud frame at 1.0 s
    assert len(events[0].pcm16) == int(RATE * 2.7) * 2
    ended = endpointer.push(quiet(0.2))
    assert isinstance(ended[-1], UtteranceEnd)
    assert (ended[-1].start, ended[-1].end, ended[-1].forced) == (0.7, 3.0, False)
    assert endpointer.push(quiet(2.0)) == []  # silence after the end is not fed anywhere


def test_two_utterances_in_one_push_come_out_in_order() -> None:
    endpointer = Endpointer(RATE, silence_ms=400)
    events = endpointer.push(tone(1.0) + quiet(1.0) + tone(0.5) + quiet(0.6))
    kinds = [(type(e).__name__, getattr(e, "first", None)) for e in events]
    assert kinds == [("Voice", True), ("UtteranceEnd", None), ("Voice", True), ("UtteranceEnd", None)]
    first_end, second_end = events[1], events[3]
    assert isinstance(first_end, UtteranceEnd) and isinstance(second_end, UtteranceEnd)
    assert (first_end.start, first_end.end) == (0.0, 1.0)
    assert (second_end.start, second_end.end) == (1.7, 2.5)


def test_an_endless_talker_is_cut_at_the_longest_utterance() -> None:
    endpointer = Endpointer(RATE, max_utterance_s=5.0)
    events = endpointer.push(tone(12.0))
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert [(e.start, e.end, e.forced) for e in ends] == [(0.0, 5.0, True), (5.0, 10.0, True)]


def test_flush_closes_the_utterance_in_progress() -> None:
    endpointer = Endpointer(RATE)
    endpointer.push(quiet(0.5) + tone(1.0))
    assert endpointer.flush() == [UtteranceEnd(0.2, 1.5)]
    assert endpointer.flush() == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=40))
def test_chunking_does_not_change_what_is_found(sizes: list[int]) -> None:
    audio = quiet(0.7) + tone(1.3) + quiet(0.8) + tone(0.9) + quiet(0.3)
    whole = Endpointer(RATE)
    expected = whole.push(audio) + whole.flush()
    chunked, found, offset = Endpointer(RATE), [], 0
    for size in sizes * (len(audio) // sum(sizes) + 1):
        found += chunked.push(audio[offset:offset + size])
        offset += size
    found += chunked.flush()
    assert [e for e in found if isinstance(e, UtteranceEnd)] == [e for e in expected if isinstance(e, UtteranceEnd)]
    assert voice_audio(found) == voice_audio(expected)


class StandInWhisper:
    """Records the utterances it is given; 'hears' one segment per utterance, timed from its start."""

    def __init__(self) -> None:
        self.options = WhisperOptions(endpoint_silence_ms=500)
        self.heard: list[int] = []

    def decode_utterance(self, pcm16: bytes, sample_rate: int) -> list[Segment]:
        self.heard.append(len(pcm16))
        return [Segment(0.0, len(pcm16) / 2 / sample_rate, f"第{len(self.heard)}句", 0.9)]


def test_whisper_stream_decodes_each_utterance_once_in_stream_time() -> None:
    engine = StandInWhisper()
    stream = WhisperStream(engine, RATE)  # type: ignore[arg-type]
    assert stream.accept(quiet(2.0) + tone(1.5)) is None  # nothing decoded while speech goes on
    result = stream.accept(quiet(1.0) + tone(1.0) + quiet(0.6))
    assert isinstance(result, Final) and result.text == "第1句第2句"
    first, second = result.segments
    assert (first.start, first.end) == (1.7, 3.5)  # from the pre-roll to the last loud frame
    assert (second.start, second.end) == (4.2, 5.5)
    assert engine.heard == [int(RATE * (1.5 + 0.3 + 0.5)) * 2, int(RATE * (1.0 + 0.3 + 0.5)) * 2]
    assert stream.finish() == Final("")


def test_whisper_stream_finish_decodes_the_cut_off_utterance() -> None:
    engine = StandInWhisper()
    stream = WhisperStream(engine, RATE)  # type: ignore[arg-type]
    stream.accept(tone(0.8))
    final = stream.finish()
    assert final.text == "第1句" and final.segments[0].end == 0.8
